"""JPush: the push object and Basic auth, JPush's error codes, and delivery callbacks
authenticated with the same credentials."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from channels.base import WebhookRequest
from channels.signatures import basic_auth
from orchestrator.domain import Channel, DeliveryStatus
from orchestrator.errors import PermanentError, SignatureError, TransientError
from tests.channels.channel_support import Pinned, build, message

SETTINGS = {"base_url": "https://api.jpush.cn", "apns_production": False}


def push(**overrides):
    fields = {
        "channel": Channel.PUSH,
        "to": "1a0018970a8a5e4a2d1",
        "title": "还款提醒",
        "body": "您的账单已逾期",
        "callback_url": "https://orchestrator.example/v1/webhooks/jpush_push",
    }
    fields.update(overrides)
    return message(**fields)


def test_push_request_shape(credentials, clock) -> None:
    pinned = Pinned(
        lambda r: httpx.Response(200, json={"sendno": "1", "msg_id": "18100000000000001"})
    )
    receipt = build("jpush_push", SETTINGS, pinned.client(), clock).send(push())
    (request,) = pinned.requests
    assert str(request.url) == "https://api.jpush.cn/v3/push"
    credentials_b64 = base64.b64encode(b"jpush-app-key:jpush-master-secret").decode()
    assert request.headers["authorization"] == f"Basic {credentials_b64}"
    body = json.loads(request.content)
    assert body["platform"] == "all"
    assert body["audience"] == {"registration_id": ["1a0018970a8a5e4a2d1"]}
    assert body["notification"]["android"] == {
        "alert": "您的账单已逾期",
        "title": "还款提醒",
        "extras": {"attempt_ref": "att-0001"},
    }
    assert body["notification"]["ios"]["alert"] == {"title": "还款提醒", "body": "您的账单已逾期"}
    assert body["options"]["apns_production"] is False
    assert isinstance(body["options"]["sendno"], int)
    assert body["callback"] == {
        "params": {"attempt_ref": "att-0001"},
        "type": 3,
        "url": "https://orchestrator.example/v1/webhooks/jpush_push",
    }
    assert receipt.provider_message_id == "18100000000000001"


def test_sendno_is_stable_per_task(credentials, clock) -> None:
    pinned = Pinned(lambda r: httpx.Response(200, json={"sendno": "1", "msg_id": "1"}))
    adapter = build("jpush_push", SETTINGS, pinned.client(), clock)
    adapter.send(push())
    adapter.send(push())
    adapter.send(push(idempotency_key="task-0002"))
    numbers = [json.loads(r.content)["options"]["sendno"] for r in pinned.requests]
    assert numbers[0] == numbers[1] != numbers[2]


@pytest.mark.parametrize(
    ("status", "code", "kind", "invalid"),
    [
        (400, 1011, PermanentError, True),
        (400, 1003, PermanentError, False),
        (401, 1004, PermanentError, False),
        (429, 2002, TransientError, False),
        (500, 1000, TransientError, False),
        (503, 1000, TransientError, False),
    ],
)
def test_jpush_error_codes(credentials, clock, status, code, kind, invalid) -> None:
    pinned = Pinned(
        lambda r: httpx.Response(status, json={"error": {"code": code, "message": "x"}})
    )
    with pytest.raises(kind) as caught:
        build("jpush_push", SETTINGS, pinned.client(), clock).send(push())
    assert caught.value.code == str(code)
    if kind is PermanentError:
        assert caught.value.invalid_address is invalid


def callback(authorization: str | None, records: list[dict]) -> WebhookRequest:
    headers = {"authorization": authorization} if authorization else {}
    return WebhookRequest(
        "POST",
        "https://orchestrator.example/v1/webhooks/jpush_push",
        headers,
        json.dumps(records).encode(),
    )


RECORD = {
    "msg_id": "18100000000000001",
    "registration_id": "1a0018970a8a5e4a2d1",
    "platform": "android",
    "type": "delivered",
    "time": 1772460300,
    "params": {"attempt_ref": "att-0001"},
}


def test_callback_authorization_is_checked(credentials, clock) -> None:
    adapter = build("jpush_push", SETTINGS, httpx.Client(), clock)
    adapter.verify(callback(basic_auth("jpush-app-key", "jpush-master-secret"), [RECORD]))
    for wrong in (None, basic_auth("jpush-app-key", "guess"), "Bearer x"):
        with pytest.raises(SignatureError):
            adapter.verify(callback(wrong, [RECORD]))


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("delivered", DeliveryStatus.DELIVERED),
        ("undelivered", DeliveryStatus.UNDELIVERED),
        ("click", None),
    ],
)
def test_callback_records_map(credentials, clock, kind, status) -> None:
    adapter = build("jpush_push", SETTINGS, httpx.Client(), clock)
    (report,) = adapter.parse(callback(None, [{**RECORD, "type": kind}]))
    assert report.status is status
    assert report.attempt_ref == "att-0001"
    assert (
        report.dedupe_key == adapter.parse(callback(None, [{**RECORD, "type": kind}]))[0].dedupe_key
    )
