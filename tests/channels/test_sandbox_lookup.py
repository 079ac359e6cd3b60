"""Reconciling an ambiguous send: lookup finds a message the provider accepted (Twilio by
number and exact body, Aliyun by OutId, SendGrid by custom arg) and nothing for one it
never saw."""

from __future__ import annotations

import time

from orchestrator.domain import Channel
from tests.channels.channel_support import build, message


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_twilio_lookup_finds_the_sent_message(sandbox, receiver, http, system_clock) -> None:
    settings = {"base_url": f"{sandbox.base_url}/twilio", "from_number": "+15017122661"}
    adapter = build("twilio_sms", settings, http, system_clock)
    sent = message(callback_url=f"{receiver.url}/twilio_sms")
    receipt = adapter.send(sent)
    receiver.received.wait(2, path="twilio_sms")  # sent, then delivered

    found = adapter.lookup(sent)
    assert found is not None
    assert found.provider_message_id == receipt.provider_message_id
    assert adapter.lookup(message(attempt_ref="att-2", body="a text never sent")) is None


def test_aliyun_lookup_matches_outid(sandbox, receiver, http, system_clock) -> None:
    settings = {"base_url": f"{sandbox.base_url}/aliyun", "sign_name": "测试"}
    adapter = build("aliyun_sms", settings, http, system_clock)
    sent = message(to="+8613800138000", template="SMS_1")
    adapter.send(sent)

    found = adapter.lookup(sent)
    assert found is not None
    assert found.provider_message_id == "OutId:att-0001"
    assert (
        adapter.lookup(message(to="+8613800138000", template="SMS_1", attempt_ref="att-2")) is None
    )


def test_sendgrid_lookup_uses_email_activity(sandbox, receiver, http, system_clock) -> None:
    settings = {"base_url": f"{sandbox.base_url}/sendgrid", "from_address": "n@acme.example"}
    adapter = build("sendgrid_email", settings, http, system_clock)
    sent = message(channel=Channel.EMAIL, to="ann@example.org", subject="s")
    receipt = adapter.send(sent)

    found = adapter.lookup(sent)
    assert found is not None
    assert found.provider_message_id == receipt.provider_message_id
    other = message(channel=Channel.EMAIL, to="ann@example.org", subject="s", attempt_ref="att-2")
    assert adapter.lookup(other) is None
