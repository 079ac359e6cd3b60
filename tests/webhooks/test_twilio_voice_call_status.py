"""Twilio Voice status callbacks: progress moves the call's attempt forward, and the final
callback (with ``AnsweredBy`` from answering-machine detection) says what the call was in the
terms Regulation F counts: a conversation, a limited-content voicemail, an attempt, or a call
that never connected (12 CFR 1006.14(b)(3))."""

from __future__ import annotations

import pytest

from orchestrator.domain import Channel
from tests.webhooks.borrowers import NUMBER
from tests.webhooks.borrowers import OUR_NUMBER as CALLER
from tests.webhooks.provider_payloads import new_sid, twilio_call_status, twilio_webhook


@pytest.fixture
def call(world):
    account = world.account_due("loan-1", Channel.CALL)
    return world.dispatched(account, Channel.CALL, "twilio_voice", new_sid("CA"))


def _callback(world, attempt, status, *, sequence=0, answered_by=None, duration=None):
    form = twilio_call_status(
        world.env["TWILIO_ACCOUNT_SID"],
        attempt.provider_message_id,
        status,
        to=NUMBER,
        sender=CALLER,
        answered_by=answered_by,
        duration=duration,
        sequence=sequence,
    )
    return twilio_webhook(
        "twilio_voice",
        world.url,
        world.env["TWILIO_AUTH_TOKEN"],
        form,
        query=f"attempt_ref={attempt.ref}",
    )


def test_progress_callbacks_move_the_call_forward_before_it_ends(world, call):
    assert world.post(_callback(world, call, "initiated", sequence=0)).status_code == 200
    assert world.attempt(call.ref).status == "queued"
    assert world.post(_callback(world, call, "ringing", sequence=1)).status_code == 200
    ringing = world.attempt(call.ref)
    assert ringing.status == "sent"
    assert ringing.call_outcome is None
    assert ringing.contact_kind == "attempt"  # a call that rings counts as an attempt


# CallStatus, AnsweredBy → call outcome, what Reg F counts it as, the attempt's status.
ENDINGS = [
    ("completed", "human", "right_party_contact", "conversation", "delivered"),
    # Detection inconclusive or off: the stricter reading, a conversation.
    ("completed", "unknown", "right_party_contact", "conversation", "delivered"),
    ("completed", None, "right_party_contact", "conversation", "delivered"),
    ("completed", "machine_end_beep", "voicemail", "limited_content", "delivered"),
    ("completed", "machine_start", "voicemail", "limited_content", "delivered"),
    ("completed", "fax", "not_connected", "not_connected", "delivered"),
    ("no-answer", None, "no_answer", "attempt", "undelivered"),
    ("busy", None, "not_connected", "not_connected", "undelivered"),
    ("failed", None, "not_connected", "not_connected", "failed"),
]


def test_the_final_callback_says_what_the_call_counts_as(world):
    for number, (status, answered_by, outcome, kind, delivery) in enumerate(ENDINGS):
        case = f"CallStatus={status} AnsweredBy={answered_by}"
        account = world.account_due(f"loan-{number}", Channel.CALL)
        call = world.dispatched(account, Channel.CALL, "twilio_voice", new_sid("CA"))
        world.post(_callback(world, call, "ringing", sequence=1))
        if status == "completed":
            world.post(_callback(world, call, "in-progress", sequence=2, answered_by=answered_by))
        response = world.post(
            _callback(world, call, status, sequence=3, answered_by=answered_by, duration="23")
        )
        assert response.status_code == 200, case
        assert response.headers["content-type"].startswith("text/xml")
        after = world.attempt(call.ref)
        assert (after.call_outcome, after.contact_kind, after.status) == (
            outcome,
            kind,
            delivery,
        ), case
        expected_task = "delivered" if delivery == "delivered" else "failed"
        assert world.task(call.task_id).status == expected_task, case
        [entry] = [e for e in world.timeline(f"loan-{number}") if e["kind"].startswith("call.")]
        assert entry["kind"] == f"call.{outcome}", case
        assert kind.replace("_", " ") in entry["message"], case
