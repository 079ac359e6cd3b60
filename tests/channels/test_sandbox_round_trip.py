"""Real HTTP: each adapter sends to the in-process sandbox, the message lands in the JSON
Lines log, and the provider's signed callback reaches a local receiver and passes the
adapter's own verify()."""

from __future__ import annotations

import httpx

from channels.base import ReportKind
from orchestrator.domain import CallOutcome, Channel, DeliveryStatus
from tests.channels.channel_support import build, journal_lines, message


def settings_for(name: str, sandbox, **extra) -> dict:
    base = {
        "twilio_sms": {"base_url": f"{sandbox.base_url}/twilio", "from_number": "+15017122661"},
        "twilio_voice": {"base_url": f"{sandbox.base_url}/twilio", "from_number": "+15017122661"},
        "aliyun_sms": {"base_url": f"{sandbox.base_url}/aliyun", "sign_name": "催收测试"},
        "sendgrid_email": {
            "base_url": f"{sandbox.base_url}/sendgrid",
            "from_address": "n@acme.example",
        },
        "fcm_push": {
            "base_url": f"{sandbox.base_url}/fcm",
            "token_url": f"{sandbox.base_url}/fcm/token",
        },
        "jpush_push": {"base_url": f"{sandbox.base_url}/jpush"},
        "dialer_call": {"base_url": f"{sandbox.base_url}/dialer"},
        "smtp_email": {
            "base_url": f"smtp://{sandbox.smtp_host}:{sandbox.smtp_port}",
            "from_address": "n@acme.example",
        },
    }[name]
    return {**base, **extra}


def logged(sandbox, provider: str) -> list[dict]:
    return [
        e
        for e in journal_lines(sandbox.log)
        if e["provider"] == provider and e["kind"] == "message"
    ]


def verified_reports(adapter, requests):
    reports = []
    for request in requests:
        adapter.verify(request)
        reports.extend(adapter.parse(request))
    return reports


def test_twilio_sms_round_trip(sandbox, receiver, http, system_clock) -> None:
    adapter = build("twilio_sms", settings_for("twilio_sms", sandbox), http, system_clock)
    receipt = adapter.send(message(callback_url=f"{receiver.url}/twilio_sms"))

    (entry,) = logged(sandbox, "twilio_sms")
    assert entry["attempt_ref"] == "att-0001"
    assert entry["to"] == "+12125550123"
    assert entry["provider_message_id"] == receipt.provider_message_id
    reports = verified_reports(adapter, receiver.received.wait(2, path="twilio_sms"))
    assert [r.status for r in reports] == [DeliveryStatus.SENT, DeliveryStatus.DELIVERED]
    assert {r.attempt_ref for r in reports} == {"att-0001"}


def test_aliyun_sms_round_trip(sandbox, receiver, http, system_clock) -> None:
    adapter = build("aliyun_sms", settings_for("aliyun_sms", sandbox), http, system_clock)
    adapter.send(message(to="+8613800138000", template="SMS_1", template_params={"amount": "¥100"}))

    (entry,) = logged(sandbox, "aliyun_sms")
    assert entry["to"] == "13800138000"
    assert entry["template_params"] == {"amount": "¥100"}
    (report,) = verified_reports(adapter, receiver.received.wait(1, path="aliyun_sms"))
    assert report.attempt_ref == "att-0001"
    assert report.status is DeliveryStatus.DELIVERED


def test_sendgrid_round_trip(sandbox, receiver, http, system_clock) -> None:
    adapter = build("sendgrid_email", settings_for("sendgrid_email", sandbox), http, system_clock)
    receipt = adapter.send(message(channel=Channel.EMAIL, to="ann@example.org", subject="Past due"))

    (entry,) = logged(sandbox, "sendgrid_email")
    assert entry["attempt_ref"] == "att-0001"
    reports = verified_reports(adapter, receiver.received.wait(2, path="sendgrid_email"))
    assert [r.status for r in reports] == [DeliveryStatus.QUEUED, DeliveryStatus.DELIVERED]
    assert {r.provider_message_id for r in reports} == {receipt.provider_message_id}


def test_smtp_round_trip(sandbox, http, system_clock) -> None:
    adapter = build("smtp_email", settings_for("smtp_email", sandbox), http, system_clock)
    receipt = adapter.send(message(channel=Channel.EMAIL, to="ann@example.org", subject="Past due"))

    (entry,) = logged(sandbox, "smtp_email")
    assert entry["attempt_ref"] == "att-0001"
    assert entry["provider_message_id"] == receipt.provider_message_id
    assert entry["body"] == "Your payment of $125.00 is overdue. Reply STOP to opt out."
    assert entry["subject"] == "Past due"


def test_fcm_round_trip(sandbox, http, system_clock) -> None:
    adapter = build("fcm_push", settings_for("fcm_push", sandbox), http, system_clock)
    receipt = adapter.send(message(channel=Channel.PUSH, to="device-token-1", title="Due"))

    (entry,) = logged(sandbox, "fcm_push")
    assert entry["attempt_ref"] == "att-0001"
    assert receipt.provider_message_id.startswith("projects/lender-app/messages/")


def test_jpush_round_trip(sandbox, receiver, http, system_clock) -> None:
    adapter = build("jpush_push", settings_for("jpush_push", sandbox), http, system_clock)
    adapter.send(message(channel=Channel.PUSH, to="1a0018970a8a5e4a2d1", callback_url=None))

    (entry,) = logged(sandbox, "jpush_push")
    assert entry["attempt_ref"] == "att-0001"
    (report,) = verified_reports(adapter, receiver.received.wait(1, path="jpush_push"))
    assert report.status is DeliveryStatus.DELIVERED
    assert report.attempt_ref == "att-0001"


def test_twilio_voice_round_trip(sandbox, receiver, http, system_clock) -> None:
    rates = {"call_human": 1.0, "call_machine": 0.0, "call_no_answer": 0.0}
    assert httpx.put(f"{sandbox.base_url}/_sandbox/outcomes", json=rates).status_code == 200
    adapter = build("twilio_voice", settings_for("twilio_voice", sandbox), http, system_clock)
    adapter.send(
        message(
            channel=Channel.CALL, limited_content=True, callback_url=f"{receiver.url}/twilio_voice"
        )
    )

    (entry,) = logged(sandbox, "twilio_voice")
    assert entry["body"] == "Your payment of $125.00 is overdue. Reply STOP to opt out."
    reports = verified_reports(adapter, receiver.received.wait(4, path="twilio_voice"))
    assert reports[-1].kind is ReportKind.CALL
    assert reports[-1].call_outcome is CallOutcome.RIGHT_PARTY_CONTACT


def test_dialer_round_trip(sandbox, receiver, http, system_clock) -> None:
    others = ("right_party_contact", "voicemail", "wrong_number", "dispute", "cease_request")
    rates = {"dialer_promise_to_pay": 1.0, **{f"dialer_{name}": 0.0 for name in others}}
    assert httpx.put(f"{sandbox.base_url}/_sandbox/outcomes", json=rates).status_code == 200
    adapter = build("dialer_call", settings_for("dialer_call", sandbox), http, system_clock)
    first = adapter.send(message(channel=Channel.CALL, callback_url=f"{receiver.url}/dialer_call"))
    again = adapter.send(message(channel=Channel.CALL, callback_url=f"{receiver.url}/dialer_call"))

    assert again.provider_message_id == first.provider_message_id  # deduplicated on Idempotency-Key
    (entry,) = logged(sandbox, "dialer_call")
    assert entry["idempotency_key"] == "task-0001"
    (report,) = verified_reports(adapter, receiver.received.wait(1, path="dialer_call"))
    assert report.call_outcome is CallOutcome.PROMISE_TO_PAY
    assert report.details["promise_amount"] == "100.00"
