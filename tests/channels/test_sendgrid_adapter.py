"""SendGrid: the Mail Send request, its errors, the signed Event Webhook (verified with
cryptography directly as the oracle), event mapping and Email Activity lookup."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from channels.base import WebhookRequest
from channels.signatures import load_private_key
from orchestrator.domain import Channel, DeliveryStatus
from orchestrator.errors import PermanentError, SignatureError, TransientError
from tests.channels.channel_support import NOW, Pinned, build, message

SETTINGS = {
    "base_url": "https://api.sendgrid.com",
    "from_address": "notices@acme.example",
    "from_name": "Acme",
}


def email(**overrides):
    fields = {
        "channel": Channel.EMAIL,
        "to": "ann@example.org",
        "subject": "Your account is past due",
        "body": "Plain text",
        "html": "<p>HTML</p>",
    }
    fields.update(overrides)
    return message(**fields)


def accepted(request: httpx.Request) -> httpx.Response:
    return httpx.Response(202, headers={"X-Message-Id": "Ab3dEfGhIjKlMnOpQrStUv"})


def test_mail_send_request_shape(credentials, clock) -> None:
    pinned = Pinned(accepted)
    receipt = build("sendgrid_email", SETTINGS, pinned.client(), clock).send(email())
    (request,) = pinned.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.sendgrid.com/v3/mail/send"
    assert request.headers["authorization"] == f"Bearer {credentials['SENDGRID_API_KEY']}"
    assert json.loads(request.content) == {
        "personalizations": [{"to": [{"email": "ann@example.org"}]}],
        "from": {"email": "notices@acme.example", "name": "Acme"},
        "subject": "Your account is past due",
        "content": [
            {"type": "text/plain", "value": "Plain text"},
            {"type": "text/html", "value": "<p>HTML</p>"},
        ],
        "custom_args": {"attempt_ref": "att-0001"},
    }
    assert receipt.provider_message_id == "Ab3dEfGhIjKlMnOpQrStUv"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, PermanentError),
        (401, PermanentError),
        (403, PermanentError),
        (413, PermanentError),
        (429, TransientError),
        (500, TransientError),
        (503, TransientError),
    ],
)
def test_4xx_is_permanent_except_429(credentials, clock, status, kind) -> None:
    body = {"errors": [{"message": "bad", "field": "from.email", "help": None}]}
    pinned = Pinned(lambda r: httpx.Response(status, json=body))
    with pytest.raises(kind):
        build("sendgrid_email", SETTINGS, pinned.client(), clock).send(email())


def test_429_waits_until_the_rate_limit_resets(credentials, clock) -> None:
    reset = str(int(NOW.timestamp()) + 30)
    pinned = Pinned(
        lambda r: httpx.Response(429, headers={"X-RateLimit-Reset": reset}, json={"errors": []})
    )
    with pytest.raises(TransientError) as caught:
        build("sendgrid_email", SETTINGS, pinned.client(), clock).send(email())
    assert caught.value.retry_after == 30.0


def sign(private_pem: str, timestamp: str, body: bytes) -> str:
    key = load_private_key(private_pem)
    return base64.b64encode(key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


def events_request(
    sendgrid_keys, events, *, timestamp: str | None = None, body: bytes | None = None
) -> WebhookRequest:
    raw = json.dumps(events).encode()
    stamp = timestamp or str(int(NOW.timestamp()))
    return WebhookRequest(
        "POST",
        "https://orchestrator.example/v1/webhooks/sendgrid_email",
        {
            "x-twilio-email-event-webhook-signature": sign(sendgrid_keys[0], stamp, raw),
            "x-twilio-email-event-webhook-timestamp": stamp,
        },
        body if body is not None else raw,
    )


def event(kind: str, **extra) -> dict:
    return {
        "email": "ann@example.org",
        "timestamp": int(NOW.timestamp()),
        "event": kind,
        "sg_event_id": f"evt-{kind}",
        "sg_message_id": "Ab3dEfGhIjKlMnOpQrStUv.filterdrecv-5645d9c87f-78xgx-1-0",
        "attempt_ref": "att-0001",
        **extra,
    }


def test_signed_events_verify(credentials, clock, sendgrid_keys) -> None:
    adapter = build("sendgrid_email", SETTINGS, httpx.Client(), clock)
    adapter.verify(events_request(sendgrid_keys, [event("delivered")]))


def test_tampered_body_forged_key_and_stale_timestamp_fail(
    credentials, clock, sendgrid_keys
) -> None:
    adapter = build("sendgrid_email", SETTINGS, httpx.Client(), clock)
    tampered = events_request(
        sendgrid_keys, [event("delivered")], body=json.dumps([event("bounce")]).encode()
    )
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_pem = other_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    forged = events_request((other_pem, ""), [event("delivered")])
    stale = events_request(
        sendgrid_keys, [event("delivered")], timestamp=str(int(NOW.timestamp()) - 90_000)
    )
    unsigned = WebhookRequest("POST", "https://x", {}, b"[]")
    for request in (tampered, forged, stale, unsigned):
        with pytest.raises(SignatureError):
            adapter.verify(request)


@pytest.mark.parametrize(
    ("kind", "extra", "status", "invalid", "opted_out"),
    [
        ("processed", {}, DeliveryStatus.QUEUED, False, False),
        ("deferred", {"response": "400 try again"}, DeliveryStatus.QUEUED, False, False),
        ("delivered", {"response": "250 OK"}, DeliveryStatus.DELIVERED, False, False),
        (
            "bounce",
            {"type": "bounce", "status": "5.1.1", "reason": "550 5.1.1 no such user"},
            DeliveryStatus.BOUNCED,
            True,
            False,
        ),
        (
            "bounce",
            {"type": "blocked", "status": "5.7.1", "reason": "spam"},
            DeliveryStatus.BOUNCED,
            False,
            False,
        ),
        ("dropped", {"reason": "Bounced Address"}, DeliveryStatus.FAILED, True, False),
        ("dropped", {"reason": "Unsubscribed Address"}, DeliveryStatus.FAILED, False, True),
        ("open", {}, None, False, False),
        ("click", {"url": "https://pay"}, None, False, False),
        ("spamreport", {}, None, False, True),
        ("unsubscribe", {}, None, False, True),
        ("group_unsubscribe", {"asm_group_id": 1}, None, False, True),
    ],
)
def test_events_map_to_reports(
    credentials, clock, sendgrid_keys, kind, extra, status, invalid, opted_out
) -> None:
    adapter = build("sendgrid_email", SETTINGS, httpx.Client(), clock)
    (report,) = adapter.parse(events_request(sendgrid_keys, [event(kind, **extra)]))
    assert report.status is status
    assert report.invalid_address is invalid
    assert report.opted_out is opted_out
    assert report.attempt_ref == "att-0001"
    assert report.provider_message_id == "Ab3dEfGhIjKlMnOpQrStUv"


def test_a_batch_yields_one_report_per_event_with_stable_keys(
    credentials, clock, sendgrid_keys
) -> None:
    adapter = build("sendgrid_email", SETTINGS, httpx.Client(), clock)
    batch = [event("processed"), event("delivered"), {"event": "some_future_event"}]
    first = adapter.parse(events_request(sendgrid_keys, batch))
    replay = adapter.parse(events_request(sendgrid_keys, batch))
    assert [r.dedupe_key for r in first] == [r.dedupe_key for r in replay]
    assert len({r.dedupe_key for r in first}) == 2


def test_lookup_asks_email_activity_by_custom_arg(credentials, clock) -> None:
    found = {"messages": [{"msg_id": "Ab3dEfGhIjKlMnOpQrStUv.filter-1", "status": "delivered"}]}
    pinned = Pinned(lambda r: httpx.Response(200, json=found))
    receipt = build("sendgrid_email", SETTINGS, pinned.client(), clock).lookup(email())
    (request,) = pinned.requests
    assert request.url.path == "/v3/messages"
    assert request.url.params["query"] == "unique_args['attempt_ref']=\"att-0001\""
    assert receipt is not None
    assert receipt.provider_message_id == "Ab3dEfGhIjKlMnOpQrStUv"
    assert receipt.status is DeliveryStatus.DELIVERED
