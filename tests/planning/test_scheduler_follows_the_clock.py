"""The scheduler's timing follows the injected clock: a clock ahead of or behind real time
plans all the same, and a planning run falls due each virtual day however fast the clock
runs (APScheduler only wakes it; it never reads a virtual instant as a wall-clock one)."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from orchestrator.clock import ScaledClock, VirtualClock
from orchestrator.demo.runner import demo_scheduler
from orchestrator.planning.portfolio import PortfolioPlanner
from orchestrator.planning.scheduler import Scheduler
from orchestrator.services import Services
from orchestrator.settings import load_settings

pytestmark = pytest.mark.slow


class RecordingPlanner(PortfolioPlanner):
    """The real planner, noting the instant of each run."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.runs: list[datetime] = []

    def plan(self, now, **kwargs):
        stats = super().plan(now, **kwargs)
        self.runs.append(now)
        return stats


@pytest.fixture
def services_on(store, tenant, redis_url, redis_namespace, file_config):
    """Services on a given clock, their planner recording each run."""

    def build(clock) -> Services:
        settings = load_settings(redis_url=redis_url, queue_namespace=redis_namespace)
        services = Services.build(settings, clock=clock, store=store, config=file_config)
        return dataclasses.replace(services, planner=RecordingPlanner(store, file_config.get))

    return build


def wait_for(condition, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.mark.parametrize(
    "offset", [timedelta(hours=11), timedelta(hours=-11)], ids=["ahead", "behind"]
)
def test_the_demo_scheduler_plans_on_a_clock_ahead_of_or_behind_real_time(services_on, offset):
    clock = ScaledClock(datetime.now(UTC) + offset, speed=3600)
    services = services_on(clock)
    scheduler = demo_scheduler(services, clock, lambda ids: None)
    start = clock.now()
    scheduler.start()
    try:
        wait_for(lambda: len(services.planner.runs) >= 2, what="two planning runs")
    finally:
        scheduler.stop()
    first, second = services.planner.runs[:2]
    assert first - start < timedelta(hours=1)  # at once, in virtual terms
    assert second - first >= scheduler.plan_every  # then when the clock says it is due


def test_a_planning_run_falls_due_each_virtual_day(services_on):
    clock = VirtualClock(datetime(2026, 11, 2, 6, 0, tzinfo=UTC))
    services = services_on(clock)
    scheduler = Scheduler(
        services.store,
        services.redis,
        clock,
        services.planner,
        lambda ids: None,
        namespace=services.settings.queue_namespace,
        plan_every=timedelta(days=1),
        sweep_every=timedelta(seconds=0.05),
    )
    runs = services.planner.runs
    scheduler.start()
    try:
        wait_for(lambda: len(runs) == 1, what="the first planning run")
        for day in (1, 2, 3):
            clock.advance(timedelta(hours=12))
            assert scheduler.plan_if_due() is False  # half a day: not due
            clock.advance(timedelta(hours=12))
            wait_for(lambda day=day: len(runs) == day + 1, what=f"day {day}'s planning run")
    finally:
        scheduler.stop()
    assert runs == [datetime(2026, 11, 2 + d, 6, 0, tzinfo=UTC) for d in range(4)]


def test_stored_answers_are_deleted_each_virtual_hour(services_on, tenant):
    from orchestrator.store.tables import IdempotencyRecord

    clock = VirtualClock(datetime(2026, 11, 2, 6, 0, tzinfo=UTC))
    services = services_on(clock)
    scheduler = Scheduler(
        services.store,
        services.redis,
        clock,
        services.planner,
        lambda ids: None,
        namespace=services.settings.queue_namespace,
        idempotency_ttl=timedelta(hours=24),
        sweep_every=timedelta(seconds=0.05),
    )

    def store_answer(key: str) -> None:
        with services.store.transaction() as conn:
            conn.execute(
                sa.insert(IdempotencyRecord).values(
                    tenant_id=tenant[0], key=key, request_hash="0" * 64, status_code=201,
                    response={}, created_at=clock.now(),
                )
            )  # fmt: skip

    def kept() -> list[str]:
        with services.store.snapshot() as conn:
            return sorted(conn.execute(sa.select(IdempotencyRecord.key)).scalars())

    store_answer("old")
    clock.advance(timedelta(hours=23))
    store_answer("new")
    scheduler.start()
    try:
        clock.advance(timedelta(hours=1, seconds=1))  # "old" is past its day, on this clock
        wait_for(lambda: kept() == ["new"], what="the old answer deleted")
    finally:
        scheduler.stop()
