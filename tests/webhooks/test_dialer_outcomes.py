"""The agent dialer's signed outcomes (docs/channels.md, "Dialer protocol") become what the
rules count and the account events they imply: a conversation, a voicemail (limited content),
an attempt; a promise to pay with its date and amount, a dispute, a request to cease; a wrong
number is no longer the borrower's, for calls or texts."""

from __future__ import annotations

from decimal import Decimal

from orchestrator.domain import Channel
from tests.webhooks.provider_payloads import dialer_outcome, dialer_webhook

# outcome → the attempt's call outcome, what it counts as, its status, the event it records.
OUTCOMES = [
    ("no_answer", "attempt", "undelivered", None),
    ("not_connected", "not_connected", "undelivered", None),
    ("voicemail", "limited_content", "delivered", None),
    ("right_party_contact", "conversation", "delivered", None),
    ("wrong_number", "attempt", "delivered", None),
    ("dispute", "conversation", "delivered", "dispute"),
    ("cease_request", "conversation", "delivered", "cease_communication"),
]


def _report(world, attempt, outcome, **extra):
    now = world.clock.now()
    document = dialer_outcome(
        outcome, task_id=attempt.provider_message_id, attempt_ref=attempt.ref, at=now, **extra
    )
    return world.post(dialer_webhook(world.env["DIALER_SECRET"], document, int(now.timestamp())))


def test_each_outcome_is_counted_as_the_rules_count_it(world):
    for number, (outcome, kind, status, event) in enumerate(OUTCOMES):
        external_id = f"loan-{number}"
        call = world.dispatched(
            world.account_due(external_id, Channel.CALL), Channel.CALL, "dialer_call", f"T-{number}"
        )
        response = _report(world, call, outcome)
        assert response.status_code == 200, outcome
        after = world.attempt(call.ref)
        assert (after.call_outcome, after.contact_kind, after.status) == (outcome, kind, status)
        events = [e["type"] for e in world.account_json(external_id)["events"]]
        assert events == ([event] if event else []), outcome
        assert any(e["kind"] == f"call.{outcome}" for e in world.timeline(external_id)), outcome


def test_a_promise_to_pay_keeps_its_date_and_amount(world):
    call = world.dispatched(
        world.account_due("loan-1", Channel.CALL), Channel.CALL, "dialer_call", "T-1"
    )
    promise = {"date": "2026-11-09", "amount": "300.00", "currency": "USD"}
    assert _report(world, call, "promise_to_pay", promise=promise).status_code == 200
    after = world.attempt(call.ref)
    assert (after.call_outcome, after.contact_kind) == ("promise_to_pay", "conversation")
    [event] = world.account_json("loan-1")["events"]
    assert event["type"] == "promise_to_pay"
    assert Decimal(event["amount"]) == Decimal("300.00")
    # A promised date runs to the end of that day where the borrower is (New York).
    assert event["until"] == "2026-11-10T05:00:00Z"
    assert event["source"] == "call"


UNREADABLE_PROMISES = [
    {},  # the agent recorded no date
    {"date": "next friday", "amount": "300.00"},
    {"date": "2026-11-09", "amount": "-300.00"},
    {"date": "2026-11-09", "amount": "1e30"},
]


def test_a_promise_with_a_missing_or_unreadable_part_is_still_recorded(world):
    for number, promise in enumerate(UNREADABLE_PROMISES):
        external_id = f"loan-{number}"
        call = world.dispatched(
            world.account_due(external_id, Channel.CALL), Channel.CALL, "dialer_call", f"T-{number}"
        )
        assert _report(world, call, "promise_to_pay", promise=promise).status_code == 200, promise
        assert world.attempt(call.ref).contact_kind == "conversation"
        [event] = world.account_json(external_id)["events"]
        assert event["type"] == "promise_to_pay"
        assert event["until"] is not None, promise  # at least the grace period from now
        assert event["amount"] is None or Decimal(event["amount"]) == Decimal("300.00"), promise
