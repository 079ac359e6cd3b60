"""JPush receipt callbacks (HTTP Basic with the app's key and master secret) move the push's
attempt to delivered or undelivered; a click says nothing new about delivery. The layout is
the one docs/channels.md records as uncertain (Jiguang documents it to customers only)."""

from __future__ import annotations

import pytest

from orchestrator.domain import Channel
from tests.webhooks.borrowers import PUSH_TOKEN
from tests.webhooks.provider_payloads import jpush_receipt, jpush_webhook


@pytest.fixture
def push(world):
    account = world.account_due("loan-1", Channel.PUSH)
    return world.dispatched(account, Channel.PUSH, "jpush_push", "54043196134235")


def _post(world, attempt, kind):
    receipt = jpush_receipt(
        kind,
        msg_id=attempt.provider_message_id,
        registration_id=PUSH_TOKEN,
        attempt_ref=attempt.ref,
        at=world.clock.now(),
    )
    webhook = jpush_webhook(world.env["JPUSH_APP_KEY"], world.env["JPUSH_MASTER_SECRET"], [receipt])
    return world.post(webhook)


def test_delivered_then_clicked(world, push):
    assert _post(world, push, "delivered").status_code == 200
    assert world.attempt(push.ref).status == "delivered"
    assert world.task(push.task_id).status == "delivered"
    assert _post(world, push, "click").status_code == 200
    assert world.attempt(push.ref).status == "delivered"


def test_undelivered_fails_the_push(world, push):
    assert _post(world, push, "undelivered").status_code == 200
    assert world.attempt(push.ref).status == "undelivered"
    assert world.task(push.task_id).status == "failed"
