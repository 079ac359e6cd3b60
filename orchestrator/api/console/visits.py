"""The console's field-visit work queue (上门): agents and their regions, the visits by
deadline, assignment and outcomes.

The same service functions as ``/v1/field-agents`` and ``/v1/visits``
(:mod:`orchestrator.inbound.visits`: ``register_agent``, ``list_visits``, ``assign``,
``promise_for``, ``record_outcome``), in the same transactions, with the same re-planning
after an outcome; a refusal is the work queue's own message. Anyone signed in reads the
queue; assigning, registering agents and recording outcomes take :attr:`Can.WORK_VISITS`.
Street lines and the addressee are shown only to roles that read contact data; the others
see the city and region, enough to choose an agent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from orchestrator.api.console.session import (
    HEADERS,
    PersonDep,
    in_thread,
    read_form,
    render,
    require,
)
from orchestrator.api.dependencies import ClockDep, ReplanDep, StoreDep
from orchestrator.inbound import visits
from orchestrator.inbound.visits import VisitError
from orchestrator.ops_users import Can, OpsPerson
from orchestrator.planning.visits import VisitOutcome
from orchestrator.store.db import Store

router = APIRouter(prefix="/console/visits", include_in_schema=False)

VisitId = Path(ge=1, le=2**62)
_NOTICES = {
    "agent": "Field agent registered.",
    "assigned": "Visit assigned.",
    "outcome": "Outcome recorded; the account's pending contacts were re-planned.",
}


def _page(
    request: Request,
    person: OpsPerson,
    store: Store,
    *,
    shown: str = "open",
    region: str = "",
    notice: str = "",
    problem: str = "",
    code: int = 200,
) -> HTMLResponse:
    with store.snapshot() as conn:
        agents = visits.list_agents(conn, person.tenant_id)
        queue = visits.list_visits(conn, person.tenant_id, status=shown, region=region or None)
    for visit in queue:
        visit["covering"] = visits.covering(agents, visit)
        if not person.can(Can.SEE_CONTACT_DATA):
            visit["address"] = []  # the street and the addressee are contact data
    return render(
        request,
        "visits.html",
        person=person,
        active="visits",
        status=code,
        agents=agents,
        visits=queue,
        shown=shown,
        region=region,
        statuses=visits.STATUSES,
        outcomes=list(VisitOutcome),
        may_work=person.can(Can.WORK_VISITS),
        notice=notice,
        problem=problem,
    )


@router.get("", response_class=HTMLResponse)
def visits_page(
    request: Request,
    person: PersonDep,
    store: StoreDep,
    status: str = Query("open", max_length=20),
    region: str = Query("", max_length=100),
    done: str = Query("", max_length=20),
) -> HTMLResponse:
    if status not in visits.STATUSES:
        return _page(
            request,
            person,
            store,
            problem=f"status must be one of {', '.join(visits.STATUSES)}.",
            code=422,
        )
    return _page(
        request, person, store, shown=status, region=region.strip(), notice=_NOTICES.get(done, "")
    )


async def _done(
    request: Request,
    person: OpsPerson,
    store: Store,
    work: Callable[[], None],
    done: str,
    fields: dict[str, str],
) -> Response:
    """Do ``work`` off the event loop; back to the queue saying ``done``, or the page again
    with the work queue's refusal."""
    try:
        await in_thread(work)
    except VisitError as exc:
        return _page(request, person, store, problem=exc.message, code=exc.status)
    return _back(done, fields)


def _back(done: str, fields: dict[str, str]) -> RedirectResponse:
    query = {"done": done}
    if fields.get("status") in visits.STATUSES:
        query["status"] = fields["status"]
    return RedirectResponse(f"/console/visits?{urlencode(query)}", status_code=303, headers=HEADERS)


@router.post("/agents")
async def register_agent(
    request: Request, person: PersonDep, store: StoreDep, clock: ClockDep
) -> Response:
    """A new field agent; ``regions`` is a comma-separated list."""
    fields = await read_form(request, person.csrf_token)
    require(person, Can.WORK_VISITS)
    name = fields.get("name", "").strip()
    regions = [r.strip() for r in fields.get("regions", "").split(",") if r.strip()]
    problem = _printable(name, "name") or next(
        (p for r in regions if (p := _printable(r, "a region"))), ""
    )
    if problem:
        return _page(request, person, store, problem=problem, code=422)

    def work() -> None:
        with store.transaction() as conn:
            visits.register_agent(conn, person.tenant_id, name, regions, clock.now())

    return await _done(request, person, store, work, "agent", fields)


@router.post("/{visit_id}/assign")
async def assign_visit(
    request: Request,
    person: PersonDep,
    store: StoreDep,
    clock: ClockDep,
    visit_id: int = VisitId,
) -> Response:
    """Give the visit to the agent chosen (or move it to them)."""
    fields = await read_form(request, person.csrf_token)
    require(person, Can.WORK_VISITS)
    try:
        agent_id = int(fields.get("agent_id", ""))
    except ValueError:
        return _page(request, person, store, problem="Choose an agent to assign.", code=422)

    def work() -> None:
        with store.locking_transaction() as conn:
            visits.assign(conn, person.tenant_id, visit_id, agent_id, clock.now())

    return await _done(request, person, store, work, "assigned", fields)


@router.post("/{visit_id}/outcome")
async def record_outcome(
    request: Request,
    person: PersonDep,
    store: StoreDep,
    clock: ClockDep,
    replan: ReplanDep,
    visit_id: int = VisitId,
) -> Response:
    """How the visit ended; a promise to pay takes its amount and day."""
    fields = await read_form(request, person.csrf_token)
    require(person, Can.WORK_VISITS)
    try:
        outcome = VisitOutcome(fields.get("outcome", ""))
    except ValueError:
        return _page(
            request,
            person,
            store,
            problem=f"outcome must be one of {', '.join(o.value for o in VisitOutcome)}.",
            code=422,
        )
    try:
        amount = Decimal(a) if (a := fields.get("promise_amount", "").strip()) else None
        until = date.fromisoformat(d) if (d := fields.get("promise_date", "").strip()) else None
    except (InvalidOperation, ValueError):
        return _page(
            request,
            person,
            store,
            problem="promise_amount must be an amount (250.00) and promise_date a day "
            "(YYYY-MM-DD).",
            code=422,
        )

    def work() -> None:
        now = clock.now()
        with store.locking_transaction() as conn:
            promised = visits.promise_for(outcome, amount, until, now.date())
            _view, changed = visits.record_outcome(
                conn, person.tenant_id, visit_id, outcome, now, promised=promised
            )
            replan(conn, person.tenant_id, changed, now)

    return await _done(request, person, store, work, "outcome", fields)


def _printable(text: str, what: str) -> str:
    """Why ``text`` cannot be stored (the API's rule: printable, at most 200 characters)."""
    if len(text) > 200:
        return f"{what.capitalize()} is too long (at most 200 characters)."
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return f"{what.capitalize()} has a control character: type it again."
    return ""
