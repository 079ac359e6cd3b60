"""The console's accounts: find one, read its timeline, put it on hold or record a dispute.

Reads go through the API's own functions (:mod:`orchestrator.intake.accounts`,
:func:`orchestrator.timeline.timeline`, :func:`orchestrator.compliance.holds.active_holds`);
an action records an account event with :func:`~orchestrator.intake.accounts.record_event`
and re-plans the account in the same transaction, exactly as ``POST
/v1/accounts/{id}/events`` does, with the person (``user:NAME``) as its source.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.engine import Connection

from orchestrator.api.console.session import (
    HEADERS,
    ConsoleRefused,
    PersonDep,
    in_thread,
    read_form,
    render,
    require,
)
from orchestrator.api.dependencies import ClockDep, ConfigDep, ReplanDep, StoreDep
from orchestrator.compliance.holds import active_holds
from orchestrator.compliance.overlay import citations
from orchestrator.domain import EventType
from orchestrator.intake import accounts as account_store
from orchestrator.intake.document import EventDocument
from orchestrator.intake.upsert import EventConflict
from orchestrator.ops_users import Can
from orchestrator.planning.facts import ACCOUNT_COLUMNS, load
from orchestrator.store.tables import Account, ContactPoint
from orchestrator.store.types import address_lookup
from orchestrator.timeline import timeline

router = APIRouter(prefix="/console/accounts", include_in_schema=False)

# What "put on hold" may record: the events that stop collection until a later event.
HOLD_EVENTS = (
    EventType.CEASE_COMMUNICATION,
    EventType.ATTORNEY_REPRESENTATION,
    EventType.BANKRUPTCY,
    EventType.DECEASED,
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s().\-]{6,}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")
ExternalId = Path(pattern=_ID.pattern, max_length=128)


def search_accounts(conn: Connection, tenant_id: int, query: str, limit: int = 50) -> list[Any]:
    """Accounts of the tenant whose external id starts with ``query``, or whose contact
    point is the phone number or email address ``query`` (normalised: digits of a number with
    its ``+``, an address as typed or in lower case), matched on the addresses' keyed hashes:
    the store holds them sealed."""
    query = query.strip()
    columns = (Account.id, Account.external_id, Account.jurisdiction, Account.locale)
    if _EMAIL.fullmatch(query) or (_PHONE.fullmatch(query) and not _ID.fullmatch(query)):
        if "@" in query:
            candidates = sorted({query, query.lower()})
        else:
            candidates = [("+" if query.startswith("+") else "") + re.sub(r"\D", "", query)]
        matched = (
            sa.select(*columns)
            .join(ContactPoint, ContactPoint.account_id == Account.id)
            .where(
                Account.tenant_id == tenant_id,
                sa.or_(
                    *(
                        address_lookup(ContactPoint.address_hash, address, conn.dialect)
                        for address in candidates
                    )
                ),
            )
            .distinct()
        )
        return list(conn.execute(matched.order_by(Account.external_id).limit(limit)))
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(
        conn.execute(
            sa.select(*columns)
            .where(
                Account.tenant_id == tenant_id,
                Account.external_id.like(f"{escaped}%", escape="\\"),
            )
            .order_by(Account.external_id)
            .limit(limit)
        )
    )


@router.get("", response_class=HTMLResponse)
def accounts_page(
    request: Request,
    person: PersonDep,
    store: StoreDep,
    q: str = Query("", max_length=256),
) -> HTMLResponse:
    found: list[Any] = []
    points: dict[int, list[Any]] = {}
    if q.strip():
        with store.snapshot() as conn:
            found = search_accounts(conn, person.tenant_id, q)
            for point in conn.execute(
                sa.select(ContactPoint.account_id, ContactPoint.channel, ContactPoint.address)
                .where(ContactPoint.account_id.in_([r.id for r in found]))
                .order_by(ContactPoint.position)
            ):
                points.setdefault(point.account_id, []).append(point)
    return render(
        request,
        "accounts.html",
        person=person,
        active="accounts",
        q=q,
        found=found,
        points=points,
        searched=bool(q.strip()),
    )


def account_view(
    conn: Connection, tenant_id: int, tenant: str, external_id: str, config: Any, now: Any
) -> dict[str, Any]:
    """What one account's page shows: the account as the API shows it, the holds in force
    now (with their rules and citations), and its timeline (with each rule's citation)."""
    account = account_store.find_account(conn, tenant_id, external_id)
    if account is None:
        raise ConsoleRefused(404, f"No account {external_id!r} in {tenant}.")
    view = account_store.account_json(
        account,
        account_store.contact_points(conn, account.id),
        account_store.events(conn, account.id),
    )
    selected = conn.execute(sa.select(*ACCOUNT_COLUMNS).where(Account.id == account.id)).one()
    facts = load(conn, [selected], since=now - config.lookback_for(tenant), include_pending=False)
    pack = config.pack_for(account.jurisdiction, tenant)
    holds = active_holds(facts[account.id].facts, now, pack)
    entries, more = timeline(conn, account.id, limit=200)
    cited = citations([pack])
    for entry in entries:
        entry["cited"] = [(rule, cited.get(rule, "")) for rule in entry["rules"] or []]
    return {"account": view, "holds": holds, "entries": entries, "more": more}


@router.get("/{external_id}", response_class=HTMLResponse)
def account_page(
    request: Request,
    person: PersonDep,
    store: StoreDep,
    clock: ClockDep,
    source: ConfigDep,
    external_id: str = ExternalId,
    recorded: str = Query("", max_length=64),
    again: bool = False,
) -> HTMLResponse:
    with store.snapshot() as conn:
        view = account_view(
            conn, person.tenant_id, person.tenant_slug, external_id, source.get(), clock.now()
        )
    return render(
        request,
        "account.html",
        person=person,
        active="accounts",
        hold_events=HOLD_EVENTS,
        notice=_recorded_notice(recorded, again),
        **view,
    )


@router.post("/{external_id}/events")
async def record_action(
    request: Request,
    person: PersonDep,
    store: StoreDep,
    clock: ClockDep,
    replan: ReplanDep,
    external_id: str = ExternalId,
) -> Response:
    """Put the account on hold (``type`` one of :data:`HOLD_EVENTS`) or record a dispute."""
    fields = await read_form(request, person.csrf_token)
    require(person, Can.ACT_ON_ACCOUNTS)
    kind = fields.get("type", "")
    if kind not in {e.value for e in (*HOLD_EVENTS, EventType.DISPUTE)}:
        raise ConsoleRefused(
            400, f"{kind!r} is not an action here: put on hold, or record a dispute."
        )
    try:
        event = EventDocument.model_validate({"type": kind})
    except ValidationError as exc:
        raise ConsoleRefused(400, str(exc)) from None

    def work() -> bool:
        now = clock.now()
        with store.transaction() as conn:
            account = account_store.find_account(conn, person.tenant_id, external_id)
            if account is None:
                raise ConsoleRefused(404, f"No account {external_id!r} in {person.tenant_slug}.")
            try:
                recorded = account_store.record_event(
                    conn, account, event, now=now, source=person.actor
                )
            except EventConflict as exc:
                raise ConsoleRefused(409, str(exc)) from None
            if recorded.created:
                replan(conn, person.tenant_id, {account.id}, now)
            return recorded.created

    created = await in_thread(work)
    again = "" if created else "&again=true"
    return RedirectResponse(
        f"/console/accounts/{external_id}?recorded={kind}{again}", status_code=303, headers=HEADERS
    )


def _recorded_notice(kind: str, again: bool) -> str:
    if kind not in {e.value for e in (*HOLD_EVENTS, EventType.DISPUTE)}:
        return ""
    what = kind.replace("_", " ")
    if again:
        return f"{what.capitalize()} was already recorded: nothing changed."
    return f"Recorded {what}; the account's pending contacts were re-planned."
