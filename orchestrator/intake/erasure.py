"""Erasing a borrower's personal data (GDPR Art. 17, PIPL Art. 47), keeping what the law
asks a collector to keep.

Removed: the borrower's name and postal code, the account document's personal parts (who,
where, how to reach), every contact point, the addresses and the text of every message sent,
and the providers' payloads about them. Kept: the facts of
the collection (the debt, the jurisdiction and zones, every contact's channel, time, outcome
and the rules behind each decision, the events' types and times): 12 CFR 1006.100 asks for
three years of records of the collection, and GDPR Art. 17(3)(b) and (e) let a controller
keep what a legal obligation or a legal claim needs. The ledger says so in an entry of its
own.

Copies of the person go too: a dispute's free text (in the event, its ledger entry and its
lender event), the addresses and texts in the account's lender events (the outbox), stored
``Idempotency-Key`` answers that name the account or the person, and the account's live
self-service links (revoked).

Pending tasks are cancelled; the planner never plans an erased account again and intake
never fills it again (``accounts.erased_at``). Erasing twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator import ledger, links
from orchestrator.domain import DeliveryStatus
from orchestrator.store.tables import (
    Account,
    AccountEvent,
    Attempt,
    ContactPoint,
    DeliveryReport,
    IdempotencyRecord,
    LedgerEntry,
    LenderEvent,
)
from orchestrator.tasks import transitions

ERASED = "personal_data.erased"
RULES = ("gdpr.art17", "pipl.art47")
KEPT = (
    "the debt, jurisdiction and time zones; every contact's channel, time, status and the "
    "rules behind each decision; the events' types and times"
)
_ERASED_NAME = ""
_ERASED_TEXT = "[erased]"
# Shorter values are not searched for in other rows' text: they would match what is not theirs.
_SHORTEST_NEEDLE = 4


class SendInFlight(RuntimeError):
    """A message to the borrower is being handed to a provider right now: erasing its text
    would leave the send's outcome unknowable. Nothing was changed; retry shortly."""


@dataclass(frozen=True, slots=True)
class Erasure:
    """What one erasure did (``already``: the account had been erased before)."""

    erased_at: datetime
    already: bool
    contact_points: int = 0
    messages: int = 0
    reports: int = 0
    tasks_cancelled: int = 0


def erase_personal_data(conn: Connection, account: Any, *, now: datetime) -> Erasure:
    """Erase ``account``'s personal data inside the caller's transaction.

    Parameters:
      account: the account's row (its tenant already checked by the caller).
      now: recorded as the erasure's instant.

    Raises :class:`SendInFlight` (and changes nothing) while one of its messages is being
    sent.
    """
    # Lock the account first: a claim locks it too, so no send starts half-way through.
    locked = conn.execute(
        sa.select(Account.id, Account.erased_at, Account.document)
        .where(Account.id == account.id)
        .with_for_update()
    ).one()
    if locked.erased_at is not None:
        return Erasure(locked.erased_at, already=True)
    in_flight = conn.execute(
        sa.select(sa.func.count())
        .select_from(Attempt)
        .where(Attempt.account_id == account.id, Attempt.status == DeliveryStatus.SENDING.value)
    ).scalar_one()
    if in_flight:
        raise SendInFlight(
            f"{in_flight} message(s) to this borrower are being sent right now; nothing was "
            "erased. Retry in a minute, once their outcome is known."
        )
    document = dict(locked.document or {})
    borrower = document.get("borrower") or {}
    # What identifies the person wherever a copy of it may stand (read before it is removed).
    needles = {str(borrower.get("name") or "")}
    needles.update(
        conn.execute(
            sa.select(ContactPoint.address).where(ContactPoint.account_id == account.id)
        ).scalars()
    )
    needles.update(
        conn.execute(sa.select(Attempt.address).where(Attempt.account_id == account.id)).scalars()
    )
    needles.update(_erase_event_texts(conn, account.id))
    address = borrower.get("address") or {}
    kept_document = {
        **{k: v for k, v in document.items() if k not in ("borrower", "contact_points")},
        # What places the account in a jurisdiction and its windows, and nothing that
        # identifies the person: no name, no postal code, no street.
        "borrower": {
            "name": _ERASED_NAME,
            "locale": borrower.get("locale"),
            "time_zone": borrower.get("time_zone"),
            "address": (
                {"country": address.get("country"), "region": address.get("region")}
                if address
                else None
            ),
        },
        "contact_points": [],
    }
    conn.execute(
        sa.update(Account)
        .where(Account.id == account.id)
        .values(
            borrower_name=_ERASED_NAME,
            postal_code=None,
            document=kept_document,
            document_hash="erased",
            erased_at=now,
            updated_at=now,
        )
    )
    points = conn.execute(sa.delete(ContactPoint).where(ContactPoint.account_id == account.id))
    attempt_ids = [
        row.id
        for row in conn.execute(sa.select(Attempt.id).where(Attempt.account_id == account.id))
    ]
    messages = conn.execute(
        sa.update(Attempt)
        .where(Attempt.account_id == account.id)
        .values(address="", subject=None, body=None, error_message=None)
    ).rowcount
    reports = 0
    for start in range(0, len(attempt_ids), 1000):
        reports += conn.execute(
            sa.update(DeliveryReport)
            .where(DeliveryReport.attempt_id.in_(attempt_ids[start : start + 1000]))
            .values(payload=None)
        ).rowcount
    cancelled = transitions.cancel_pending(conn, account.id, [ERASED], now)
    needles = {n for n in needles if len(n) >= _SHORTEST_NEEDLE}
    needles.discard(account.external_id)
    _forget_stored_answers(conn, account.tenant_id, account.external_id, needles)
    _scrub_lender_events(conn, account.id, needles)
    _scrub_ledger(conn, account.id, needles)
    links.revoke(conn, account.id, now=now, reason=ERASED)
    result = Erasure(
        now,
        already=False,
        contact_points=points.rowcount,
        messages=messages,
        reports=reports,
        tasks_cancelled=cancelled,
    )
    ledger.append(
        conn,
        [
            ledger.entry(
                tenant_id=account.tenant_id,
                account_id=account.id,
                at=now,
                kind=ERASED,
                rules=RULES,
                message=(
                    "the borrower's personal data was erased (GDPR art. 17, PIPL art. 47): "
                    f"name, address, {result.contact_points} contact point(s), the text and "
                    f"address of {result.messages} message(s) and {result.reports} provider "
                    f"report(s); {result.tasks_cancelled} pending contact(s) cancelled. Kept, "
                    f"as the law requires a collector to keep them: {KEPT}. The account "
                    "will not be contacted again."
                ),
                data={
                    "contact_points": result.contact_points,
                    "messages": result.messages,
                    "reports": result.reports,
                    "tasks_cancelled": result.tasks_cancelled,
                },
            )
        ],
    )
    return result


def _erase_event_texts(conn: Connection, account_id: int) -> list[str]:
    """Remove the borrower's free text from the account's events (a dispute's ``text``);
    the texts removed, to be searched for in the copies."""
    texts = []
    for row in conn.execute(
        sa.select(AccountEvent.id, AccountEvent.details).where(
            AccountEvent.account_id == account_id
        )
    ).all():
        details = dict(row.details or {})
        if "text" not in details:
            continue
        texts.append(str(details.pop("text")))
        conn.execute(
            sa.update(AccountEvent).where(AccountEvent.id == row.id).values(details=details)
        )
    return texts


def _scrub(value: Any, needles: set[str]) -> Any:
    """``value`` (JSON) without addresses or free texts, and with any of ``needles`` erased."""
    if isinstance(value, dict):
        return {k: _scrub(v, needles) for k, v in value.items() if k not in ("address", "text")}
    if isinstance(value, list):
        return [_scrub(v, needles) for v in value]
    if isinstance(value, str):
        return _erased(value, needles)
    return value


def _erased(text: str, needles: set[str]) -> str:
    for needle in needles:
        if needle in text:
            text = text.replace(needle, _ERASED_TEXT)
    return text


def _scrub_lender_events(conn: Connection, account_id: int, needles: set[str]) -> None:
    """The account's lender events (the outbox) keep their type and time; the addresses and
    texts they carried go (the lender was told them already, or is told without them)."""
    for row in conn.execute(
        sa.select(LenderEvent.id, LenderEvent.data).where(LenderEvent.account_id == account_id)
    ).all():
        data = _scrub(row.data or {}, needles)
        if data != row.data:
            conn.execute(sa.update(LenderEvent).where(LenderEvent.id == row.id).values(data=data))


def _scrub_ledger(conn: Connection, account_id: int, needles: set[str]) -> None:
    """Ledger messages name addresses masked, but an event's description once quoted its
    free text: erase any of ``needles`` from the account's entries (the facts stay)."""
    if not needles:
        return
    for row in conn.execute(
        sa.select(LedgerEntry.id, LedgerEntry.message).where(LedgerEntry.account_id == account_id)
    ).all():
        message = _erased(row.message, needles)
        if message != row.message:
            conn.execute(
                sa.update(LedgerEntry).where(LedgerEntry.id == row.id).values(message=message)
            )


def _forget_stored_answers(
    conn: Connection, tenant_id: int, external_id: str, needles: set[str]
) -> None:
    """Stored ``Idempotency-Key`` answers that name the account or the person are copies of
    its data."""
    # As the values stand in the stored JSON: the account's id as a whole string, the
    # person's values anywhere in one (escaped as JSON escapes them).
    quoted = [orjson.dumps(external_id).decode()]
    quoted += [orjson.dumps(n).decode()[1:-1] for n in needles]
    doomed = [
        row.key
        for row in conn.execute(
            sa.select(IdempotencyRecord.key, IdempotencyRecord.response).where(
                IdempotencyRecord.tenant_id == tenant_id
            )
        )
        if any(q in _text(row.response) for q in quoted)
    ]
    if doomed:
        conn.execute(
            sa.delete(IdempotencyRecord).where(
                IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key.in_(doomed)
            )
        )


def _text(document: Any) -> str:
    return orjson.dumps(document, default=str).decode()
