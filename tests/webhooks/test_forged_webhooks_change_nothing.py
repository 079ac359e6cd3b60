"""A webhook that does not carry the provider's valid signature is refused with 401 and
changes nothing: a tampered body, a signature made with another secret, no signature, a
stale or future timestamp where the scheme signs one, a callback URL pointed at another
attempt. The genuine request, sent last, is accepted: the forgeries were refused for their
signature, not for anything else.

Aliyun and JPush sign no body (a token in the URL, HTTP Basic): for them the secret is what
is checked, and a changed body with the right secret cannot be told from a real one
(docs/webhooks.md says so).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from orchestrator.domain import Channel
from tests.factories import table_counts
from tests.webhooks.borrowers import CN_NUMBER, EMAIL, NUMBER, OUR_NUMBER, PUSH_TOKEN
from tests.webhooks.provider_payloads import (
    Webhook,
    aliyun_biz_id,
    aliyun_report,
    aliyun_webhook,
    dialer_outcome,
    dialer_webhook,
    jpush_receipt,
    jpush_webhook,
    new_sid,
    sendgrid_event,
    sendgrid_message_id,
    sendgrid_webhook,
    twilio_call_status,
    twilio_message_status,
    twilio_webhook,
)

Forgery = Callable[[Webhook], Webhook]


@dataclass
class Case:
    """How to send one provider's genuine report, and its forgeries."""

    channel: Channel
    message_id: Callable[[], str]
    genuine: Callable[..., Webhook]  # (world, attempt, **changes) → a signed webhook
    forgeries: Callable[..., dict[str, Webhook]]  # (world, attempt, genuine) → name → webhook
    moved_to: str
    cn: bool = False


def _twilio_sms(world, attempt, status="delivered", token=None, url=None):
    form = twilio_message_status(
        world.env["TWILIO_ACCOUNT_SID"],
        attempt.provider_message_id,
        status,
        to=NUMBER,
        sender=OUR_NUMBER,
    )
    return twilio_webhook(
        "twilio_sms",
        url or world.url,
        token or world.env["TWILIO_AUTH_TOKEN"],
        form,
        query=f"attempt_ref={attempt.ref}",
    )


def _twilio_forgeries(build, changed_field, changed_value):
    def forgeries(world, attempt, genuine):
        tampered = {**genuine.form, changed_field: changed_value}
        return {
            "tampered body": genuine.with_body(urlencode(tampered).encode()),
            "another auth token": build(world, attempt, token="not-the-auth-token"),
            "signed for another URL": build(world, attempt, url="https://attacker.example"),
            "no signature": genuine.with_headers(x_twilio_signature=None),
            "empty signature": genuine.with_headers(x_twilio_signature=""),
            "another attempt's ref in the URL": genuine.with_query("attempt_ref=att_someone_else"),
        }

    return forgeries


def _twilio_voice(world, attempt, token=None, url=None):
    form = twilio_call_status(
        world.env["TWILIO_ACCOUNT_SID"],
        attempt.provider_message_id,
        "completed",
        to=NUMBER,
        sender=OUR_NUMBER,
        answered_by="human",
        duration="42",
    )
    return twilio_webhook(
        "twilio_voice",
        url or world.url,
        token or world.env["TWILIO_AUTH_TOKEN"],
        form,
        query=f"attempt_ref={attempt.ref}",
    )


def _sendgrid_events(world, attempt, event="delivered"):
    return [
        sendgrid_event(
            event,
            email=EMAIL,
            sg_message_id=f"{attempt.provider_message_id}.filterdrecv-1",
            attempt_ref=attempt.ref,
            at=world.clock.now(),
        )
    ]


def _sendgrid(world, attempt, *, key=None, timestamp=None):
    stamp = int(world.clock.now().timestamp()) if timestamp is None else timestamp
    private = key or world.env["SENDGRID_WEBHOOK_PRIVATE_KEY"]
    return sendgrid_webhook(private, _sendgrid_events(world, attempt), stamp)


def _another_ec_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _sendgrid_forgeries(world, attempt, genuine):
    now = int(world.clock.now().timestamp())
    day = int(timedelta(days=1).total_seconds())
    signature = "X-Twilio-Email-Event-Webhook-Signature"
    return {
        "tampered body": genuine.with_body(
            json.dumps(_sendgrid_events(world, attempt, "bounce")).encode()
        ),
        "another key": _sendgrid(world, attempt, key=_another_ec_key()),
        "no signature": genuine.with_headers(**{signature: None}),
        "garbage signature": genuine.with_headers(**{signature: "bm90IGEgc2lnbmF0dXJl"}),
        "no timestamp": genuine.with_headers(x_twilio_email_event_webhook_timestamp=None),
        "another timestamp than signed": genuine.with_headers(
            x_twilio_email_event_webhook_timestamp=str(now - 60)
        ),
        "stale (signed over a day ago)": _sendgrid(world, attempt, timestamp=now - day - 60),
        "from the future": _sendgrid(world, attempt, timestamp=now + day + 60),
    }


def _aliyun(world, attempt, token="genuine"):
    item = aliyun_report(
        phone=CN_NUMBER.removeprefix("+86"),
        biz_id=attempt.provider_message_id,
        out_id=attempt.ref,
        success=True,
        at=world.clock.now(),
    )
    return aliyun_webhook(
        world.env["ALIYUN_CALLBACK_TOKEN"] if token == "genuine" else token, [item]
    )


def _aliyun_forgeries(world, attempt, genuine):
    token = world.env["ALIYUN_CALLBACK_TOKEN"]
    return {
        "another token": _aliyun(world, attempt, token="not-the-token"),
        "no token": _aliyun(world, attempt, token=None),
        "the token a character short": _aliyun(world, attempt, token=token[:-1]),
        "the token under another name": genuine.with_query(urlencode({"secret": token})),
    }


def _dialer(world, attempt, *, secret=None, at=None, outcome="right_party_contact"):
    when = at or world.clock.now()
    document = dialer_outcome(
        outcome, task_id=attempt.provider_message_id, attempt_ref=attempt.ref, at=when
    )
    document["event_id"] = "E-fixed"
    return dialer_webhook(secret or world.env["DIALER_SECRET"], document, int(when.timestamp()))


def _dialer_forgeries(world, attempt, genuine):
    now = world.clock.now()
    tampered = json.loads(genuine.body)
    tampered["outcome"] = "wrong_number"
    return {
        "tampered body": genuine.with_body(json.dumps(tampered, separators=(",", ":")).encode()),
        "another secret": _dialer(world, attempt, secret="not-the-secret"),
        "no signature": genuine.with_headers(x_dialer_signature=None),
        "no timestamp": genuine.with_headers(
            x_dialer_signature=genuine.headers["X-Dialer-Signature"].split(",", 1)[1]
        ),
        "stale (signed 6 minutes ago)": _dialer(world, attempt, at=now - timedelta(minutes=6)),
        "from the future": _dialer(world, attempt, at=now + timedelta(minutes=6)),
    }


def _jpush(world, attempt, secret=None):
    item = jpush_receipt(
        "delivered",
        msg_id=attempt.provider_message_id,
        registration_id=PUSH_TOKEN,
        attempt_ref=attempt.ref,
        at=world.clock.now(),
    )
    return jpush_webhook(
        world.env["JPUSH_APP_KEY"], secret or world.env["JPUSH_MASTER_SECRET"], [item]
    )


def _jpush_forgeries(world, attempt, genuine):
    app_key = world.env["JPUSH_APP_KEY"]
    return {
        "another master secret": _jpush(world, attempt, secret="not-the-secret"),
        "no Authorization": genuine.with_headers(authorization=None),
        "the app key alone": genuine.with_headers(
            authorization="Basic " + base64.b64encode(f"{app_key}:".encode()).decode()
        ),
        "a bearer token": genuine.with_headers(
            authorization=f"Bearer {world.env['JPUSH_MASTER_SECRET']}"
        ),
    }


CASES = {
    "twilio_sms": Case(
        Channel.SMS,
        lambda: new_sid("SM"),
        _twilio_sms,
        _twilio_forgeries(_twilio_sms, "MessageStatus", "undelivered"),
        "delivered",
    ),
    "twilio_voice": Case(
        Channel.CALL,
        lambda: new_sid("CA"),
        _twilio_voice,
        _twilio_forgeries(_twilio_voice, "AnsweredBy", "machine_end_beep"),
        "delivered",
    ),
    "sendgrid_email": Case(
        Channel.EMAIL, sendgrid_message_id, _sendgrid, _sendgrid_forgeries, "delivered"
    ),
    "aliyun_sms": Case(Channel.SMS, aliyun_biz_id, _aliyun, _aliyun_forgeries, "delivered", True),
    "dialer_call": Case(Channel.CALL, lambda: "T-42", _dialer, _dialer_forgeries, "delivered"),
    "jpush_push": Case(
        Channel.PUSH, lambda: "54043196134235", _jpush, _jpush_forgeries, "delivered"
    ),
}


@pytest.mark.parametrize("provider", list(CASES))
def test_forgeries_are_refused_and_change_nothing(world, provider):
    case = CASES[provider]
    account = world.account_cn("cn-1") if case.cn else world.account_due("loan-1", case.channel)
    attempt = world.dispatched(account, case.channel, provider, case.message_id())
    genuine = case.genuine(world, attempt)
    before = table_counts(world.store)

    for name, forged in case.forgeries(world, attempt, genuine).items():
        response = world.post(forged)
        assert response.status_code == 401, f"{provider}: {name} was not refused"
        assert response.json()["error"]["code"] == "invalid_signature"
        assert table_counts(world.store) == before, f"{provider}: {name} changed something"
        assert world.attempt(attempt.ref) == attempt, f"{provider}: {name} moved the attempt"

    assert world.post(genuine).status_code == 200
    assert world.attempt(attempt.ref).status == case.moved_to


def test_providers_that_post_no_webhooks_accept_none(world):
    before = table_counts(world.store)
    for provider in ("fcm_push", "smtp_email"):
        response = world.http.post(
            f"/v1/webhooks/{provider}", json=[{"event": "delivered", "attempt_ref": "att_1"}]
        )
        assert response.status_code == 401, provider
    assert table_counts(world.store) == before
