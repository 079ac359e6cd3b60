"""Lob: the create-letter request (multipart form, Basic auth, Idempotency-Key, a PDF), its
errors, the signed tracking webhook (HMAC recomputed here as the oracle) and the events
moving an attempt forward; and the round trip through the sandbox over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from email.parser import BytesParser
from email.policy import HTTP

import httpx
import pytest

from channels.base import ReportKind, WebhookRequest
from orchestrator.channel_types.addresses import PostalAddress
from orchestrator.domain import Channel, DeliveryStatus
from orchestrator.errors import PermanentError, SignatureError, TransientError
from tests.channels.channel_support import NOW, Pinned, build, journal_lines, message

SETTINGS = {
    "base_url": "https://api.lob.com",
    "sender_name": "Acme Lending",
    "sender_line1": "1 Main St",
    "sender_city": "Wilmington",
    "sender_state": "DE",
    "sender_zip": "19801",
    "letterhead_contact": "+1 302 555 0100",
}
ANN = PostalAddress(
    name="Ann Lee",
    line1="350 Fifth Avenue",
    line2="Apt 5",
    city="New York",
    region="NY",
    postal_code="10118",
    country="US",
)


def letter(**overrides):
    fields = {
        "channel": Channel.LETTER,
        "to": ANN.text(),
        "subject": "Final notice: account LN-1 remains past due",
        "body": "Dear Ann Lee,\n\nThe payment is past due.\n\nThis communication is from a "
        "debt collector.",
        "callback_url": None,
    }
    fields.update(overrides)
    return message(**fields)


def created(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"id": "ltr_4868c3b754655f90", "object": "letter"})


def form_of(request: httpx.Request) -> tuple[dict[str, str], dict[str, bytes]]:
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    parsed = BytesParser(policy=HTTP).parsebytes(head + request.content)
    fields, files = {}, {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename():
            files[name] = part.get_payload(decode=True)
        else:
            fields[name] = part.get_payload(decode=True).decode()
    return fields, files


def test_create_letter_request_shape(credentials, clock) -> None:
    pinned = Pinned(created)
    receipt = build("lob_letter", SETTINGS, pinned.client(), clock).send(letter())
    (request,) = pinned.requests
    assert (request.method, str(request.url)) == ("POST", "https://api.lob.com/v1/letters")
    scheme, _, value = request.headers["authorization"].partition(" ")
    user, _, password = base64.b64decode(value).decode().partition(":")
    assert scheme == "Basic"
    assert (user, password) == (credentials["LOB_API_KEY"], "")
    assert request.headers["idempotency-key"] == "task-0001"
    fields, files = form_of(request)
    assert fields == {
        "description": "attempt att-0001",
        "to[name]": "Ann Lee",
        "to[address_line1]": "350 Fifth Avenue",
        "to[address_line2]": "Apt 5",
        "to[address_city]": "New York",
        "to[address_state]": "NY",
        "to[address_zip]": "10118",
        "to[address_country]": "US",
        "from[name]": "Acme Lending",
        "from[address_line1]": "1 Main St",
        "from[address_city]": "Wilmington",
        "from[address_state]": "DE",
        "from[address_zip]": "19801",
        "from[address_country]": "US",
        "color": "false",
        "use_type": "operational",
        "mail_type": "usps_first_class",
        "address_placement": "insert_blank_page",
        "metadata[attempt_ref]": "att-0001",
    }
    assert files["file"].startswith(b"%PDF-")
    assert b"/MediaBox [0 0 612.00 792.00]" in files["file"]  # US Letter, Lob's only size
    assert receipt.provider_message_id == "ltr_4868c3b754655f90"


@pytest.mark.parametrize(
    ("status", "code", "kind", "dead"),
    [
        (422, "failed_deliverability_strictness", PermanentError, True),
        (422, "invalid", PermanentError, False),
        (401, "unauthorized", PermanentError, False),
        (429, "rate_limit_exceeded", TransientError, False),
        (500, "internal_server_error", TransientError, False),
    ],
)
def test_errors_by_meaning(credentials, clock, status, code, kind, dead) -> None:
    body = {"error": {"message": "no", "status_code": status, "code": code}}
    pinned = Pinned(lambda r: httpx.Response(status, json=body))
    with pytest.raises(kind) as raised:
        build("lob_letter", SETTINGS, pinned.client(), clock).send(letter())
    if isinstance(raised.value, PermanentError):
        assert raised.value.invalid_address is dead


def event(kind: str, **body) -> bytes:
    return json.dumps(
        {
            "id": f"evt_{kind}",
            "object": "event",
            "reference_id": "ltr_1",
            "event_type": {"id": kind, "resource": "letters", "object": "event_type"},
            "body": {"id": "ltr_1", "metadata": {"attempt_ref": "att-0001"}, **body},
        }
    ).encode()


def signed(body: bytes, secret: str, timestamp: str) -> WebhookRequest:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return WebhookRequest(
        url="https://orchestrator.example/v1/webhooks/lob_letter",
        method="POST",
        headers={
            "content-type": "application/json",
            "lob-signature": mac.hexdigest(),
            "lob-signature-timestamp": timestamp,
        },
        body=body,
    )


@pytest.mark.parametrize(
    ("kind", "status", "dead"),
    [
        ("letter.mailed", DeliveryStatus.SENT, False),
        ("letter.in_transit", DeliveryStatus.SENT, False),
        ("letter.delivered", DeliveryStatus.DELIVERED, False),
        ("letter.returned_to_sender", DeliveryStatus.UNDELIVERED, True),
    ],
)
def test_signed_events_move_the_attempt_forward(credentials, clock, kind, status, dead) -> None:
    adapter = build("lob_letter", SETTINGS, httpx.Client(), clock)
    stamp = str(int(NOW.timestamp() * 1000))
    request = signed(event(kind), credentials["LOB_WEBHOOK_SECRET"], stamp)
    adapter.verify(request)
    (report,) = adapter.parse(request)
    assert report.kind is ReportKind.DELIVERY
    assert (report.attempt_ref, report.provider_message_id) == ("att-0001", "ltr_1")
    assert report.status is status
    assert report.invalid_address is dead
    assert report.details["event"] == kind.removeprefix("letter.")


def test_a_wrong_signature_or_stale_timestamp_is_refused(credentials, clock) -> None:
    adapter = build("lob_letter", SETTINGS, httpx.Client(), clock)
    body = event("letter.delivered")
    fresh = str(int(NOW.timestamp()))
    with pytest.raises(SignatureError, match="does not match"):
        adapter.verify(signed(body, "another-secret", fresh))
    tampered = signed(body, credentials["LOB_WEBHOOK_SECRET"], fresh)
    with pytest.raises(SignatureError, match="does not match"):
        adapter.verify(
            WebhookRequest(
                method=tampered.method, url=tampered.url, headers=tampered.headers, body=body + b" "
            )
        )
    stale = str(int(NOW.timestamp()) - 2 * 86_400)
    with pytest.raises(SignatureError, match="stale"):
        adapter.verify(signed(body, credentials["LOB_WEBHOOK_SECRET"], stale))


def test_sandbox_round_trip_delivered(sandbox, receiver, http, system_clock) -> None:
    settings = {**SETTINGS, "base_url": f"{sandbox.base_url}/lob"}
    adapter = build("lob_letter", settings, http, system_clock)
    receipt = adapter.send(letter())
    again = adapter.send(letter())  # the same Idempotency-Key: the same letter
    assert again.provider_message_id == receipt.provider_message_id
    (entry,) = [
        e
        for e in journal_lines(sandbox.log)
        if e["provider"] == "lob_letter" and e["kind"] == "message"
    ]
    assert entry["attempt_ref"] == "att-0001"
    requests = receiver.received.wait(4, path="lob_letter")
    reports = []
    for request in requests:
        adapter.verify(request)
        reports.extend(adapter.parse(request))
    assert [r.details["event"] for r in reports] == [
        "created",
        "mailed",
        "in_transit",
        "delivered",
    ]
    assert reports[-1].status is DeliveryStatus.DELIVERED
    found = adapter.lookup(letter())
    assert found is not None
    assert found.provider_message_id == receipt.provider_message_id


def test_sandbox_returns_a_letter_and_fails_on_demand(sandbox, receiver, http, system_clock):
    settings = {**SETTINGS, "base_url": f"{sandbox.base_url}/lob"}
    adapter = build("lob_letter", settings, http, system_clock)
    sandbox.state.borrowers.rates = sandbox.state.borrowers.rates.model_copy(
        update={"returned": 1.0}
    )
    adapter.send(letter())
    last = receiver.received.wait(4, path="lob_letter")[-1]
    adapter.verify(last)
    (report,) = adapter.parse(last)
    assert report.status is DeliveryStatus.UNDELIVERED
    assert report.invalid_address
    fault = http.put(f"{sandbox.base_url}/_sandbox/faults/lob_letter", json={"permanent_rate": 1})
    assert fault.status_code == 200, fault.text
    with pytest.raises(PermanentError) as refused:
        adapter.send(letter(attempt_ref="att-0002", idempotency_key="task-0002"))
    assert refused.value.invalid_address
