"""SendGrid's signed Event Webhook: each event finds its attempt by our ``custom_args``
(``attempt_ref``) and moves it; a hard bounce or a drop for a bad address marks the email
address dead; ``unsubscribe`` and ``spamreport``
are opt-outs from email, whenever they arrive."""

from __future__ import annotations

import pytest

from orchestrator.domain import Channel
from tests.webhooks.borrowers import EMAIL
from tests.webhooks.provider_payloads import sendgrid_event, sendgrid_message_id, sendgrid_webhook


@pytest.fixture
def email(world):
    account = world.account_due("loan-1", Channel.EMAIL)
    return world.dispatched(account, Channel.EMAIL, "sendgrid_email", sendgrid_message_id())


def _post(world, attempt, *events):
    now = world.clock.now()
    batch = [
        sendgrid_event(
            name,
            email=EMAIL,
            sg_message_id=f"{attempt.provider_message_id}.filterdrecv-5bd8f7fc4-2x7sq-1-0",
            attempt_ref=attempt.ref,
            at=now,
            **extra,
        )
        for name, extra in events
    ]
    webhook = sendgrid_webhook(
        world.env["SENDGRID_WEBHOOK_PRIVATE_KEY"], batch, int(now.timestamp())
    )
    return world.post(webhook)


def test_processed_then_delivered_in_one_batch(world, email):
    response = _post(world, email, ("processed", {}), ("delivered", {"response": "250 OK"}))
    assert response.status_code == 200
    assert world.attempt(email.ref).status == "delivered"
    assert world.task(email.task_id).status == "delivered"


def test_a_hard_bounce_marks_the_address_dead_and_fails_a_task_with_no_route_left(world, email):
    assert world.task(email.task_id).fallback == []  # the D+10 notice has no fallback
    response = _post(
        world,
        email,
        ("processed", {}),
        (
            "bounce",
            {
                "type": "bounce",
                "status": "5.1.1",
                "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
            },
        ),
    )
    assert response.status_code == 200
    after = world.attempt(email.ref)
    assert (after.status, after.error_code) == ("bounced", "5.1.1")
    assert world.task(email.task_id).status == "failed"
    points = {p["channel"]: p for p in world.account_json("loan-1")["contact_points"]}
    assert points["email"]["invalid"]["reason"] == "sendgrid_email 5.1.1"


def test_a_blocked_bounce_is_a_failure_but_not_a_dead_address(world, email):
    blocked = {"type": "blocked", "status": "4.0.0", "reason": "550 spam content"}
    assert _post(world, email, ("bounce", blocked)).status_code == 200
    assert world.attempt(email.ref).status == "bounced"
    points = {p["channel"]: p for p in world.account_json("loan-1")["contact_points"]}
    assert points["email"]["invalid"] is None


def test_a_drop_for_a_bounced_address_marks_it_dead(world, email):
    assert _post(world, email, ("dropped", {"reason": "Bounced Address"})).status_code == 200
    assert world.attempt(email.ref).status == "failed"
    points = {p["channel"]: p for p in world.account_json("loan-1")["contact_points"]}
    assert points["email"]["invalid"] is not None


@pytest.mark.parametrize("event", ["unsubscribe", "spamreport"])
def test_unsubscribe_and_spam_reports_opt_the_borrower_out_of_email_after_delivery(
    world, email, event
):
    _post(world, email, ("processed", {}), ("delivered", {"response": "250 OK"}))
    assert _post(world, email, (event, {})).status_code == 200
    assert world.attempt(email.ref).status == "delivered"  # the message was delivered
    events = world.account_json("loan-1")["events"]
    assert [(e["type"], e["channel"]) for e in events] == [("opt_out", "email")]
    assert any(e["kind"] == f"delivery.{event}" for e in world.timeline("loan-1"))


def test_a_drop_for_an_unsubscribed_address_is_an_opt_out(world, email):
    assert _post(world, email, ("dropped", {"reason": "Unsubscribed Address"})).status_code == 200
    assert world.attempt(email.ref).status == "failed"
    events = world.account_json("loan-1")["events"]
    assert [(e["type"], e["channel"]) for e in events] == [("opt_out", "email")]
