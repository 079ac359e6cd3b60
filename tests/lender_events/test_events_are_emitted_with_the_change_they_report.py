"""Lender events are written in the transaction of the change they report: a change that
rolls back reports nothing; every way an account event is recorded (one event, a batch)
reports it; each endpoint gets only the types it asked for; a broken promise is found and
reported once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from orchestrator import outbox
from orchestrator.intake import accounts as account_store
from orchestrator.intake.document import EventDocument
from orchestrator.outbound.promises import report_broken
from orchestrator.store.tables import LenderEvent, WebhookDelivery
from tests.factories import account_document
from tests.lender_events.conftest import an_account, register


def _events(store) -> list[tuple[str, str]]:
    with store.snapshot() as conn:
        return [
            (row.type, row.data.get("event", {}).get("source", ""))
            for row in conn.execute(sa.select(LenderEvent).order_by(LenderEvent.id))
        ]


def _deliveries(store) -> int:
    with store.snapshot() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(WebhookDelivery)).scalar_one()


def test_without_an_endpoint_nothing_is_written(lender, store):
    an_account(lender)
    lender.post("/v1/accounts/loan-1/events", json={"type": "dispute"})
    assert _events(store) == []


def test_a_change_that_rolls_back_reports_nothing(lender, receiver, store, clock, tenant):
    register(lender, receiver.url)
    an_account(lender)

    def record_then_fail() -> None:
        with store.transaction() as conn:
            account = account_store.find_account(conn, tenant[0], "loan-1")
            recorded = account_store.record_event(
                conn, account, EventDocument(type="dispute"), now=clock.now(), source="api"
            )
            assert recorded.created
            raise RuntimeError("the request failed after recording")

    with pytest.raises(RuntimeError):
        record_then_fail()
    assert _events(store) == []
    # An event refused (its id names another event) reports nothing either.
    lender.post("/v1/accounts/loan-1/events", json={"type": "dispute", "event_id": "e-1"})
    refused = lender.post(
        "/v1/accounts/loan-1/events", json={"type": "cease_communication", "event_id": "e-1"}
    )
    assert refused.status_code == 409
    assert _events(store) == [("dispute.opened", "api")]
    assert _deliveries(store) == 1


def test_a_batch_reports_its_events_in_order_and_other_types_generically(lender, receiver, store):
    register(lender, receiver.url)
    document = account_document(
        "loan-9",
        events=[
            {"type": "promise_to_pay", "at": "2026-10-20", "until": "2026-10-25", "amount": "50"},
            {"type": "payment", "at": "2026-10-24", "amount": "50.00"},
            {"type": "opt_out", "at": "2026-10-26", "channel": "email"},
        ],
    )
    response = lender.post("/v1/accounts:batch", json={"accounts": [document]})
    assert response.status_code == 200, response.text
    assert _events(store) == [
        ("promise.made", "api"),
        ("account.event_recorded", "api"),
        ("channel.opted_out", "api"),
    ]
    # Sent again: nothing new is recorded, so nothing new is reported.
    lender.post("/v1/accounts:batch", json={"accounts": [document]})
    assert len(_events(store)) == 3


def test_each_endpoint_gets_only_the_types_it_asked_for(lender, receiver, deliverer, store):
    register(lender, receiver.url, event_types=["dispute.opened"])
    an_account(lender)
    lender.post("/v1/accounts/loan-1/events", json={"type": "cease_communication"})
    lender.post("/v1/accounts/loan-1/events", json={"type": "dispute"})
    deliverer.run()
    assert [e["type"] for e in receiver.events()] == ["dispute.opened"]
    assert len(_events(store)) == 2  # both recorded; one delivery


def test_a_broken_promise_is_reported_once_and_a_kept_one_not_at_all(
    lender, receiver, deliverer, store, clock
):
    register(lender, receiver.url, event_types=["promise.broken"])
    an_account(lender, "loan-1")
    an_account(lender, "loan-2")
    promise = {"type": "promise_to_pay", "until": "2026-11-05", "amount": "300.00"}
    lender.post("/v1/accounts/loan-1/events", json=promise)
    lender.post("/v1/accounts/loan-2/events", json=promise)
    clock.advance(timedelta(days=1))
    paid = {"type": "payment", "amount": "100.00", "event_id": "p-1"}
    lender.post("/v1/accounts/loan-1/events", json=paid)
    lender.post("/v1/accounts/loan-2/events", json={**paid, "amount": "300.00"})

    with store.transaction() as conn:
        assert report_broken(conn, clock.now()) == 0  # not due yet
    clock.set(datetime(2026, 11, 7, 12, tzinfo=UTC))
    with store.transaction() as conn:
        assert report_broken(conn, clock.now()) == 1
    with store.transaction() as conn:
        assert report_broken(conn, clock.now()) == 0  # once
    deliverer.run()
    [event] = receiver.events()
    assert event["type"] == "promise.broken"
    assert event["account"] == {"external_id": "loan-1"}
    assert event["data"]["paid"] == "100.00"
    assert event["data"]["promise"]["amount"] == "300.00"


def test_emit_takes_only_catalogued_types(store, lender, receiver, clock):
    register(lender, receiver.url)
    with (
        pytest.raises(ValueError, match=r"not lender event types: plan\.picked"),
        store.transaction() as conn,
    ):
        outbox.emit(conn, 1, 1, "plan.picked", {}, clock.now())


def test_a_plan_chosen_on_the_self_service_page_is_reported_once_with_its_promises(
    lender, receiver, store, clock, tenant
):
    """The page records a plan as one promise per instalment (``details.plan``,
    ``details.instalment``); the lender hears ``plan.chosen`` once, then each promise."""
    register(lender, receiver.url)
    an_account(lender)
    with store.transaction() as conn:
        account = account_store.find_account(conn, tenant[0], "loan-1")
        for number, day in ((1, 10), (2, 20)):
            account_store.record_event(
                conn,
                account,
                EventDocument(
                    type="promise_to_pay",
                    until=clock.now() + timedelta(days=day),
                    amount="60.00",
                    details={"plan": "two_months", "instalment": f"{number}/2"},
                ),
                now=clock.now(),
                source="self_service",
            )
    assert _events(store) == [
        ("plan.chosen", "self_service"),
        ("promise.made", "self_service"),
        ("promise.made", "self_service"),
    ]
