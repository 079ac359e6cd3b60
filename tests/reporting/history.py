"""A small hand-built history (accounts, tasks, attempts, events) whose results are worked
out by hand in the tests that use it. Rows go straight into the store: the figures depend
only on what the store holds, not on how it got there."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from orchestrator.store.tables import Account, AccountEvent, Attempt, Task

PERIOD = (date(2026, 10, 1), date(2026, 11, 1))
_refs = itertools.count(1)


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


class History:
    """Adds rows for one tenant."""

    def __init__(self, conn, tenant_id: int) -> None:
        self.conn = conn
        self.tenant_id = tenant_id
        self.tasks: dict[int, int] = {}

    def account(self, external_id: str, currency: str = "USD") -> int:
        now = at("2026-09-01")
        return int(
            self.conn.execute(
                sa.insert(Account)
                .values(
                    tenant_id=self.tenant_id,
                    external_id=external_id,
                    jurisdiction="US-NY",
                    borrower_name="Ann Lee",
                    locale="en-US",
                    zones="America/New_York",
                    amount_due=Decimal("1000.00"),
                    currency=currency,
                    due_date=date(2026, 10, 1),
                    product="bnpl",
                    document={},
                    document_hash=external_id,
                    created_at=now,
                    updated_at=now,
                )
                .returning(Account.id)
            ).scalar_one()
        )

    def task(self, account: int, step: str, variant: str, day: str, status: str = "sent") -> int:
        start = at(day, 10)
        task_id = int(
            self.conn.execute(
                sa.insert(Task)
                .values(
                    tenant_id=self.tenant_id,
                    account_id=account,
                    strategy="default@file",
                    step=step,
                    variant=variant,
                    channel="sms",
                    template="due_today",
                    local_date=date.fromisoformat(day),
                    not_before=start,
                    not_after=start + timedelta(hours=8),
                    expires_at=start + timedelta(days=2),
                    status=status,
                    created_at=start,
                    updated_at=start,
                )
                .returning(Task.id)
            ).scalar_one()
        )
        self.tasks.setdefault(account, task_id)
        return task_id

    def attempt(
        self, account: int, channel: str, provider: str, day: str, status: str, kind: str
    ) -> None:
        self.conn.execute(
            sa.insert(Attempt).values(
                ref=f"ref-{next(_refs)}-{self.tenant_id}-{account}",
                task_id=self.tasks[account],
                tenant_id=self.tenant_id,
                account_id=account,
                channel=channel,
                provider=provider,
                address="+12125550123",
                at=at(day),
                status=status,
                contact_kind=kind,
                updated_at=at(day),
            )
        )

    def event(
        self,
        account: int,
        kind: str,
        day: str,
        amount: str | None = None,
        until: str | None = None,
    ) -> None:
        self.conn.execute(
            sa.insert(AccountEvent).values(
                tenant_id=self.tenant_id,
                account_id=account,
                type=kind,
                at=at(day),
                until=at(until, 23) if until else None,
                amount=Decimal(amount) if amount is not None else None,
                details={},
                source="api",
                dedupe_key=f"{kind}-{day}-{amount}-{next(_refs)}",
                recorded_at=at(day),
            )
        )


def build(conn, tenant_id: int) -> dict[str, int]:
    """The history the results tests work out by hand (see tests/reporting/test_results.py)."""
    h = History(conn, tenant_id)
    a1 = h.account("a1")
    h.task(a1, "standard.due_today", "champion", "2026-10-05")
    h.task(a1, "standard.first_call", "champion", "2026-10-12")
    h.attempt(a1, "sms", "twilio_sms", "2026-10-05", "delivered", "attempt")
    h.attempt(a1, "call", "twilio_voice", "2026-10-12", "delivered", "conversation")
    h.event(a1, "promise_to_pay", "2026-10-12", "300.00", until="2026-10-20")
    h.event(a1, "payment", "2026-10-18", "200.00")
    h.event(a1, "payment", "2026-10-19", "100.00")

    a2 = h.account("a2")
    h.task(a2, "standard.first_call", "early_call", "2026-10-03")
    h.attempt(a2, "call", "dialer_call", "2026-10-03", "sent", "not_connected")
    h.attempt(a2, "sms", "twilio_sms", "2026-10-04", "failed", "failed")
    h.event(a2, "promise_to_pay", "2026-10-04", "500.00", until="2026-10-10")
    h.event(a2, "payment", "2026-10-09", "100.00")

    a3 = h.account("a3", currency="EUR")
    h.task(a3, "standard.due_today", "champion", "2026-09-28")  # before the period
    h.task(a3, "small_balance.reminder", "", "2026-10-20")
    h.task(a3, "standard.overdue_sms", "champion", "2026-10-25")
    h.attempt(a3, "email", "sendgrid_email", "2026-10-20", "bounced", "attempt")
    h.attempt(a3, "push", "legacy_push", "2026-10-21", "sent", "attempt")
    h.event(a3, "payment", "2026-10-30", "50.00")
    h.event(a3, "payment", "2026-11-02", "900.00")  # after the period

    a4 = h.account("a4")
    h.task(a4, "standard.overdue_sms", "champion", "2026-10-07", status="blocked")
    h.event(a4, "promise_to_pay", "2026-09-25", None, until="2026-10-02")
    h.event(a4, "payment", "2026-09-30", "10.00")

    a5 = h.account("a5")  # no task in the period: in no cohort
    h.task(a5, "standard.due_today", "champion", "2026-11-01")
    h.attempt(a5, "sms", "twilio_sms", "2026-10-10", "delivered", "attempt")
    h.event(a5, "payment", "2026-10-10", "1000.00")
    return {"a1": a1, "a2": a2, "a3": a3, "a4": a4, "a5": a5}
