"""One tenant's rule overlay, accounts or broken state never stop another tenant's planning
or sending (issue 18 §1).

Before: a cooldown of ``999999d`` counted as "tighter" and was stored; the history look-back
became the longest period in *any* tenant's overlay, ``now - lookback`` overflowed, and every
tenant's account upserts, planning runs and sends failed. One tenant's broken account also
ended the planning run for every tenant after it.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orchestrator.dispatch import CircuitBreaker, ProviderPool, RateLimiter
from orchestrator.dispatch.reserve import Claim, Reserver
from orchestrator.metrics import TENANT_FAILURES
from orchestrator.planning.scheduler import sweep
from orchestrator.store.tables import Account, Task, Tenant

from .conftest import HOSTILE, VICTIM, due_account, import_due_account

CONVERSATION_COOLDOWN = {
    "id": "us.reg_f.call_after_conversation_7d",
    "citation": "12 CFR 1006.14(b)(2)(i)(B)",
    "after": {"channels": ["call"], "kinds": ["conversation"]},
    "blocks": ["call"],
}


def overlay(duration: object) -> dict:
    return {
        "id": "acme-long",
        "extends": "us-reg-f",
        "cooldowns": [{**CONVERSATION_COOLDOWN, "duration": duration}],
    }


def failures(stage: str, tenant: str) -> float:
    return TENANT_FAILURES.labels(stage, tenant)._value.get()


@pytest.mark.parametrize(
    "duration", ["999999d", "367d", "9000h", "1000000000d", "9" * 5000 + "d", "1" * 20 + "m"]
)
def test_a_duration_past_the_longest_period_is_refused_with_its_path(
    hostile, config_source, duration
):
    response = hostile.put("/v1/config/rules", json=overlay(duration))

    assert response.status_code == 422, response.text
    [problem] = response.json()["error"]["problems"]
    assert problem["field"] == "cooldowns.0.duration"
    assert "longer than 366d" in problem["message"]
    assert config_source.get().tenant_overlays == {}


def test_an_absurd_number_anywhere_in_an_overlay_is_a_4xx(hostile):
    document = overlay("8d")
    document["cooldowns"][0]["duration"] = int("9" * 4000)
    response = hostile.put("/v1/config/rules", json=document)
    assert 400 <= response.status_code < 500, response.text

    text = "id: acme-long\nextends: us-reg-f\ncaps: [{limit: " + "9" * 5000 + "}]\n"
    response = hostile.put(
        "/v1/config/rules", content=text, headers={"Content-Type": "application/yaml"}
    )
    assert 400 <= response.status_code < 500, response.text


def test_the_other_tenant_goes_on_after_a_huge_cooldown_is_tried(
    hostile, victim_lender, config_services, store
):
    hostile.put("/v1/config/rules", json=overlay("999999d"))

    response = victim_lender.put("/v1/accounts/loan-1", json=due_account("loan-1"))
    stats = config_services.planner.plan(config_services.clock.now())

    assert response.status_code in (200, 201), response.text
    assert stats.failed_tenants == []
    with store.snapshot() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Task)).scalar_one() > 0


def test_a_long_policy_period_widens_only_its_own_tenants_lookback(hostile, config_source):
    response = hostile.put("/v1/config/rules", json=overlay("300d"))

    assert response.status_code == 200, response.text
    config = config_source.get()
    assert config.lookback_for(HOSTILE) == timedelta(days=300)
    assert config.lookback_for(VICTIM) == timedelta(days=31)


def _break(store, account_id: int) -> None:
    """Broken state, as a bad migration or a hand edit leaves it: a zone nobody knows."""
    with store.transaction() as conn:
        conn.execute(sa.update(Account).where(Account.id == account_id).values(zones="Mars/Base"))


def _tasks_of(store, tenant_slug: str) -> list:
    with store.snapshot() as conn:
        return list(
            conn.execute(
                sa.select(Task)
                .join(Tenant, Tenant.id == Task.tenant_id)
                .where(Tenant.slug == tenant_slug)
            )
        )


def test_one_tenants_broken_state_is_skipped_and_alerted_while_the_other_plans(
    hostile, victim_lender, config_services, store, clock, caplog
):
    # Both tenants exist (the hostile one first: planning meets it first).
    broken = import_due_account(store, clock, HOSTILE, "loan-broken")
    _break(store, broken)
    import_due_account(store, clock, VICTIM, "loan-1")
    before = failures("plan", HOSTILE)

    stats = config_services.planner.plan(clock.now())

    assert stats.failed_tenants == [HOSTILE]
    assert failures("plan", HOSTILE) == before + 1
    assert _tasks_of(store, HOSTILE) == []
    assert _tasks_of(store, VICTIM), "the other tenant's due step was planned"


def test_one_tenants_broken_task_fails_alone_at_dispatch(
    hostile, victim_lender, config_services, store, clock
):
    hostile_account = import_due_account(store, clock, HOSTILE, "loan-broken")
    import_due_account(store, clock, VICTIM, "loan-1")
    config_services.planner.plan(clock.now())
    clock.advance(timedelta(hours=4))
    queued = sweep(store, clock.now(), stale=timedelta(minutes=5)).queued
    _break(store, hostile_account)
    [hostile_task] = [t.id for t in _tasks_of(store, HOSTILE) if t.id in queued]
    victim_tasks = [t.id for t in _tasks_of(store, VICTIM) if t.id in queued]
    assert victim_tasks
    namespace = config_services.settings.queue_namespace
    pool = ProviderPool(
        config_services.config.get,
        CircuitBreaker(config_services.redis, namespace),
        clock,
    )
    reserver = Reserver(config_services, pool, RateLimiter(config_services.redis, namespace))
    before = failures("dispatch", HOSTILE)

    with pytest.raises(KeyError, match="Mars/Base"):  # the zone nobody knows
        reserver.reserve(hostile_task)
    claims = [reserver.reserve(task) for task in victim_tasks]

    assert failures("dispatch", HOSTILE) == before + 1
    assert any(isinstance(claim, Claim) for claim in claims), _ledger(store)
    pool.http.close()


def _ledger(store) -> list[str]:
    from orchestrator.store.tables import LedgerEntry

    with store.snapshot() as conn:
        return [r.message for r in conn.execute(sa.select(LedgerEntry))]


def test_a_version_stored_before_the_bounds_suspends_only_its_tenant(
    hostile, victim_lender, store, clock, redis_url
):
    # A database from before periods were bounded: the huge cooldown is already stored.
    from orchestrator.configuration.source import ConfigSource, Kind
    from orchestrator.configuration.versions import append
    from orchestrator.services import Services
    from orchestrator.settings import load_settings

    with store.transaction() as conn:
        append(
            conn,
            HOSTILE,
            Kind.RULES,
            json.dumps(overlay("999999d")),
            created_by="before-the-fix",
            now=clock.now(),
            after=None,
        )
    import_due_account(store, clock, HOSTILE, "loan-held")
    import_due_account(store, clock, VICTIM, "loan-1")
    settings = load_settings(redis_url=redis_url)
    before = failures("plan", HOSTILE)

    # A process starting now still serves every other tenant.
    source = ConfigSource(settings.config_dir, settings.templates_dir, store, now=clock.now)
    services = Services.build(settings, clock=clock, store=store, config=source)
    stats = services.planner.plan(clock.now())

    assert list(source.get().suspended) == [HOSTILE]
    assert stats.failed_tenants == [HOSTILE]
    assert failures("plan", HOSTILE) == before + 1
    assert _tasks_of(store, HOSTILE) == []
    assert _tasks_of(store, VICTIM)
