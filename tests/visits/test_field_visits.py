"""Field visits (上门) end to end on the real stores: the strategy plans a visit only for a
late, large balance; dispatch hands it to the work queue after the engine's checks; ops assign
it and record its outcome, which lands as events and facts; a visit left without an outcome
expires at its deadline. Rules (daytime hours, holds, the visit cap) are the engine's."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from orchestrator.api.app import create_app
from orchestrator.dispatch import Outcome, build_dispatch
from orchestrator.planning.scheduler import sweep
from orchestrator.store.tables import (
    AccountEvent,
    Attempt,
    ContactPoint,
    LedgerEntry,
    Task,
    Visit,
)
from orchestrator.tenancy import Role, create_tenant, issue_key
from tests.factories import account_document

# The clock fixture's 2026-11-02 15:00 UTC is D+50 for a debt due 2026-09-13.
DUE = "2026-09-13"
ADDRESS = {
    "line1": "350 Fifth Avenue",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
}


def put_account(api, external_id: str, amount: str = "6000.00") -> None:
    doc = account_document(external_id)
    doc["borrower"]["address"] = ADDRESS
    doc["contact_points"] = [{"channel": "visit"}, {"channel": "letter"}]
    doc["debt"].update(due_date=DUE, amount_due=amount)
    response = api.put(f"/v1/accounts/{external_id}", json=doc)
    assert response.status_code == 201, response.text


def visit_tasks(store) -> list:
    with store.snapshot() as conn:
        return list(conn.execute(sa.select(Task).where(Task.channel == "visit").order_by(Task.id)))


def queue_visit(services, clock, api, external_id: str = "loan-1") -> int:
    """Plan, then dispatch, the account's visit; the visit's id (its attempt's)."""
    put_account(api, external_id)
    [task] = [t for t in visit_tasks(services.store) if t.status == "planned"]
    clock.set(max(clock.now(), task.not_before))
    sweep(services.store, clock.now(), stale=timedelta(minutes=5))
    dispatcher, _ = build_dispatch(services, lambda task_id: None, sleep=lambda _: None)
    assert dispatcher.send(task.id) is Outcome.SENT
    with services.store.snapshot() as conn:
        return int(
            conn.execute(sa.select(Attempt.id).where(Attempt.task_id == task.id)).scalar_one()
        )


def test_the_strategy_plans_a_visit_only_for_a_large_balance(api, store):
    put_account(api, "small", amount="1250.00")
    assert visit_tasks(store) == []
    put_account(api, "large")
    [task] = visit_tasks(store)
    assert task.step == "standard.field_visit"
    # Daytime in New York (the pack's visit window 08:00-20:00): 10:00 local, 15:00 UTC.
    assert task.not_before.hour == 15


def test_a_dispatched_visit_waits_in_the_queue_and_is_assigned(services, clock, api, ops):
    visit_id = queue_visit(services, clock, api)
    with services.store.snapshot() as conn:
        attempt = conn.execute(sa.select(Attempt).where(Attempt.id == visit_id)).one()
    assert (attempt.provider, attempt.status) == ("field_queue", "sent")

    [listed] = ops.get("/v1/visits").json()["visits"]
    assert listed["id"] == visit_id
    assert listed["status"] == "unassigned"
    assert listed["region"] == "NY"
    assert listed["account"] == "loan-1"
    assert ops.get("/v1/visits", params={"region": "CA"}).json()["visits"] == []

    li = ops.post("/v1/field-agents", json={"name": "Li Wei", "regions": ["NY"]}).json()
    jo = ops.post("/v1/field-agents", json={"name": "Jo Park", "regions": ["new york"]}).json()
    assert [a["name"] for a in ops.get("/v1/field-agents").json()["agents"]] == [
        "Jo Park",
        "Li Wei",
    ]
    first = ops.post(f"/v1/visits/{visit_id}/assign", json={"agent_id": li["id"]})
    assert first.status_code == 200, first.text
    assert first.json()["agent"]["name"] == "Li Wei"
    again = ops.post(f"/v1/visits/{visit_id}/assign", json={"agent_id": jo["id"]}).json()
    assert again["status"] == "assigned"
    assert again["agent"]["name"] == "Jo Park"
    with services.store.snapshot() as conn:
        kinds = list(
            conn.execute(
                sa.select(LedgerEntry.kind, LedgerEntry.message)
                .where(LedgerEntry.kind.like("visit.%"))
                .order_by(LedgerEntry.id)
            )
        )
    assert [k for k, _ in kinds] == ["visit.assigned", "visit.reassigned"]
    assert "was Li Wei" in kinds[1][1]


def test_a_promise_at_the_door_pauses_collection(services, clock, api, ops):
    visit_id = queue_visit(services, clock, api)
    response = ops.post(
        f"/v1/visits/{visit_id}/outcome",
        json={"outcome": "promise_to_pay", "promise_amount": "500", "promise_date": "2026-11-20"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "done"
    with services.store.snapshot() as conn:
        attempt = conn.execute(sa.select(Attempt).where(Attempt.id == visit_id)).one()
        event = conn.execute(
            sa.select(AccountEvent).where(AccountEvent.type == "promise_to_pay")
        ).one()
        task = conn.execute(sa.select(Task).where(Task.id == attempt.task_id)).one()
    assert (attempt.status, attempt.contact_kind) == ("delivered", "conversation")
    assert task.status == "delivered"
    # The promise holds through the promised day, in the borrower's zone.
    assert "2026-11-20" < str(event.until)[:10] <= "2026-11-21"
    assert event.amount == 500
    # Once done, it takes no other outcome.
    again = ops.post(f"/v1/visits/{visit_id}/outcome", json={"outcome": "refused"})
    assert again.status_code == 409


def test_a_wrong_address_marks_the_postal_contact_point_invalid(services, clock, api, ops):
    visit_id = queue_visit(services, clock, api)
    response = ops.post(f"/v1/visits/{visit_id}/outcome", json={"outcome": "wrong_address"})
    assert response.status_code == 200, response.text
    with services.store.snapshot() as conn:
        invalid = {
            row.channel: row.invalid_at is not None
            for row in conn.execute(sa.select(ContactPoint.channel, ContactPoint.invalid_at))
        }
        attempt = conn.execute(sa.select(Attempt).where(Attempt.id == visit_id)).one()
    assert invalid == {"visit": True, "letter": True}
    assert attempt.contact_kind == "not_connected"  # nobody reached: not a contact


def test_a_third_party_met_records_nothing_about_the_debt(services, clock, api, ops):
    visit_id = queue_visit(services, clock, api)
    refused = ops.post(
        f"/v1/visits/{visit_id}/outcome",
        json={"outcome": "third_party_met", "promise_amount": "10"},
    )
    assert refused.status_code == 422
    assert (
        ops.post(f"/v1/visits/{visit_id}/outcome", json={"outcome": "third_party_met"}).status_code
        == 200
    )
    with services.store.snapshot() as conn:
        [message] = conn.execute(
            sa.select(LedgerEntry.message).where(LedgerEntry.kind == "visit.third_party_met")
        ).scalars()
        events = conn.execute(sa.select(sa.func.count()).select_from(AccountEvent)).scalar()
    assert "nothing about the debt" in message
    assert events == 0


def test_a_visit_without_outcome_expires_at_its_deadline(services, clock, api, ops):
    visit_id = queue_visit(services, clock, api)
    [task] = visit_tasks(services.store)
    clock.set(task.expires_at + timedelta(minutes=1))
    sweep(services.store, clock.now(), stale=timedelta(minutes=5))
    with services.store.snapshot() as conn:
        task = conn.execute(sa.select(Task).where(Task.id == task.id)).one()
        visit = conn.execute(sa.select(Visit).where(Visit.attempt_id == visit_id)).one()
        entries = conn.execute(
            sa.select(LedgerEntry.kind).where(LedgerEntry.kind == "visit.expired")
        ).scalars()
        assert list(entries) == ["visit.expired"]
    assert (task.status, visit.outcome) == ("expired", "expired")
    assert ops.get("/v1/visits").json()["visits"] == []
    assert ops.get("/v1/visits", params={"status": "expired"}).json()["visits"][0]["id"] == (
        visit_id
    )
    late = ops.post(f"/v1/visits/{visit_id}/outcome", json={"outcome": "met_borrower"})
    assert late.status_code == 409


def test_bad_requests_name_what_is_wrong_and_change_nothing(services, clock, api, ops):
    visit_id = queue_visit(services, clock, api)
    assert api.get("/v1/visits").status_code == 403  # a lender key is not an ops key
    assert ops.get("/v1/visits", params={"status": "later"}).status_code == 422
    assert ops.post("/v1/field-agents", json={"name": "A", "regions": []}).status_code == 422
    agent = ops.post("/v1/field-agents", json={"name": "Ann", "regions": ["CA"]}).json()
    assert ops.post("/v1/field-agents", json={"name": "Ann", "regions": ["NY"]}).status_code == 409
    elsewhere = ops.post(f"/v1/visits/{visit_id}/assign", json={"agent_id": agent["id"]})
    assert elsewhere.status_code == 422
    assert "covers CA" in elsewhere.json()["error"]["message"]
    assert ops.post("/v1/visits/999999/assign", json={"agent_id": agent["id"]}).status_code == 404
    no_date = ops.post(
        f"/v1/visits/{visit_id}/outcome", json={"outcome": "promise_to_pay", "promise_amount": "5"}
    )
    assert no_date.status_code == 422
    assert ops.post(f"/v1/visits/{visit_id}/outcome", json={"outcome": "gone"}).status_code == 422
    with services.store.snapshot() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Visit)).scalar() == 0


def test_another_tenants_visits_and_agents_are_out_of_reach(services, clock, api, ops):
    visit_id = queue_visit(services, clock, api)
    with services.store.transaction() as conn:
        other = create_tenant(conn, "other", name="Other Lending", now=clock.now())
        key = issue_key(conn, other, role=Role.OPS, now=clock.now())
    agent = ops.post("/v1/field-agents", json={"name": "Li Wei", "regions": ["NY"]}).json()
    with TestClient(create_app(services), headers={"Authorization": f"Bearer {key}"}) as them:
        assert them.get("/v1/visits").json()["visits"] == []
        assert them.get("/v1/field-agents").json()["agents"] == []
        assert (
            them.post(f"/v1/visits/{visit_id}/outcome", json={"outcome": "refused"}).status_code
            == 404
        )
        mine = them.post("/v1/field-agents", json={"name": "Mo", "regions": ["NY"]}).json()
    # Nor may one tenant's visit go to another's agent.
    assert (
        ops.post(f"/v1/visits/{visit_id}/assign", json={"agent_id": mine["id"]}).status_code == 422
    )
    assert (
        ops.post(f"/v1/visits/{visit_id}/assign", json={"agent_id": agent["id"]}).status_code == 200
    )
