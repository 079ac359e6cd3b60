"""Planning a portfolio from the store: once per step, whoever plans and however often."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from orchestrator.domain import TaskStatus
from orchestrator.store.tables import LedgerEntry, Task
from tests.factories import account_document

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York, a Monday


def portfolio(count: int, today: date | None = None) -> list[dict]:
    today = today or NOW.date()
    docs = []
    for i in range(count):
        dpd = [-3, 0, 3, 7, 10, 15, 20, 30, 45, 60, 2, 11][i % 12]
        doc = account_document(f"loan-{i}")
        doc["debt"]["due_date"] = (today - timedelta(days=dpd)).isoformat()
        docs.append(doc)
    return docs


def load(api, docs):
    for start in range(0, len(docs), 50):
        response = api.post("/v1/accounts:batch", json={"accounts": docs[start : start + 50]})
        assert response.status_code == 200, response.text


def task_keys(store):
    with store.snapshot() as conn:
        return sorted(
            conn.execute(sa.select(Task.account_id, Task.step, Task.local_date, Task.status)).all()
        )


def test_new_accounts_are_planned_as_they_arrive_and_planning_again_adds_nothing(
    api, store, services
):
    load(api, portfolio(120))
    first = task_keys(store)
    assert first, "accounts with a step due today were planned on arrival"
    with store.snapshot() as conn:
        entries = conn.execute(sa.select(sa.func.count()).select_from(LedgerEntry)).scalar()

    stats = services.planner.plan(NOW)
    again = services.planner.plan(NOW + timedelta(minutes=15))

    assert task_keys(store) == first
    assert stats.considered == again.considered == 0
    with store.snapshot() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(LedgerEntry)).scalar() == entries


def test_the_scheduled_run_plans_what_arrival_did_not(store, services, tenant):
    # Accounts imported without the API's hook (e.g. straight into the store) wait for the
    # scheduled run, which plans each due step once.
    from orchestrator.intake.document import AccountDocument
    from orchestrator.intake.upsert import prepare, write_accounts

    docs = [AccountDocument.model_validate(d) for d in portfolio(60)]
    with store.transaction() as conn:
        write_accounts(
            conn, tenant[0], [prepare(d, now=NOW) for d in docs], now=NOW, source="import"
        )
    assert task_keys(store) == []

    stats = services.planner.plan(NOW)

    keys = task_keys(store)
    assert stats.considered == len(keys) > 0
    assert len({(a, s, d) for a, s, d, _ in keys}) == len(keys)


def _plan_in_a_process(url: str, now: datetime, barrier) -> int:
    from orchestrator.clock import VirtualClock
    from orchestrator.configuration.source import ConfigSource
    from orchestrator.planning.portfolio import PortfolioPlanner
    from orchestrator.settings import load_settings
    from orchestrator.store.db import Store

    settings = load_settings()
    store = Store.connect(url)
    config = ConfigSource(
        settings.config_dir, settings.templates_dir, None, now=VirtualClock(now).now
    )
    planner = PortfolioPlanner(store, config.get, chunk=50)
    barrier.wait(timeout=60)
    return planner.plan(now).considered


def test_two_planners_at_once_plan_each_step_once(store, tenant):
    from orchestrator.intake.document import AccountDocument
    from orchestrator.intake.upsert import prepare, write_accounts

    docs = [AccountDocument.model_validate(d) for d in portfolio(400)]
    with store.transaction() as conn:
        write_accounts(
            conn, tenant[0], [prepare(d, now=NOW) for d in docs], now=NOW, source="import"
        )
    url = store.engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(2)
    with context.Pool(2) as pool:
        results = pool.starmap(_plan_in_a_process, [(url, NOW, barrier), (url, NOW, barrier)])

    keys = task_keys(store)
    assert len({(a, s, d) for a, s, d, _ in keys}) == len(keys)
    # Whichever planner got there first planned it; together they considered at least all.
    assert sum(results) >= len(keys) > 0
    with store.snapshot() as conn:
        planned_entries = conn.execute(
            sa.select(sa.func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.kind.like("task.%"))
        ).scalar()
    assert planned_entries == len(keys)  # one ledger entry per task, never two


def test_a_payment_in_full_cancels_pending_contacts_at_once(api, store):
    doc = account_document("loan-1")
    doc["debt"]["due_date"] = NOW.date().isoformat()
    api.put("/v1/accounts/loan-1", json=doc)
    [(_, step, _, status)] = task_keys(store)
    assert status == TaskStatus.PLANNED.value

    api.post(
        "/v1/accounts/loan-1/events",
        json={"event_id": "pay-1", "type": "payment", "amount": "1250.00"},
    )

    [(_, _, _, status)] = task_keys(store)
    assert status == TaskStatus.CANCELLED.value
    timeline = api.get("/v1/accounts/loan-1/timeline").json()["entries"]
    cancelled = next(e for e in timeline if e["kind"] == "task.cancelled")
    assert any("paid" in rule for rule in cancelled["rules"])
    assert step in cancelled["message"]


def test_a_dispute_cancels_pending_contacts_and_an_opt_out_only_its_channel(api, store):
    for name in ("loan-1", "loan-2"):
        doc = account_document(name)
        doc["debt"]["due_date"] = NOW.date().isoformat()
        api.put(f"/v1/accounts/{name}", json=doc)

    api.post("/v1/accounts/loan-1/events", json={"type": "dispute"})
    api.post("/v1/accounts/loan-2/events", json={"type": "opt_out", "channel": "sms"})

    with store.snapshot() as conn:
        rows = dict(
            conn.execute(
                sa.select(Task.account_id, sa.func.concat(Task.status, ":", Task.channel))
                if store.dialect == "postgresql"
                else sa.select(Task.account_id, Task.status + ":" + Task.channel)
            ).all()
        )
    statuses = sorted(rows.values())
    # loan-1's SMS is cancelled by the dispute; loan-2's moves to its fallback channel.
    assert statuses[0].startswith("cancelled:")
    assert statuses[1] in ("planned:push", "planned:email")


COMPARED = (
    Task.account_id,
    Task.step,
    Task.local_date,
    Task.status,
    Task.channel,
    Task.not_before,
    Task.reasons,
)


@pytest.mark.parametrize("hour", [0, 9, 15, 23])
def test_the_scheduled_run_plans_exactly_what_planning_each_account_plans(
    store, services, tenant, hour
):
    # The scheduled run reads facts only for accounts with an unplanned step due on their
    # local date: across the day's zone skews it must plan what planning every account
    # one by one plans, no more and no less.
    from orchestrator.demo.samples import sample_portfolio
    from orchestrator.intake.document import AccountDocument
    from orchestrator.intake.upsert import prepare, write_accounts
    from orchestrator.store.tables import Account

    now = datetime(2026, 11, 2, hour, 30, tzinfo=UTC)
    docs = sample_portfolio(150, today=now.date(), seed=hour)
    for i, doc in enumerate(docs):
        doc["debt"]["due_date"] = (now.date() - timedelta(days=i % 68 - 5)).isoformat()
    with store.transaction() as conn:
        write_accounts(
            conn,
            tenant[0],
            [prepare(AccountDocument.model_validate(d), now=now) for d in docs],
            now=now,
            source="import",
        )

    def planned() -> list[tuple]:
        with store.snapshot() as conn:
            return sorted(conn.execute(sa.select(*COMPARED)).all())

    services.planner.plan(now)
    scheduled = planned()
    with store.transaction() as conn:
        conn.execute(sa.delete(LedgerEntry))
        conn.execute(sa.delete(Task))
        ids = list(conn.execute(sa.select(Account.id)).scalars())
        services.planner.plan_accounts(conn, tenant[0], ids, now)
    one_by_one = planned()

    assert len(scheduled) > 20
    assert {s for _, _, _, s, *_ in scheduled} >= {"planned"}
    assert scheduled == one_by_one
