"""Reading one account and recording its events, for the API and the CLI.

Every function takes the tenant id: an account of another tenant does not exist here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from orchestrator import ledger, outbox
from orchestrator.domain import Channel, EventType
from orchestrator.intake.document import EventDocument
from orchestrator.intake.upsert import EventConflict, event_row
from orchestrator.store.db import dialect_insert
from orchestrator.store.tables import Account, AccountEvent, ContactPoint


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    id: int
    account_id: int
    created: bool  # False: the same event was already recorded (a harmless re-send)
    row: dict[str, Any]


def find_account(conn: Connection, tenant_id: int, external_id: str) -> Row[Any] | None:
    return conn.execute(
        sa.select(Account).where(Account.tenant_id == tenant_id, Account.external_id == external_id)
    ).first()


def record_event(
    conn: Connection,
    account: Row[Any],
    event: EventDocument,
    *,
    now: datetime,
    source: str,
) -> RecordedEvent:
    """Append an event to an account; an identical event is recorded once.

    An event with the lender's ``event_id`` is recorded once per id: a retry answers the
    event first recorded (``created`` False), and the same id with other content raises
    :class:`EventConflict` and writes nothing.
    """
    row = event_row(event, account.zones.split(), now=now)
    values = {
        **row,
        "tenant_id": account.tenant_id,
        "account_id": account.id,
        "source": source,
        "recorded_at": now,
    }
    inserted = conn.execute(
        dialect_insert(conn, AccountEvent)
        .values(values)
        .on_conflict_do_nothing(index_elements=["account_id", "dedupe_key"])
        .returning(AccountEvent.id)
    ).scalar()
    if inserted is not None:
        ledger.append(conn, ledger.event_entries(account.tenant_id, [{**values, "id": inserted}]))
        outbox.account_events(conn, account.tenant_id, [values], now)
    stored = conn.execute(
        sa.select(AccountEvent).where(
            AccountEvent.account_id == account.id, AccountEvent.dedupe_key == row["dedupe_key"]
        )
    ).one()
    if stored.content_hash != row["content_hash"]:
        raise EventConflict(account.external_id, str(event.event_id))
    # As stored (the answer a retry gets too, and the account's view shows).
    return RecordedEvent(int(stored.id), account.id, inserted is not None, dict(stored._mapping))


def contact_points(conn: Connection, account_id: int) -> list[Row[Any]]:
    return list(
        conn.execute(
            sa.select(ContactPoint)
            .where(ContactPoint.account_id == account_id)
            .order_by(ContactPoint.position)
        )
    )


def events(conn: Connection, account_id: int) -> list[Row[Any]]:
    return list(
        conn.execute(
            sa.select(AccountEvent)
            .where(AccountEvent.account_id == account_id)
            .order_by(AccountEvent.at, AccountEvent.id)
        )
    )


def event_json(row: Row[Any] | dict[str, Any]) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else row._mapping.get
    return {
        "event_id": get("event_id"),
        "type": get("type"),
        "at": _iso(get("at")),
        "until": _iso(get("until")),
        "channel": get("channel"),
        "amount": str(get("amount")) if get("amount") is not None else None,
        "details": get("details") or {},
        "source": get("source"),
        "recorded_at": _iso(get("recorded_at")),
    }


def account_json(
    account: Row[Any], points: list[Row[Any]], history: list[Row[Any]]
) -> dict[str, Any]:
    document = account.document
    return {
        "external_id": account.external_id,
        "jurisdiction": account.jurisdiction,
        "zones": account.zones.split(),
        "borrower": document["borrower"],
        "contact_points": [
            {
                "channel": p.channel,
                "address": p.address,
                "consent": p.consent,
                "workplace": p.workplace,
                "invalid": (
                    {"at": _iso(p.invalid_at), "reason": p.invalid_reason} if p.invalid_at else None
                ),
            }
            for p in points
        ],
        "debt": document["debt"],
        "events": [event_json(e) for e in history],
        "created_at": _iso(account.created_at),
        "updated_at": _iso(account.updated_at),
        "erased_at": _iso(account.erased_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def record_provider_event(
    conn: Connection,
    account_id: int,
    kind: EventType,
    channel: Channel | None,
    at: datetime,
    *,
    source: str,
    details: dict[str, str] | None = None,
    amount: Decimal | None = None,
    until: date | datetime | None = None,
) -> bool:
    """Record an event a provider or a borrower's reply told us (an opt-out, a promise made
    on a call). Returns whether it was new."""
    account = conn.execute(sa.select(Account).where(Account.id == account_id)).one()
    document = EventDocument.model_validate(
        {
            "type": kind.value,
            "at": at,
            "channel": channel.value if channel else None,
            "details": details or {},
            "amount": str(amount) if amount is not None else None,
            "until": until,
        }
    )
    return record_event(conn, account, document, now=at, source=source).created
