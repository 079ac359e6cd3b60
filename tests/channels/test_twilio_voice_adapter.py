"""Twilio Voice: the Calls request (TwiML <Say>, status callbacks, machine detection), the
limited-content rule, and call status callbacks read as call outcomes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import httpx
import pytest

from channels.base import ReportKind, WebhookRequest
from channels.signatures import twilio_signature
from orchestrator.domain import CallOutcome, Channel, DeliveryStatus
from orchestrator.errors import PermanentError, SignatureError
from tests.channels.channel_support import Pinned, build, message

SETTINGS = {"base_url": "https://api.twilio.com", "from_number": "+15017122661"}
WEBHOOK = "https://orchestrator.example/v1/webhooks/twilio_voice"


def call_message(**overrides):
    fields = {
        "channel": Channel.CALL,
        "body": "This is Acme Servicing for Ann Lee. Please call us at 800-555-0100.",
        "locale": "en-US",
        "limited_content": True,
        "callback_url": WEBHOOK,
    }
    fields.update(overrides)
    return message(**fields)


def test_call_request_reads_the_message_and_asks_for_callbacks(credentials, clock) -> None:
    pinned = Pinned(
        lambda r: httpx.Response(201, json={"sid": "CA" + "1" * 32, "status": "queued"})
    )
    receipt = build("twilio_voice", SETTINGS, pinned.client(), clock).send(call_message())

    (request,) = pinned.requests
    sid = credentials["TWILIO_ACCOUNT_SID"]
    assert str(request.url) == f"https://api.twilio.com/2010-04-01/Accounts/{sid}/Calls.json"
    form = parse_qs(request.content.decode())
    assert form["To"] == ["+12125550123"]
    assert form["From"] == ["+15017122661"]
    assert form["Twiml"] == [
        '<Response><Say language="en-US">This is Acme Servicing for Ann Lee. '
        "Please call us at 800-555-0100.</Say></Response>"
    ]
    assert form["MachineDetection"] == ["DetectMessageEnd"]
    assert form["StatusCallback"] == [f"{WEBHOOK}?attempt_ref=att-0001"]
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert receipt.provider_message_id == "CA" + "1" * 32


def test_text_is_escaped_inside_twiml(credentials, clock) -> None:
    pinned = Pinned(lambda r: httpx.Response(201, json={"sid": "CA1", "status": "queued"}))
    build("twilio_voice", SETTINGS, pinned.client(), clock).send(call_message(body="A & B <c>"))
    assert "A &amp; B &lt;c&gt;" in parse_qs(pinned.requests[0].content.decode())["Twiml"][0]


def test_a_message_that_is_not_limited_content_is_refused(credentials, clock) -> None:
    pinned = Pinned(lambda r: httpx.Response(201, json={"sid": "CA1"}))
    adapter = build("twilio_voice", SETTINGS, pinned.client(), clock)
    with pytest.raises(PermanentError) as caught:
        adapter.send(call_message(limited_content=False))
    assert caught.value.code == "limited_content_required"
    assert pinned.requests == []


def callback(status: str, **extra: str) -> WebhookRequest:
    form = {"CallSid": "CA" + "2" * 32, "CallStatus": status, "To": "+12125550123", **extra}
    url = f"{WEBHOOK}?attempt_ref=att-3"
    return WebhookRequest(
        "POST",
        url,
        {"x-twilio-signature": twilio_signature("tok", url, form.items())},
        urlencode(form).encode(),
    )


@pytest.mark.parametrize(
    ("status", "answered_by", "outcome", "delivery"),
    [
        ("completed", "human", CallOutcome.RIGHT_PARTY_CONTACT, DeliveryStatus.DELIVERED),
        ("completed", "machine_start", CallOutcome.VOICEMAIL, DeliveryStatus.DELIVERED),
        ("completed", "machine_end_beep", CallOutcome.VOICEMAIL, DeliveryStatus.DELIVERED),
        ("completed", "fax", CallOutcome.NOT_CONNECTED, DeliveryStatus.DELIVERED),
        ("completed", "unknown", CallOutcome.RIGHT_PARTY_CONTACT, DeliveryStatus.DELIVERED),
        ("busy", "", CallOutcome.NOT_CONNECTED, DeliveryStatus.UNDELIVERED),
        ("failed", "", CallOutcome.NOT_CONNECTED, DeliveryStatus.FAILED),
        ("no-answer", "", CallOutcome.NO_ANSWER, DeliveryStatus.UNDELIVERED),
        ("canceled", "", CallOutcome.NOT_CONNECTED, DeliveryStatus.FAILED),
        ("ringing", "", None, DeliveryStatus.SENT),
        ("in-progress", "human", None, DeliveryStatus.SENT),
        ("initiated", "", None, DeliveryStatus.QUEUED),
    ],
)
def test_call_statuses_become_outcomes(
    credentials, clock, status, answered_by, outcome, delivery
) -> None:
    adapter = build("twilio_voice", SETTINGS, httpx.Client(), clock)
    extra = {"AnsweredBy": answered_by} if answered_by else {}
    (report,) = adapter.parse(callback(status, **extra))
    assert report.kind is ReportKind.CALL
    assert report.call_outcome is outcome
    assert report.status is delivery
    assert report.attempt_ref == "att-3"


def test_call_callback_signature_is_checked(credentials, clock) -> None:
    adapter = build("twilio_voice", SETTINGS, httpx.Client(), clock)
    with pytest.raises(SignatureError):
        adapter.verify(callback("completed", AnsweredBy="human"))  # signed with another token
