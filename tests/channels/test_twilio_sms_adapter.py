"""Twilio SMS: the exact Messages request, the error vocabulary, status callbacks and
inbound replies (STOP), and the TwiML answer."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode

import httpx
import pytest

from channels.base import ReportKind, WebhookRequest
from channels.signatures import twilio_signature
from orchestrator.domain import DeliveryStatus
from orchestrator.errors import PermanentError, SignatureError, TransientError
from tests.channels.channel_support import Pinned, build, message

SETTINGS = {"base_url": "https://api.twilio.com", "from_number": "+15017122661"}
WEBHOOK = "https://orchestrator.example/v1/webhooks/twilio_sms"


def created(request: httpx.Request) -> httpx.Response:
    return httpx.Response(201, json={"sid": "SM" + "f" * 32, "status": "queued"})


def test_send_posts_the_messages_resource_with_basic_auth(credentials, clock) -> None:
    pinned = Pinned(created)
    adapter = build("twilio_sms", SETTINGS, pinned.client(), clock)
    receipt = adapter.send(message(callback_url=WEBHOOK))

    (request,) = pinned.requests
    sid, token = credentials["TWILIO_ACCOUNT_SID"], credentials["TWILIO_AUTH_TOKEN"]
    assert request.method == "POST"
    assert str(request.url) == f"https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"
    assert (
        request.headers["authorization"]
        == "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()
    )
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.content.decode())
    assert form == {
        "To": ["+12125550123"],
        "From": ["+15017122661"],
        "Body": ["Your payment of $125.00 is overdue. Reply STOP to opt out."],
        "StatusCallback": [f"{WEBHOOK}?attempt_ref=att-0001"],
    }
    assert receipt.provider_message_id == "SM" + "f" * 32
    assert receipt.status is DeliveryStatus.QUEUED


def test_messaging_service_replaces_from(credentials, clock) -> None:
    pinned = Pinned(created)
    settings = {"base_url": "https://api.twilio.com", "messaging_service_sid": "MG" + "0" * 32}
    build("twilio_sms", settings, pinned.client(), clock).send(message(callback_url=None))
    form = parse_qs(pinned.requests[0].content.decode())
    assert form["MessagingServiceSid"] == ["MG" + "0" * 32]
    assert "From" not in form
    assert "StatusCallback" not in form


@pytest.mark.parametrize(
    ("status", "code", "kind", "invalid", "opted_out"),
    [
        (400, 21211, PermanentError, True, False),
        (400, 21614, PermanentError, True, False),
        (400, 30005, PermanentError, True, False),
        (400, 30006, PermanentError, True, False),
        (400, 21610, PermanentError, False, True),
        (400, 30003, PermanentError, False, False),
        (400, 30007, PermanentError, False, False),
        (401, 20003, PermanentError, False, False),
        (429, 20429, TransientError, False, False),
        (500, 20500, TransientError, False, False),
        (503, 20503, TransientError, False, False),
    ],
)
def test_error_codes_map_to_our_vocabulary(
    credentials, clock, status, code, kind, invalid, opted_out
) -> None:
    pinned = Pinned(
        lambda r: httpx.Response(status, json={"code": code, "message": "no", "status": status})
    )
    adapter = build("twilio_sms", SETTINGS, pinned.client(), clock)
    with pytest.raises(kind) as caught:
        adapter.send(message())
    assert caught.value.code == str(code)
    if kind is PermanentError:
        assert caught.value.invalid_address is invalid
        assert caught.value.opted_out is opted_out


def test_retry_after_is_honoured(credentials, clock) -> None:
    pinned = Pinned(
        lambda r: httpx.Response(429, headers={"Retry-After": "7"}, json={"code": 20429})
    )
    adapter = build("twilio_sms", SETTINGS, pinned.client(), clock)
    with pytest.raises(TransientError) as caught:
        adapter.send(message())
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
def test_timeouts_and_connection_errors_are_transient(credentials, clock, exc) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    adapter = build("twilio_sms", SETTINGS, Pinned(fail).client(), clock)
    with pytest.raises(TransientError):
        adapter.send(message())


def signed(token: str, url: str, form: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        url=url,
        headers={"x-twilio-signature": twilio_signature(token, url, form.items())},
        body=urlencode(form).encode(),
    )


def status_form(status: str, **extra: str) -> dict[str, str]:
    return {"MessageSid": "SM" + "a" * 32, "MessageStatus": status, "To": "+12125550123", **extra}


def test_signed_status_callback_verifies_and_parses(credentials, clock) -> None:
    adapter = build("twilio_sms", SETTINGS, httpx.Client(), clock)
    request = signed(
        credentials["TWILIO_AUTH_TOKEN"], f"{WEBHOOK}?attempt_ref=att-9", status_form("delivered")
    )
    adapter.verify(request)
    (report,) = adapter.parse(request)
    assert report.kind is ReportKind.DELIVERY
    assert report.attempt_ref == "att-9"
    assert report.status is DeliveryStatus.DELIVERED
    assert report.provider_message_id == "SM" + "a" * 32


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: WebhookRequest(
            r.method, r.url, r.headers, r.body.replace(b"delivered", b"failed")
        ),
        lambda r: WebhookRequest(r.method, r.url.replace("att-9", "att-8"), r.headers, r.body),
        lambda r: WebhookRequest(r.method, r.url, {}, r.body),
        lambda r: WebhookRequest(r.method, r.url, {"x-twilio-signature": "AAAA"}, r.body),
    ],
)
def test_tampered_or_forged_callbacks_are_rejected(credentials, clock, tamper) -> None:
    adapter = build("twilio_sms", SETTINGS, httpx.Client(), clock)
    genuine = signed(
        credentials["TWILIO_AUTH_TOKEN"], f"{WEBHOOK}?attempt_ref=att-9", status_form("delivered")
    )
    with pytest.raises(SignatureError):
        adapter.verify(tamper(genuine))


@pytest.mark.parametrize(
    ("twilio_status", "ours"),
    [
        ("queued", DeliveryStatus.QUEUED),
        ("accepted", DeliveryStatus.QUEUED),
        ("sending", DeliveryStatus.QUEUED),
        ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("read", DeliveryStatus.DELIVERED),
        ("undelivered", DeliveryStatus.UNDELIVERED),
        ("failed", DeliveryStatus.FAILED),
        ("canceled", DeliveryStatus.FAILED),
    ],
)
def test_each_message_status_maps_forward(credentials, clock, twilio_status, ours) -> None:
    adapter = build("twilio_sms", SETTINGS, httpx.Client(), clock)
    (report,) = adapter.parse(signed("x", WEBHOOK, status_form(twilio_status)))
    assert report.status is ours


def test_error_code_in_a_callback_marks_the_number(credentials, clock) -> None:
    adapter = build("twilio_sms", SETTINGS, httpx.Client(), clock)
    (dead,) = adapter.parse(signed("x", WEBHOOK, status_form("undelivered", ErrorCode="30006")))
    (stopped,) = adapter.parse(signed("x", WEBHOOK, status_form("failed", ErrorCode="21610")))
    assert dead.invalid_address
    assert dead.error_code == "30006"
    assert stopped.opted_out


def test_replayed_callback_has_the_same_dedupe_key(credentials, clock) -> None:
    adapter = build("twilio_sms", SETTINGS, httpx.Client(), clock)
    first = adapter.parse(signed("x", WEBHOOK, status_form("delivered")))
    again = adapter.parse(signed("x", WEBHOOK, status_form("delivered")))
    later = adapter.parse(signed("x", WEBHOOK, status_form("sent")))
    assert first[0].dedupe_key == again[0].dedupe_key
    assert first[0].dedupe_key != later[0].dedupe_key


def inbound(text: str) -> dict[str, str]:
    return {
        "MessageSid": "SM" + "b" * 32,
        "From": "+12125550123",
        "To": "+15017122661",
        "Body": text,
        "SmsStatus": "received",
        "NumMedia": "0",
    }


def test_inbound_stop_is_an_opt_out_report(credentials, clock) -> None:
    adapter = build("twilio_sms", SETTINGS, httpx.Client(), clock)
    request = signed(credentials["TWILIO_AUTH_TOKEN"], WEBHOOK, inbound("STOP"))
    adapter.verify(request)
    (report,) = adapter.parse(request)
    assert report.kind is ReportKind.INBOUND
    assert report.opted_out
    assert (report.sender, report.recipient, report.text) == (
        "+12125550123",
        "+15017122661",
        "STOP",
    )


def test_twilio_handles_stop_confirmation_itself(credentials, clock) -> None:
    adapter = build("twilio_sms", SETTINGS, httpx.Client(), clock)
    content_type, body = adapter.webhook_reply(adapter.parse(signed("x", WEBHOOK, inbound("STOP"))))
    assert content_type == "text/xml"
    assert b"<Message>" not in body
    assert b"<Response>" in body


def test_we_confirm_opt_outs_twilio_does_not_handle(credentials, clock) -> None:
    adapter = build("twilio_sms", SETTINGS, httpx.Client(), clock)
    _, body = adapter.webhook_reply(adapter.parse(signed("x", WEBHOOK, inbound("退订"))))
    assert b"<Message>You have been unsubscribed" in body


def test_an_ordinary_reply_gets_no_message(credentials, clock) -> None:
    adapter = build("twilio_sms", SETTINGS, httpx.Client(), clock)
    (report,) = adapter.parse(signed("x", WEBHOOK, inbound("I will pay Friday")))
    assert not report.opted_out
    _, body = adapter.webhook_reply([report])
    assert b"<Message>" not in body


def test_lookup_lists_messages_to_the_number_and_matches_the_body(credentials, clock) -> None:
    wanted = message()

    def listing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "messages": [
                    {"sid": "SM1", "to": wanted.to, "body": "another text", "status": "delivered"},
                    {"sid": "SM2", "to": wanted.to, "body": wanted.body, "status": "sent"},
                ]
            },
        )

    pinned = Pinned(listing)
    receipt = build("twilio_sms", SETTINGS, pinned.client(), clock).lookup(wanted)
    (request,) = pinned.requests
    assert request.method == "GET"
    assert request.url.params["To"] == "+12125550123"
    assert request.url.params["From"] == "+15017122661"
    assert request.url.params["DateSent>"] == "2026-02-28"
    assert receipt is not None
    assert receipt.provider_message_id == "SM2"
    assert receipt.status is DeliveryStatus.SENT
