"""Webhooks we cannot use are answered cleanly and change nothing they should not: a
provider we do not have (404), a report about a message we never sent (stored, so the
provider stops retrying, and otherwise ignored), a body that is not what the provider sends
(refused or ignored — never a server error that would make the provider retry forever)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from orchestrator.domain import Channel
from tests.factories import table_counts
from tests.webhooks.borrowers import EMAIL, NUMBER, OUR_NUMBER
from tests.webhooks.provider_payloads import (
    Webhook,
    dialer_outcome,
    dialer_webhook,
    jpush_webhook,
    new_sid,
    sendgrid_event,
    sendgrid_webhook,
    twilio_message_status,
    twilio_webhook,
)


def _without(counts, table):
    return {name: count for name, count in counts.items() if name != table}


def test_a_provider_we_do_not_have_is_not_found(world):
    before = table_counts(world.store)
    for path in ("/v1/webhooks/nexmo", "/v1/webhooks/nexmo/acme", "/v1/webhooks/TWILIO_SMS"):
        response = world.http.post(path, content=b"MessageStatus=delivered")
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert table_counts(world.store) == before


def test_reports_about_messages_we_never_sent_are_stored_and_change_nothing_else(world):
    account = world.account_due("loan-1", Channel.SMS)
    ours = world.dispatched(account, Channel.SMS, "twilio_sms", new_sid("SM"))
    env, now = world.env, world.clock.now()
    strangers = [
        twilio_webhook(
            "twilio_sms",
            world.url,
            env["TWILIO_AUTH_TOKEN"],
            twilio_message_status(
                env["TWILIO_ACCOUNT_SID"],
                new_sid("SM"),
                "undelivered",
                to=NUMBER,
                sender=OUR_NUMBER,
                error_code="30005",
            ),
            query="attempt_ref=att_000000000000000000000000",
        ),
        sendgrid_webhook(
            env["SENDGRID_WEBHOOK_PRIVATE_KEY"],
            [
                sendgrid_event(
                    "unsubscribe",
                    email=EMAIL,
                    sg_message_id="unknown.filter",
                    attempt_ref=None,
                    at=now,
                )
            ],
            int(now.timestamp()),
        ),
        dialer_webhook(
            env["DIALER_SECRET"],
            dialer_outcome(
                "promise_to_pay",
                task_id="T-404",
                attempt_ref="att_unknown",
                at=now,
                promise={"date": "2026-11-09", "amount": "10.00"},
            ),
            int(now.timestamp()),
        ),
    ]
    before = table_counts(world.store)
    for webhook in strangers:
        assert world.post(webhook).status_code == 200, webhook.provider
    after = table_counts(world.store)
    assert after["delivery_reports"] == before["delivery_reports"] + len(strangers)
    assert _without(after, "delivery_reports") == _without(before, "delivery_reports")
    assert world.attempt(ours.ref) == ours
    assert world.account_json("loan-1")["events"] == []


def test_bodies_that_are_not_what_the_provider_sends_never_fail_the_server(world):
    env, now = world.env, int(world.clock.now().timestamp())
    before = table_counts(world.store)
    unsigned_binary = Webhook(
        "twilio_sms",
        b"\xff\xfe=\x00",
        {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"},
    )
    signed = [
        dialer_webhook(env["DIALER_SECRET"], {"outcome": ["voicemail"]}, now),
        dialer_webhook(env["DIALER_SECRET"], [{"outcome": {"a": 1}}, 7, "x"], now),
        jpush_webhook(env["JPUSH_APP_KEY"], env["JPUSH_MASTER_SECRET"], [{"type": ["delivered"]}]),
        sendgrid_webhook(env["SENDGRID_WEBHOOK_PRIVATE_KEY"], {"event": "delivered"}, now),
        twilio_webhook(
            "twilio_sms", world.url, env["TWILIO_AUTH_TOKEN"], {"MessageStatus": "exploded"}
        ),
    ]
    not_json = sendgrid_webhook(env["SENDGRID_WEBHOOK_PRIVATE_KEY"], [], now).with_body(b"{")
    for webhook in [unsigned_binary, not_json, *signed]:
        response = world.post(webhook)
        assert response.status_code in (200, 401), (webhook.provider, webhook.body, response.text)
        assert table_counts(world.store) == before, webhook.body
    assert world.post(unsigned_binary).status_code == 401
    form = urlencode({"Body": "STOP"}).encode()
    assert world.post(unsigned_binary.with_body(form)).status_code == 401
    assert json.loads(world.post(not_json).content)["error"]["code"] == "invalid_signature"
