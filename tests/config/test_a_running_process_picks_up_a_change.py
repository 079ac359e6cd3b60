"""A valid change stored through the API reaches every running process without a restart:
each one's configuration source notices it within its check interval, and what plans with
that source plans by the new version."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa

from orchestrator.configuration.source import ConfigSource
from orchestrator.configuration.versions import content_sha256
from orchestrator.intake.document import AccountDocument
from orchestrator.intake.upsert import prepare, write_accounts
from orchestrator.planning.portfolio import PortfolioPlanner
from orchestrator.store.tables import ConfigVersion, Task
from orchestrator.tenancy import tenant_id_for
from tests.factories import account_document

from .conftest import SETTINGS, YAML, strategy_text

TODAY = "2026-11-02"  # the test clock: 15:00 UTC, 10:00 in New York


def another_process(store, clock) -> ConfigSource:
    """What a worker or scheduler process holds: its own source over the same store."""
    return ConfigSource(SETTINGS.config_dir, SETTINGS.templates_dir, store, now=clock.now)


def add_account_due_today(store, clock, external_id: str) -> None:
    doc = AccountDocument.model_validate(
        account_document(
            external_id,
            debt={"amount_due": "1250.00", "currency": "USD", "due_date": TODAY, "product": "bnpl"},
        )
    )
    with store.transaction() as conn:
        tenant = tenant_id_for(conn, "acme")
        write_accounts(
            conn, tenant, [prepare(doc, now=clock.now())], now=clock.now(), source="import"
        )


def due_today_sends(store) -> list[datetime]:
    with store.snapshot() as conn:
        return list(
            conn.execute(sa.select(Task.not_before).where(Task.step.like("%.due_today"))).scalars()
        )


def test_a_source_started_before_the_change_uses_it_after_its_check_interval(ops, store, clock):
    worker = another_process(store, clock)
    running = worker.get()

    assert (
        ops.put("/v1/config/strategy", content=strategy_text("13:30"), headers=YAML).status_code
        == 200
    )

    assert worker.get() is running  # checked at most every 5 s: nothing read yet
    clock.advance(timedelta(seconds=5))
    fresh = worker.get()
    assert fresh is not running
    assert fresh.version == ops.get("/v1/config").json()["config_version"]
    assert worker.last_error is None


def test_a_planner_started_before_the_change_plans_by_the_new_strategy(ops, store, clock):
    planner = PortfolioPlanner(store, another_process(store, clock).get)
    ops.put("/v1/config/strategy", content=strategy_text("13:30"), headers=YAML)
    add_account_due_today(store, clock, "loan-1")
    clock.advance(timedelta(seconds=5))

    planner.plan(clock.now())

    # 13:30 in New York (EST, UTC-5) instead of the shipped 10:00.
    assert due_today_sends(store) == [datetime(2026, 11, 2, 18, 30, tzinfo=UTC)]


def test_back_to_the_file_default_is_picked_up_the_same_way(ops, store, clock):
    planner = PortfolioPlanner(store, another_process(store, clock).get)
    ops.put("/v1/config/strategy", content=strategy_text("13:30"), headers=YAML)
    clock.advance(timedelta(seconds=5))
    planner.config()
    ops.delete("/v1/config/strategy")
    add_account_due_today(store, clock, "loan-1")
    clock.advance(timedelta(seconds=5))

    planner.plan(clock.now())

    [send_at] = due_today_sends(store)
    assert send_at <= clock.now()  # the shipped 10:00: due now


def test_a_version_that_commits_after_one_with_a_higher_id_is_still_picked_up(store, clock):
    """On PostgreSQL ids come from a sequence: two tenants' changes can commit out of
    order. Here the rows are written with explicit ids to make that order certain."""
    worker = another_process(store, clock)

    def insert(row_id: int, scope: str, content: str) -> None:
        with store.transaction() as conn:
            conn.execute(
                sa.insert(ConfigVersion).values(
                    id=row_id,
                    scope=scope,
                    kind="strategy",
                    name="strategy",
                    version=1,
                    content=content,
                    sha256=content_sha256(content),
                    created_by="test",
                    created_at=clock.now(),
                )
            )

    insert(10, "rival", strategy_text("15:00").replace("name: acme", "name: rival"))
    clock.advance(timedelta(seconds=5))
    worker.get()
    insert(5, "acme", strategy_text("13:30"))
    clock.advance(timedelta(seconds=5))

    steps = worker.get().strategy_for("acme").steps()
    assert {s.at for _, s in steps if s.id == "due_today"} == {time(13, 30)}
