"""A borrower who replies STOP (退订 on Aliyun, unsubscribe on SendGrid): the sandbox posts
the reply, signed, and the adapter reads it as an opt-out."""

from __future__ import annotations

import httpx

from channels.base import ReportKind
from orchestrator.domain import Channel
from tests.channels.channel_support import build, message


def everyone_opts_out(sandbox) -> None:
    """Every message is delivered and answered with an opt-out: left at their defaults, the
    sandbox's 5 % undelivered and 3 % bounce rates would drop the reply now and then."""
    rates = {"delivered": 1.0, "bounced": 0.0, "stop_reply": 1.0}
    assert httpx.put(f"{sandbox.base_url}/_sandbox/outcomes", json=rates).status_code == 200


def test_twilio_stop_reply_is_signed_and_an_opt_out(sandbox, receiver, http, system_clock) -> None:
    everyone_opts_out(sandbox)
    settings = {"base_url": f"{sandbox.base_url}/twilio", "from_number": "+15017122661"}
    adapter = build("twilio_sms", settings, http, system_clock)
    adapter.send(message(callback_url=f"{receiver.url}/twilio_sms?tenant=t1"))

    requests = receiver.received.wait(3, path="twilio_sms")
    for request in requests:
        adapter.verify(request)
    inbound = [
        r for request in requests for r in adapter.parse(request) if r.kind is ReportKind.INBOUND
    ]
    assert len(inbound) == 1
    assert inbound[0].opted_out
    assert inbound[0].sender == "+12125550123"
    assert inbound[0].recipient == "+15017122661"


def test_aliyun_uplink_unsubscribe(sandbox, receiver, http, system_clock) -> None:
    everyone_opts_out(sandbox)
    adapter = build(
        "aliyun_sms",
        {"base_url": f"{sandbox.base_url}/aliyun", "sign_name": "测试"},
        http,
        system_clock,
    )
    adapter.send(message(to="+8613800138000", template="SMS_1"))

    requests = receiver.received.wait(2, path="aliyun_sms")
    reports = []
    for request in requests:
        adapter.verify(request)
        reports.extend(adapter.parse(request))
    (reply,) = [r for r in reports if r.kind is ReportKind.INBOUND]
    assert reply.opted_out
    assert reply.text == "退订"
    assert reply.sender == "+8613800138000"


def test_sendgrid_unsubscribe_event(sandbox, receiver, http, system_clock) -> None:
    everyone_opts_out(sandbox)
    settings = {"base_url": f"{sandbox.base_url}/sendgrid", "from_address": "n@acme.example"}
    adapter = build("sendgrid_email", settings, http, system_clock)
    adapter.send(message(channel=Channel.EMAIL, to="ann@example.org", subject="s"))

    requests = receiver.received.wait(3, path="sendgrid_email")
    reports = []
    for request in requests:
        adapter.verify(request)
        reports.extend(adapter.parse(request))
    assert [r.opted_out for r in reports] == [False, False, True]
    assert reports[-1].attempt_ref == "att-0001"


def test_email_bounce_marks_the_address(sandbox, receiver, http, system_clock) -> None:
    assert (
        httpx.put(f"{sandbox.base_url}/_sandbox/outcomes", json={"bounced": 1.0}).status_code == 200
    )
    settings = {"base_url": f"{sandbox.base_url}/sendgrid", "from_address": "n@acme.example"}
    adapter = build("sendgrid_email", settings, http, system_clock)
    adapter.send(message(channel=Channel.EMAIL, to="ann@example.org", subject="s"))

    reports = [
        r
        for request in receiver.received.wait(2, path="sendgrid_email")
        for r in adapter.parse(request)
    ]
    assert reports[-1].invalid_address
