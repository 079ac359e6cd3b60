"""Writing validated account documents to the store, idempotently and in bulk.

A document whose normalised content did not change writes nothing (not even
``updated_at``); events are deduplicated by the lender's ``event_id``, or else by content, so
re-sending a batch or re-importing a file is harmless. Everything one call writes commits
together or not at all (the caller owns the transaction).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator import ledger, outbox
from orchestrator.compliance.zones import derive_jurisdiction, resolve_zones
from orchestrator.domain import EventType
from orchestrator.intake.document import AccountDocument, EventDocument
from orchestrator.intake.postgres import copy_accounts
from orchestrator.intake.prepared import IntakeResult, PreparedAccount
from orchestrator.store.db import dialect_insert
from orchestrator.store.tables import Account, AccountEvent, ContactPoint
from orchestrator.store.types import keyring_for

# Events that lift a hold take effect at the *latest* start of their day across the candidate
# zones, those that start one at the *earliest*: either way the stricter reading.
_LIFTING = frozenset({EventType.DISPUTE_RESOLVED, EventType.OPT_IN})
_CHUNK = 2_000
_EVENT_COLUMNS = (
    AccountEvent.id,
    AccountEvent.account_id,
    AccountEvent.type,
    AccountEvent.at,
    AccountEvent.until,
    AccountEvent.channel,
    AccountEvent.amount,
    AccountEvent.details,
    AccountEvent.source,
    AccountEvent.event_id,
)


def prepare(doc: AccountDocument, *, now: datetime) -> PreparedAccount:
    """Resolve zones and jurisdiction and build the rows for one document."""
    borrower = doc.borrower
    address = borrower.address
    jurisdiction, zones = locate(doc)
    # The normalised document, serialised once: its hash decides "unchanged", its text is
    # what the store keeps.
    document = doc.model_dump_json(exclude={"events"})
    digest = hashlib.blake2b(document.encode(), digest_size=16).hexdigest()
    row = {
        "external_id": doc.external_id,
        "jurisdiction": jurisdiction,
        "borrower_name": borrower.name,
        "locale": borrower.locale,
        "time_zone": borrower.time_zone,
        "country": address.country if address else jurisdiction[:2],
        "region": address.region if address else None,
        "postal_code": address.postal_code if address else None,
        "zones": " ".join(zones),
        "amount_due": doc.debt.amount_due,
        "currency": doc.debt.currency,
        "due_date": doc.debt.due_date,
        "product": doc.debt.product,
        "risk_score": doc.debt.risk_score,
        "document": document,
        "document_hash": digest,
    }
    points = [
        {
            "channel": p.channel.value,
            "address": p.address,
            "consent": p.consent,
            "workplace": p.workplace,
            "position": position,
        }
        for position, p in enumerate(doc.contact_points)
    ]
    events = [event_row(e, zones, now=now) for e in doc.events]
    return PreparedAccount(doc.external_id, row, points, events)


def locate(doc: AccountDocument) -> tuple[str, tuple[str, ...]]:
    """The account's jurisdiction and candidate time zones (primary first).

    With no address, the jurisdiction's country stands for it: a US account known only by
    its jurisdiction is convenient from Hawaii to Eastern, never "anywhere".
    """
    address = doc.borrower.address
    jurisdiction = doc.jurisdiction or derive_jurisdiction(
        address.country if address else "", address.region if address else None
    )
    country = address.country if address else jurisdiction[:2]
    region = address.region if address else (jurisdiction[3:] or None)
    phones = tuple(dict.fromkeys(p.address for p in doc.contact_points if p.channel.is_phone))
    zones = _zones(
        doc.borrower.time_zone,
        country,
        region,
        address.postal_code if address else None,
        phones,
    )
    return jurisdiction, zones


@lru_cache(maxsize=50_000)
def _zones(
    explicit: str | None,
    country: str | None,
    region: str | None,
    postal_code: str | None,
    phones: tuple[str, ...],
) -> tuple[str, ...]:
    return resolve_zones(
        explicit=explicit, country=country, region=region, postal_code=postal_code, phones=phones
    )


def event_row(event: EventDocument, zones: Sequence[str], *, now: datetime) -> dict[str, Any]:
    """An event as a row: dates become instants in the borrower's zones, the stricter way."""
    lifting = event.type in _LIFTING
    at = _instant(event.at, zones, latest=lifting) if event.at is not None else now
    until = None
    if event.until is not None:
        # A promise "until" a date runs to the end of that date wherever the borrower is.
        until = (
            _instant(event.until + timedelta(days=1), zones, latest=True)
            if not isinstance(event.until, datetime)
            else event.until.astimezone(UTC)
        )
    details = dict(sorted(event.details.items()))
    content = [
        event.type.value,
        until.isoformat() if until else "",
        event.channel.value if event.channel else "",
        str(event.amount) if event.amount is not None else "",
        orjson.dumps(details).decode(),
    ]
    if event.event_id is None:
        # Without the lender's id, an event is known by its content (and its instant).
        key = "|".join([at.isoformat(), *content])
        content_hash = None
    else:
        # The lender's id is the key; the content as sent (``at`` as given, or none) is what
        # a retry must repeat.
        key = "event_id|" + event.event_id
        content_hash = _hash("|".join([_sent(event.at), *content]))
    return {
        "type": event.type.value,
        "at": at,
        "until": until,
        "channel": event.channel.value if event.channel else None,
        "amount": event.amount,
        "details": details,
        "event_id": event.event_id,
        "content_hash": content_hash,
        "dedupe_key": _hash(key),
    }


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _sent(at: date | datetime | None) -> str:
    if isinstance(at, datetime):
        return at.astimezone(UTC).isoformat()
    return at.isoformat() if at is not None else ""


class EventConflict(ValueError):
    """An event id already names another event of the account: nothing was written.

    Parameters:
      external_id: the account's id.
      event_id: the id that names two different events.
    """

    def __init__(self, external_id: str, event_id: str) -> None:
        self.external_id = external_id
        self.event_id = event_id
        super().__init__(
            f"event_id {event_id!r} of account {external_id!r} already names a different "
            "event; a retry must repeat the original event exactly, a new event needs a new id"
        )


def check_event_ids(
    conn: Connection, account_ids: dict[int, str], rows: Sequence[dict[str, Any]]
) -> None:
    """Refuse rows whose event id is already taken by other content (raises
    :class:`EventConflict`); rows whose id names the same content are harmless retries."""
    keyed = [r for r in rows if r.get("event_id") is not None]
    if not keyed:
        return
    stored = {
        (row.account_id, row.event_id): row.content_hash
        for row in conn.execute(
            sa.select(
                AccountEvent.account_id, AccountEvent.event_id, AccountEvent.content_hash
            ).where(
                AccountEvent.account_id.in_({r["account_id"] for r in keyed}),
                AccountEvent.event_id.in_({r["event_id"] for r in keyed}),
            )
        )
    }
    for row in keyed:
        found = stored.get((row["account_id"], row["event_id"]), row["content_hash"])
        if found != row["content_hash"]:
            raise EventConflict(account_ids[row["account_id"]], row["event_id"])


def _instant(value: date | datetime, zones: Sequence[str], *, latest: bool) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    starts = [datetime.combine(value, time(0), ZoneInfo(z)).astimezone(UTC) for z in zones]
    return max(starts) if latest else min(starts)


def write_accounts(
    conn: Connection,
    tenant_id: int,
    accounts: Sequence[PreparedAccount],
    *,
    now: datetime,
    source: str,
) -> IntakeResult:
    """Insert new accounts, update changed ones, add new events; skip what is unchanged.

    Parameters:
      conn: a connection inside the caller's transaction.
      tenant_id: whose accounts these are; nothing of another tenant is read or written.
      accounts: prepared documents with distinct external ids.
      source: recorded on events (``api``, ``import``).
    """
    result = IntakeResult()
    if not accounts:
        return result
    if conn.dialect.name == "postgresql":
        copy_accounts(conn, tenant_id, accounts, now=now, result=result)
    else:
        for chunk in _chunks(accounts, _CHUNK):
            _write_chunk(conn, tenant_id, chunk, now=now, result=result)
    _write_events(conn, tenant_id, accounts, now=now, source=source, result=result)
    return result


def _write_chunk(
    conn: Connection,
    tenant_id: int,
    accounts: Sequence[PreparedAccount],
    *,
    now: datetime,
    result: IntakeResult,
) -> None:
    existing = {
        # An erased account is never filled again: its document counts as unchanged.
        row.external_id: (row.id, "erased" if row.erased_at else row.document_hash)
        for row in conn.execute(
            sa.select(
                Account.id, Account.external_id, Account.document_hash, Account.erased_at
            ).where(
                Account.tenant_id == tenant_id,
                Account.external_id.in_([a.external_id for a in accounts]),
            )
        )
    }
    new = [a for a in accounts if a.external_id not in existing]
    changed = [
        a
        for a in accounts
        if a.external_id in existing
        and existing[a.external_id][1] not in (a.row["document_hash"], "erased")
    ]
    result.unchanged += len(accounts) - len(new) - len(changed)
    result.account_ids.update({key: value[0] for key, value in existing.items()})
    if not (new or changed):
        return
    written = _upsert_rows(conn, tenant_id, new + changed, now=now)
    result.account_ids.update(written)
    created = sum(1 for a in new if a.external_id in written)
    result.created += created
    result.updated += len(written) - created
    _replace_contact_points(
        conn, [(written[a.external_id], a) for a in new + changed if a.external_id in written]
    )
    result.touched.update(written.values())


def _write_events(
    conn: Connection,
    tenant_id: int,
    accounts: Sequence[PreparedAccount],
    *,
    now: datetime,
    source: str,
    result: IntakeResult,
) -> None:
    event_rows = [
        {
            **event,
            "tenant_id": tenant_id,
            "account_id": result.account_ids[a.external_id],
            "source": source,
            "recorded_at": now,
        }
        for a in accounts
        for event in a.events
    ]
    if not event_rows:
        return
    added = conn.execute(
        dialect_insert(conn, AccountEvent)
        .on_conflict_do_nothing(index_elements=["account_id", "dedupe_key"])
        .returning(*_EVENT_COLUMNS),
        event_rows,
    ).all()
    # Checked after the insert, so that a concurrent writer's event with the same id is
    # seen too (the insert waited for it); a conflict rolls everything back.
    check_event_ids(
        conn, {result.account_ids[a.external_id]: a.external_id for a in accounts}, event_rows
    )
    result.events_added += len(added)
    result.touched.update(row.account_id for row in added)
    ledger.append(conn, ledger.event_entries(tenant_id, (dict(r._mapping) for r in added)))
    outbox.account_events(conn, tenant_id, (dict(r._mapping) for r in added), now)


def _upsert_rows(
    conn: Connection, tenant_id: int, accounts: Sequence[PreparedAccount], *, now: datetime
) -> dict[str, int]:
    rows = [
        {
            **a.row,
            "document": orjson.loads(a.row["document"]),
            "tenant_id": tenant_id,
            "created_at": now,
            "updated_at": now,
        }
        for a in accounts
    ]
    stmt = dialect_insert(conn, Account)
    updatable = [c for c in rows[0] if c not in ("tenant_id", "external_id", "created_at")]
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "external_id"],
        set_={c: stmt.excluded[c] for c in updatable},
        # A concurrent writer with the same content wins quietly: nothing changes; an
        # erased account is not filled again.
        where=(Account.document_hash != stmt.excluded.document_hash) & Account.erased_at.is_(None),
    ).returning(Account.id, Account.external_id)
    return {row.external_id: row.id for row in conn.execute(stmt, rows)}


def _replace_contact_points(
    conn: Connection, accounts: Sequence[tuple[int, PreparedAccount]]
) -> None:
    account_ids = [account_id for account_id, _ in accounts]
    # A provider's verdict that an address is dead outlives a re-send of the same account.
    invalid = {
        (row.account_id, row.channel, row.address): (row.invalid_at, row.invalid_reason)
        for row in conn.execute(
            sa.select(
                ContactPoint.account_id,
                ContactPoint.channel,
                ContactPoint.address,
                ContactPoint.invalid_at,
                ContactPoint.invalid_reason,
            ).where(ContactPoint.account_id.in_(account_ids), ContactPoint.invalid_at.is_not(None))
        )
    }
    conn.execute(sa.delete(ContactPoint).where(ContactPoint.account_id.in_(account_ids)))
    rows = []
    keyring = keyring_for(conn.dialect)
    for account_id, account in accounts:
        for point in account.contact_points:
            mark = invalid.get((account_id, point["channel"], point["address"]), (None, None))
            rows.append(
                {
                    **point,
                    "address_hash": keyring.lookup_hash(point["address"]),
                    "account_id": account_id,
                    "invalid_at": mark[0],
                    "invalid_reason": mark[1],
                }
            )
    if rows:
        conn.execute(sa.insert(ContactPoint), rows)


def _chunks(items: Sequence[PreparedAccount], size: int) -> Iterable[Sequence[PreparedAccount]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
