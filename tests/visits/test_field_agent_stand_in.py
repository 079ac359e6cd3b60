"""The sandbox's stand-in field agent works the visit queue through the API, and each of its
faults meets the product's right answer: a duplicate outcome is idempotent, a late one or
one after expiry is refused with a message saying why, and a no-show expires at the deadline
with a ledger entry."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from channels.sandbox.field_agent import (
    FieldAgentSettings,
    StandInFieldAgent,
    VisitFaults,
    VisitRates,
)
from orchestrator.planning.scheduler import sweep
from orchestrator.store.tables import AccountEvent, LedgerEntry, Task, Visit
from tests.visits.test_field_visits import queue_visit, visit_tasks

ALWAYS_MET = VisitRates(met_borrower=1, refused=0, promise_to_pay=0, wrong_address=0,
                        third_party_met=0)  # fmt: skip


def agent(
    ops, clock, *, name="Li Wei", rates=ALWAYS_MET, regions=("NY",), **faults
) -> StandInFieldAgent:
    settings = FieldAgentSettings(
        name=name, regions=list(regions), rates=rates, faults=VisitFaults(**faults)
    )
    return StandInFieldAgent(ops, clock, settings)


def ledger_kinds(store) -> list[str]:
    with store.snapshot() as conn:
        return list(
            conn.execute(
                sa.select(LedgerEntry.kind)
                .where(LedgerEntry.kind.like("visit.%"))
                .order_by(LedgerEntry.id)
            ).scalars()
        )


def visit_row(store, visit_id):
    with store.snapshot() as conn:
        return conn.execute(sa.select(Visit).where(Visit.attempt_id == visit_id)).one()


def past_deadline(services, clock, minutes: int = 1) -> None:
    [task] = visit_tasks(services.store)
    clock.set(task.expires_at + timedelta(minutes=minutes))


def test_the_agent_registers_claims_visits_in_its_region_and_posts_outcomes(
    services, clock, api, ops
):
    visit_id = queue_visit(services, clock, api)
    elsewhere = agent(ops, clock, name="Ann Cole", regions=("CA",))
    assert elsewhere.work() == []  # a visit in New York is not for an agent in California
    [report] = agent(ops, clock).work()
    assert (report.visit_id, report.outcome, report.answers) == (visit_id, "met_borrower", [200])
    agents = ops.get("/v1/field-agents").json()["agents"]
    assert [(a["name"], a["regions"]) for a in agents] == [("Ann Cole", ["CA"]), ("Li Wei", ["NY"])]
    # Started again (a restarted app), the agent finds itself rather than registering twice.
    again = agent(ops, clock)
    assert again.register() == agents[1]["id"]
    assert visit_row(services.store, visit_id).outcome == "met_borrower"
    assert ledger_kinds(services.store) == ["visit.assigned", "visit.met_borrower"]


def test_a_duplicate_outcome_is_answered_the_same_and_recorded_once(services, clock, api, ops):
    visit_id = queue_visit(services, clock, api)
    promises = VisitRates(met_borrower=0, refused=0, promise_to_pay=1, wrong_address=0,
                          third_party_met=0, promise_amount="250.00")  # fmt: skip
    [report] = agent(ops, clock, rates=promises, duplicate_rate=1).work()
    assert report.fault == "duplicate"
    assert report.answers == [200, 200]
    assert ledger_kinds(services.store) == ["visit.assigned", "visit.promise_to_pay"]
    with services.store.snapshot() as conn:
        events = conn.execute(sa.select(AccountEvent.type, AccountEvent.source)).all()
    assert [tuple(e) for e in events] == [("promise_to_pay", "visit")]
    # A different outcome for a visit that has one is still refused.
    other = ops.post(f"/v1/visits/{visit_id}/outcome", json={"outcome": "refused"})
    assert other.status_code == 409
    assert "done already (promise to pay)" in other.json()["error"]["message"]


def test_a_late_outcome_is_refused_and_the_visit_expires(services, clock, api, ops):
    visit_id = queue_visit(services, clock, api)
    field = agent(ops, clock, late_rate=1, late_by_seconds=120)
    assert field.work() == []  # claimed, and the agent takes its time
    assert visit_row(services.store, visit_id).agent_id == field.agent_id
    past_deadline(services, clock, minutes=1)
    assert field.work() == []  # not yet two minutes past the deadline
    past_deadline(services, clock, minutes=3)
    [report] = field.work()  # the sweep has not run: the visit is still open, and late
    assert report.answers == [409]
    assert "deadline passed" in report.message
    assert "can no longer be given an outcome" in report.message
    assert visit_row(services.store, visit_id).outcome is None  # changed nothing
    assert ledger_kinds(services.store) == ["visit.assigned"]
    sweep(services.store, clock.now(), stale=timedelta(minutes=5))
    assert ledger_kinds(services.store) == ["visit.assigned", "visit.expired"]
    # Nor can a visit past its deadline be handed to someone else.
    other = ops.post("/v1/field-agents", json={"name": "Jo Park", "regions": ["NY"]}).json()
    moved = ops.post(f"/v1/visits/{visit_id}/assign", json={"agent_id": other["id"]})
    assert moved.status_code == 409


def test_an_outcome_after_expiry_is_refused(services, clock, api, ops):
    visit_id = queue_visit(services, clock, api)
    field = agent(ops, clock, after_expiry_rate=1)
    assert field.work() == []
    past_deadline(services, clock)
    assert field.work() == []  # waits until the queue lists the visit as expired
    sweep(services.store, clock.now(), stale=timedelta(minutes=5))
    [report] = field.work()
    assert report.answers == [409]
    assert f"Visit {visit_id} is expired already" in report.message
    assert visit_row(services.store, visit_id).outcome == "expired"
    assert ledger_kinds(services.store) == ["visit.assigned", "visit.expired"]


def test_a_no_show_expires_at_the_deadline_and_the_ledger_records_it(services, clock, api, ops):
    visit_id = queue_visit(services, clock, api)
    field = agent(ops, clock, no_show_rate=1)
    assert field.work() == []
    past_deadline(services, clock)
    sweep(services.store, clock.now(), stale=timedelta(minutes=5))
    assert field.work() == []
    assert field.reports[visit_id].answers == []  # never posted anything
    [task] = visit_tasks(services.store)
    assert task.status == "expired"
    with services.store.snapshot() as conn:
        message = conn.execute(
            sa.select(LedgerEntry.message).where(LedgerEntry.kind == "visit.expired")
        ).scalar_one()
    assert "no outcome recorded by its deadline" in message
    assert ops.get("/v1/visits", params={"status": "expired"}).json()["visits"][0]["id"] == (
        visit_id
    )


def test_outcomes_follow_the_rates_and_repeat_with_the_seed():
    import random

    rates = VisitRates(met_borrower=0.5, refused=0, promise_to_pay=0, wrong_address=0.5,
                       third_party_met=0)  # fmt: skip
    drawn = [rates.draw(random.Random(f"7:visit:{n}")) for n in range(200)]
    assert set(drawn) == {"met_borrower", "wrong_address"}
    assert 70 < drawn.count("met_borrower") < 130
    assert drawn == [rates.draw(random.Random(f"7:visit:{n}")) for n in range(200)]
    assert VisitRates(met_borrower=0, refused=0, promise_to_pay=0, wrong_address=0,
                      third_party_met=0).draw(random.Random(1)) == "not_home"  # fmt: skip


def test_rates_and_faults_that_do_not_fit_are_refused():
    with pytest.raises(ValidationError, match="sum to at most 1"):
        VisitRates(met_borrower=0.8, refused=0.5)
    with pytest.raises(ValidationError, match="sum to at most 1"):
        VisitFaults(no_show_rate=0.6, late_rate=0.6)
    with pytest.raises(ValidationError):
        VisitFaults(duplicate_rate=1.5)


def test_a_wrong_address_at_the_door_is_recorded_through_the_api(services, clock, api, ops):
    wrong = VisitRates(met_borrower=0, refused=0, promise_to_pay=0, wrong_address=1,
                       third_party_met=0)  # fmt: skip
    visit_id = queue_visit(services, clock, api)
    [report] = agent(ops, clock, rates=wrong).work()
    assert report.answers == [200]
    assert visit_row(services.store, visit_id).outcome == "wrong_address"
    with services.store.snapshot() as conn:
        status = conn.execute(sa.select(Task.status).where(Task.channel == "visit")).scalar_one()
    assert status == "failed"  # nobody was reached
