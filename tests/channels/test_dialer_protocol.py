"""Our dialer protocol: the signed call task, the signature scheme (timestamp + body,
HMAC-SHA256, stale timestamps refused), and the outcomes it reports."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import httpx
import pytest

from channels.base import ReportKind, WebhookRequest
from channels.signatures import dialer_sign, dialer_valid
from orchestrator.domain import CallOutcome, Channel, DeliveryStatus
from orchestrator.errors import PermanentError, SignatureError, TransientError
from tests.channels.channel_support import NOW, Pinned, build, message

SECRET = "dialer-shared-secret"
SETTINGS = {"base_url": "https://dialer.lender.example/api"}


def call(**overrides):
    fields = {
        "channel": Channel.CALL,
        "template": "agent_call_v2",
        "body": "Script text",
        "callback_url": "https://orchestrator.example/v1/webhooks/dialer_call",
        "tags": {
            "account_ref": "loan-88231",
            "window_opens_at": "2026-03-02T14:05:00Z",
            "window_closes_at": "2026-03-03T02:00:00Z",
        },
    }
    fields.update(overrides)
    return message(**fields)


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"a":1}'
    expected = hmac.new(SECRET.encode(), b"1772460300." + body, hashlib.sha256).hexdigest()
    assert dialer_sign(SECRET, 1772460300, body) == f"t=1772460300,v1={expected}"


def test_stale_future_and_tampered_signatures_fail() -> None:
    body = b'{"outcome":"no_answer"}'
    now = 1772460300.0
    header = dialer_sign(SECRET, int(now), body)
    assert dialer_valid(SECRET, header, body, now=now + 299, tolerance=300)
    assert not dialer_valid(SECRET, header, body, now=now + 301, tolerance=300)
    assert not dialer_valid(SECRET, header, body, now=now - 301, tolerance=300)
    assert not dialer_valid(
        SECRET, header, body.replace(b"no_answer", b"right_party_contact"), now=now, tolerance=300
    )
    assert not dialer_valid("other", header, body, now=now, tolerance=300)
    assert not dialer_valid(SECRET, "t=abc,v1=00", body, now=now, tolerance=300)
    assert not dialer_valid(SECRET, None, body, now=now, tolerance=300)


def test_a_second_signature_allows_secret_rotation() -> None:
    body = b"{}"
    old = dialer_sign("old-secret", 100, body).split("v1=")[1]
    new = dialer_sign(SECRET, 100, body).split("v1=")[1]
    assert dialer_valid(SECRET, f"t=100,v1={old},v1={new}", body, now=100, tolerance=300)


def test_call_task_request_shape(credentials, clock) -> None:
    pinned = Pinned(lambda r: httpx.Response(202, json={"task_id": "T-1"}))
    receipt = build("dialer_call", SETTINGS, pinned.client(), clock).send(call())
    (request,) = pinned.requests
    assert str(request.url) == "https://dialer.lender.example/api/tasks"
    assert request.headers["idempotency-key"] == "task-0001"
    assert dialer_valid(
        SECRET,
        request.headers["x-dialer-signature"],
        request.content,
        now=NOW.timestamp(),
        tolerance=1,
    )
    assert json.loads(request.content) == {
        "attempt_ref": "att-0001",
        "idempotency_key": "task-0001",
        "number": "+12125550123",
        "locale": "en-US",
        "script": "agent_call_v2",
        "text": "Script text",
        "limited_content": False,
        "account_reference": "loan-88231",
        "window": {"not_before": "2026-03-02T14:05:00Z", "not_after": "2026-03-03T02:00:00Z"},
        "callback_url": "https://orchestrator.example/v1/webhooks/dialer_call",
    }
    assert receipt.provider_message_id == "T-1"
    assert receipt.status is DeliveryStatus.QUEUED


@pytest.mark.parametrize(
    ("status", "body", "kind", "invalid"),
    [
        (422, {"code": "invalid_number"}, PermanentError, True),
        (400, {"code": "bad_json"}, PermanentError, False),
        (401, {"code": "bad_signature"}, PermanentError, False),
        (429, {"code": "rate_limited"}, TransientError, False),
        (503, {"code": "unavailable"}, TransientError, False),
    ],
)
def test_dialer_errors(credentials, clock, status, body, kind, invalid) -> None:
    pinned = Pinned(lambda r: httpx.Response(status, json=body))
    with pytest.raises(kind) as caught:
        build("dialer_call", SETTINGS, pinned.client(), clock).send(call())
    if kind is PermanentError:
        assert caught.value.invalid_address is invalid


def outcome_request(report: dict, *, at: int | None = None, secret: str = SECRET) -> WebhookRequest:
    body = json.dumps(report).encode()
    header = dialer_sign(secret, at if at is not None else int(NOW.timestamp()), body)
    return WebhookRequest(
        "POST",
        "https://orchestrator.example/v1/webhooks/dialer_call",
        {"x-dialer-signature": header},
        body,
    )


REPORT = {
    "event_id": "E-1",
    "task_id": "T-1",
    "attempt_ref": "att-0001",
    "outcome": "promise_to_pay",
    "occurred_at": "2026-03-02T15:00:00Z",
    "agent_id": "agent-7",
    "duration_seconds": 95,
    "promise": {"date": "2026-03-09", "amount": "300.00", "currency": "USD"},
}


def test_signed_outcome_verifies_and_stale_one_does_not(credentials, clock) -> None:
    adapter = build("dialer_call", SETTINGS, httpx.Client(), clock)
    adapter.verify(outcome_request(REPORT))
    with pytest.raises(SignatureError):
        adapter.verify(outcome_request(REPORT, at=int((NOW - timedelta(minutes=6)).timestamp())))
    with pytest.raises(SignatureError):
        adapter.verify(outcome_request(REPORT, secret="forger"))


def test_promise_to_pay_carries_date_and_amount(credentials, clock) -> None:
    adapter = build("dialer_call", SETTINGS, httpx.Client(), clock)
    (report,) = adapter.parse(outcome_request(REPORT))
    assert report.kind is ReportKind.CALL
    assert report.call_outcome is CallOutcome.PROMISE_TO_PAY
    assert report.attempt_ref == "att-0001"
    assert report.details["promise_date"] == "2026-03-09"
    assert report.details["promise_amount"] == "300.00"
    assert report.dedupe_key == "dialer_call:E-1"


@pytest.mark.parametrize(
    ("outcome", "ours", "status"),
    [
        ("no_answer", CallOutcome.NO_ANSWER, DeliveryStatus.UNDELIVERED),
        ("voicemail", CallOutcome.VOICEMAIL, DeliveryStatus.DELIVERED),
        ("right_party_contact", CallOutcome.RIGHT_PARTY_CONTACT, DeliveryStatus.DELIVERED),
        ("wrong_number", CallOutcome.WRONG_NUMBER, DeliveryStatus.DELIVERED),
        ("dispute", CallOutcome.DISPUTE, DeliveryStatus.DELIVERED),
        ("cease_request", CallOutcome.CEASE_REQUEST, DeliveryStatus.DELIVERED),
    ],
)
def test_every_outcome_maps(credentials, clock, outcome, ours, status) -> None:
    adapter = build("dialer_call", SETTINGS, httpx.Client(), clock)
    (report,) = adapter.parse(outcome_request({**REPORT, "outcome": outcome, "promise": None}))
    assert report.call_outcome is ours
    assert report.status is status
    assert report.invalid_address is (outcome == "wrong_number")
