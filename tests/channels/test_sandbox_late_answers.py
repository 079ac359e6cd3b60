"""The accept-after-timeout fault: the provider takes the message, but its answer comes after
the client gave up. Every adapter then raises a transient error that says the message may
have been delivered, and the sandbox's journal holds the message. A plain slowdown past the
client timeout, by contrast, is a message never received, and leaves no traceback behind."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from orchestrator.errors import TransientError
from tests.channels.channel_support import build, message
from tests.channels.test_sandbox_faults import CASES


def send(sandbox, http, clock, provider: str, fault: dict) -> TransientError:
    response = httpx.put(f"{sandbox.base_url}/_sandbox/faults/{provider}", json=fault)
    assert response.status_code == 200, response.text
    settings, fields = CASES[provider]
    adapter = build(provider, {**settings(sandbox), "timeout_seconds": 0.3}, http, clock)
    with pytest.raises(TransientError) as caught:
        adapter.send(message(**fields))
    return caught.value


@pytest.mark.parametrize("provider", sorted(CASES))
def test_a_late_answer_leaves_an_accepted_message_the_client_never_heard_of(
    sandbox, http, system_clock, provider
) -> None:
    error = send(sandbox, http, system_clock, provider, {"late_answer_rate": 1, "hang_seconds": 1})
    assert error.maybe_delivered  # so dispatch reconciles rather than resends
    [accepted] = sandbox.state.journal.entries(provider=provider, kind="message")
    if provider == "wechat_official":  # a template message carries its client_msg_id only
        assert accepted["idempotency_key"] == "task-0001"
    else:
        assert accepted["attempt_ref"] == "att-0001"


def test_a_slowdown_past_the_client_timeout_is_no_message_and_no_traceback(
    sandbox, http, system_clock, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    send(sandbox, http, system_clock, "twilio_sms", {"latency_ms": 600})
    time.sleep(0.6)  # let the server wake up and find its client gone
    httpx.get(f"{sandbox.base_url}/_sandbox/health").raise_for_status()
    assert sandbox.state.journal.entries(kind="message") == []
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


def test_the_fault_is_refused_out_of_range(sandbox) -> None:
    response = httpx.put(
        f"{sandbox.base_url}/_sandbox/faults/twilio_sms", json={"late_answer_rate": 2}
    )
    assert response.status_code == 422
    assert "late_answer_rate" in response.text
