"""Twilio Messaging status callbacks move the attempt they name (by the ``attempt_ref`` in
the signed callback URL) through queued → sent → delivered / undelivered / failed, and set
the task's status with it; error codes that say the number is dead or opted out become facts
about the contact point (and a dead number sends the task on to its next route)."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from orchestrator.domain import Channel, EventType
from tests.webhooks.borrowers import NUMBER
from tests.webhooks.borrowers import OUR_NUMBER as SENDER
from tests.webhooks.provider_payloads import new_sid, twilio_message_status, twilio_webhook


def _status(world, attempt, status: str, error_code: str | None = None):
    form = twilio_message_status(
        world.env["TWILIO_ACCOUNT_SID"],
        attempt.provider_message_id,
        status,
        to=NUMBER,
        sender=SENDER,
        error_code=error_code,
    )
    return twilio_webhook(
        "twilio_sms",
        world.url,
        world.env["TWILIO_AUTH_TOKEN"],
        form,
        query=f"attempt_ref={attempt.ref}",
    )


@pytest.fixture
def attempt(world):
    account = world.account_due("loan-1", Channel.SMS)
    return world.dispatched(account, Channel.SMS, "twilio_sms", new_sid("SM"))


def test_the_signature_is_the_one_twilios_own_validator_accepts(world, attempt):
    webhook = _status(world, attempt, "sent")
    url = f"{world.url}{webhook.path}"
    assert RequestValidator(world.env["TWILIO_AUTH_TOKEN"]).validate(
        url, webhook.form, webhook.headers["X-Twilio-Signature"]
    )
    assert world.post(webhook).status_code == 200


def test_sent_then_delivered_moves_the_attempt_and_its_task(world, attempt):
    response = world.post(_status(world, attempt, "sent"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert world.attempt(attempt.ref).status == "sent"
    assert world.task(attempt.task_id).status == "sent"

    assert world.post(_status(world, attempt, "delivered")).status_code == 200
    after = world.attempt(attempt.ref)
    assert after.status == "delivered"
    assert after.contact_kind == "attempt"
    assert world.task(attempt.task_id).status == "delivered"
    kinds = [e["kind"] for e in world.timeline("loan-1")]
    assert kinds[0] == "delivery.delivered"
    assert "delivery.sent" in kinds


@pytest.mark.parametrize(
    ("status", "error_code", "expected"),
    [
        ("undelivered", "30003", "undelivered"),  # unreachable handset: try again another day
        ("failed", "30007", "failed"),  # carrier filtering
    ],
)
def test_a_failure_is_final_for_the_task_and_keeps_the_error_code(
    world, attempt, status, error_code, expected
):
    assert world.post(_status(world, attempt, status, error_code)).status_code == 200
    after = world.attempt(attempt.ref)
    assert after.status == expected
    assert after.error_code == error_code
    assert world.task(attempt.task_id).status == "failed"
    points = world.account_json("loan-1")["contact_points"]
    assert all(p["invalid"] is None for p in points)  # not a fact about the number


def test_an_unknown_destination_marks_the_number_dead_and_fails_over_to_the_next_route(
    world, attempt
):
    assert world.post(_status(world, attempt, "undelivered", "30005")).status_code == 200
    points = {p["channel"]: p for p in world.account_json("loan-1")["contact_points"]}
    assert points["sms"]["invalid"]["reason"].startswith("twilio_sms 30005")
    assert points["call"]["invalid"] is None  # the number may still take calls
    task = world.task(attempt.task_id)
    # The due-day SMS falls back to a push, then an email: planned again on the push.
    assert (task.status, task.channel, task.template) == ("planned", "push", "overdue_notice")
    assert task.fallback == [["email", "formal_notice"]]


def test_error_21610_is_the_borrowers_earlier_stop_an_sms_opt_out_and_a_failover(world, attempt):
    assert world.post(_status(world, attempt, "failed", "21610")).status_code == 200
    events = world.account_json("loan-1")["events"]
    assert [(e["type"], e["channel"], e["source"]) for e in events] == [
        (EventType.OPT_OUT.value, "sms", "provider")
    ]
    task = world.task(attempt.task_id)
    assert (task.status, task.channel) == ("planned", "push")  # the text's fallback


def test_the_report_finds_its_attempt_by_message_sid_when_the_url_has_no_ref(world, attempt):
    form = twilio_message_status(
        world.env["TWILIO_ACCOUNT_SID"],
        attempt.provider_message_id,
        "delivered",
        to=NUMBER,
        sender=SENDER,
    )
    webhook = twilio_webhook("twilio_sms", world.url, world.env["TWILIO_AUTH_TOKEN"], form)
    assert world.post(webhook).status_code == 200
    assert world.attempt(attempt.ref).status == "delivered"
