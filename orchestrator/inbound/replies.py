"""Borrowers' replies: a STOP becomes an SMS opt-out at once (with the one confirmation it is
owed), a START an opt-in; any other text is noted, not kept. A WeChat unfollow is an opt-out
of WeChat; a follow is noted and lifts nothing (only the lender's ``opt_in`` does)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from channels.base import Report
from orchestrator import ledger
from orchestrator.domain import (
    Channel,
    EventType,
    Purpose,
    TaskStatus,
)
from orchestrator.inbound.changes import Changed
from orchestrator.intake.accounts import record_provider_event
from orchestrator.store.db import dialect_insert
from orchestrator.store.tables import Task

CONFIRMATION_STEP = "system.opt_out_confirmation"


def apply_reply(
    conn: Connection,
    provider: str,
    report: Report,
    now: datetime,
    accounts: Sequence[Any],
    replies_inline: bool,
    changed: Changed,
) -> None:
    """Record what ``report`` (an inbound text, or a WeChat follow or unfollow) says for each
    of ``accounts`` it concerns."""
    channel = report.channel or Channel.SMS
    intent = report.details.get("intent", "opt_out" if report.opted_out else "other")
    for account in accounts:
        if report.opted_out:
            record_provider_event(
                conn, account.id, EventType.OPT_OUT, channel, now, source="inbound"
            )
            if channel is Channel.SMS:
                message = f"the borrower replied to stop texts ({provider}): SMS opt-out recorded"
                if not replies_inline:
                    _plan_confirmation(conn, account, now)
                    message += "; one confirmation text planned"
            else:
                # An unfollow: the platform lets us send nothing more to the openid, so no
                # confirmation is owed or possible there.
                message = (
                    f"the borrower stopped following the lender's account ({provider}): "
                    f"{channel} opt-out recorded"
                )
            changed.setdefault(account.tenant_id, set()).add(account.id)
        elif intent == "opt_in" and channel is Channel.SMS:
            record_provider_event(
                conn, account.id, EventType.OPT_IN, Channel.SMS, now, source="inbound"
            )
            message = f"the borrower replied to resume texts ({provider}): SMS opt-in recorded"
            changed.setdefault(account.tenant_id, set()).add(account.id)
        elif intent == "follow":
            message = (
                f"the borrower follows the lender's account ({provider}); this is not "
                f"consent: a {channel} opt-out stays until the lender records an opt_in"
            )
        else:
            message = (
                f"the borrower replied by SMS ({provider}, {intent}); the text itself is not "
                "kept (the provider holds it under the message's id)"
            )
        ledger.append(
            conn,
            [
                ledger.entry(
                    tenant_id=account.tenant_id,
                    account_id=account.id,
                    at=now,
                    kind=f"inbound.{intent}",
                    message=message,
                    channel=channel.value,
                )
            ],
        )


def _plan_confirmation(conn: Connection, account: Any, now: datetime) -> None:
    """The one confirmation an opt-out is owed (CTIA 5.1.2), when the provider cannot answer
    inline: a task with its own purpose, which the opt-out hold lets through and nothing
    else."""
    conn.execute(
        dialect_insert(conn, Task)
        .values(
            tenant_id=account.tenant_id,
            account_id=account.id,
            strategy="system",
            step=CONFIRMATION_STEP,
            variant="",
            channel=Channel.SMS.value,
            template="opt_out_confirmation",
            purpose=Purpose.OPT_OUT_CONFIRMATION.value,
            fallback=[],
            local_date=now.date(),
            not_before=now,
            not_after=now + timedelta(hours=12),
            expires_at=now + timedelta(days=1),
            status=TaskStatus.PLANNED.value,
            reasons=[],
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "account_id", "step", "local_date"])
    )
