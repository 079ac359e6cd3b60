"""The ops dashboard: ``GET /dashboard`` (a page) and ``GET /v1/dashboard`` (its data).

The page holds no data and no secret: it asks for an API key, keeps it in the browser tab's
session storage and calls ``/v1/dashboard`` with it, so a tenant sees only its own numbers.
"""

from __future__ import annotations

from datetime import timedelta
from importlib.resources import files

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from orchestrator.api.auth import Caller
from orchestrator.api.dependencies import (
    AdaptersDep,
    CircuitsDep,
    ClockDep,
    ConfigDep,
    StoreDep,
)
from orchestrator.api.errors import documented
from orchestrator.api.responses import JSONResponse
from orchestrator.api.schemas import Dashboard
from orchestrator.reporting.activity import contacts_over_time
from orchestrator.store.rollup import timeless
from orchestrator.store.tables import Account, LedgerEntry, Task

router = APIRouter(tags=["operations"])
_PAGE = files("orchestrator.api").joinpath("dashboard.html").read_text(encoding="utf-8")


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def page() -> HTMLResponse:
    return HTMLResponse(_PAGE, headers={"Cache-Control": "no-store"})


@router.get(
    "/v1/dashboard",
    summary="What the dashboard shows, for the key's tenant",
    response_model=Dashboard,
    responses=documented(401, 413),
)
def data(
    who: Caller,
    clock: ClockDep,
    store: StoreDep,
    config: ConfigDep,
    adapters: AdaptersDep,
    breaker: CircuitsDep,
) -> JSONResponse:
    """Tasks by status, the last 24 hours' contacts by channel and delivery status, what was
    blocked or moved by which rule in the last 7 days, provider circuits, and the latest
    ledger entries."""
    now = clock.now()
    tenant = who.tenant_id
    with store.snapshot() as conn:
        # Counts kept as rows are written (store/rollup.py), as the console reads them.
        accounts = timeless(conn, tenant, "account").get("", 0)
        tasks = timeless(conn, tenant, "task")
        contacts: dict[str, dict[str, int]] = {}
        for found in contacts_over_time(
            conn,
            tenant_id=tenant,
            since=now - timedelta(days=1),
            until=now + timedelta(microseconds=1),  # up to and including now
            bucket="day",
        ):
            per_status = contacts.setdefault(found.channel, {})
            per_status[found.status] = per_status.get(found.status, 0) + found.count
        rules: dict[str, int] = {}
        for (reasons,) in conn.execute(
            sa.select(Task.reasons).where(
                Task.tenant_id == tenant, Task.updated_at >= now - timedelta(days=7)
            )
        ):
            for rule in reasons or []:
                rules[rule] = rules.get(rule, 0) + 1
        recent = conn.execute(
            sa.select(
                LedgerEntry.at,
                LedgerEntry.kind,
                LedgerEntry.channel,
                LedgerEntry.message,
                Account.external_id,
            )
            .join(Account, Account.id == LedgerEntry.account_id)
            .where(LedgerEntry.tenant_id == tenant)
            .order_by(LedgerEntry.id.desc())
            .limit(25)
        ).all()
    circuits = adapters.states(who.tenant_slug, breaker.is_open)
    return JSONResponse(
        {
            "tenant": who.tenant_slug,
            "now": now.isoformat().replace("+00:00", "Z"),
            "config_version": config.get().version,
            "accounts": accounts,
            "tasks": tasks,
            "contacts_24h": contacts,
            "blocked_or_moved_7d": sorted(
                ({"rule": r, "count": c} for r, c in rules.items()), key=lambda x: -x["count"]
            ),
            "providers": circuits,
            "recent": [
                {
                    "at": r.at.isoformat().replace("+00:00", "Z"),
                    "account": r.external_id,
                    "kind": r.kind,
                    "channel": r.channel,
                    "message": r.message,
                }
                for r in recent
            ],
        }
    )
