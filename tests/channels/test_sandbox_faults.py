"""Fault injection over real HTTP surfaces as the right error class: 5xx and 429 (with
Retry-After) are transient, a hang past the client timeout is transient, an invalid number
is permanent, a provider that is down is transient."""

from __future__ import annotations

import httpx
import pytest

from orchestrator.domain import Channel
from orchestrator.errors import PermanentError, TransientError
from tests.channels.channel_support import build, message
from tests.channels.test_lob_letter_adapter import ANN
from tests.channels.test_lob_letter_adapter import SETTINGS as LOB
from tests.channels.test_wechat_official_adapter import OPENID, PARAMS
from tests.channels.test_wechat_official_adapter import SETTINGS as WECHAT

CASES = {
    "twilio_sms": (
        lambda s: {"base_url": f"{s.base_url}/twilio", "from_number": "+15017122661"},
        {},
    ),
    "aliyun_sms": (
        lambda s: {"base_url": f"{s.base_url}/aliyun", "sign_name": "测试"},
        {"to": "+8613800138000", "template": "SMS_1"},
    ),
    "sendgrid_email": (
        lambda s: {"base_url": f"{s.base_url}/sendgrid", "from_address": "n@acme.example"},
        {"channel": Channel.EMAIL, "to": "ann@example.org", "subject": "s"},
    ),
    "fcm_push": (
        lambda s: {"base_url": f"{s.base_url}/fcm", "token_url": f"{s.base_url}/fcm/token"},
        {"channel": Channel.PUSH, "to": "device-1"},
    ),
    "jpush_push": (
        lambda s: {"base_url": f"{s.base_url}/jpush"},
        {"channel": Channel.PUSH, "to": "device-1"},
    ),
    "dialer_call": (lambda s: {"base_url": f"{s.base_url}/dialer"}, {"channel": Channel.CALL}),
    "twilio_voice": (
        lambda s: {"base_url": f"{s.base_url}/twilio", "from_number": "+15017122661"},
        {"channel": Channel.CALL, "limited_content": True},
    ),
    # The letters' print-and-mail API and the WeChat Official Account fail on demand too.
    "lob_letter": (
        lambda s: {**LOB, "base_url": f"{s.base_url}/lob"},
        {
            "channel": Channel.LETTER,
            "to": ANN.text(),
            "subject": "Final notice",
            "body": "Dear Ann Lee,\n\nThe payment is past due.",
            "callback_url": None,
        },
    ),
    "wechat_official": (
        lambda s: {**WECHAT, "base_url": f"{s.base_url}/wechat"},
        {
            "channel": Channel.WECHAT,
            "to": OPENID,
            "body": "王芳您好，您的借款已逾期。",
            "template": "overdue_notice",
            "template_params": PARAMS,
            "disclosures": ("opt_out",),
            "callback_url": None,
        },
    ),
    "smtp_email": (
        lambda s: {
            "base_url": f"smtp://{s.smtp_host}:{s.smtp_port}",
            "from_address": "n@acme.example",
        },
        {"channel": Channel.EMAIL, "to": "ann@example.org", "subject": "s"},
    ),
}


def send_with_fault(sandbox, http, clock, provider: str, fault: dict, *, timeout: float = 10.0):
    response = httpx.put(f"{sandbox.base_url}/_sandbox/faults/{provider}", json=fault)
    assert response.status_code == 200
    settings, fields = CASES[provider]
    adapter = build(provider, {**settings(sandbox), "timeout_seconds": timeout}, http, clock)
    adapter.send(message(**fields))


@pytest.mark.parametrize("provider", sorted(CASES))
def test_server_errors_are_transient(sandbox, http, system_clock, provider) -> None:
    with pytest.raises(TransientError):
        send_with_fault(sandbox, http, system_clock, provider, {"error_rate": 1.0})


@pytest.mark.parametrize("provider", sorted(CASES))
def test_throttling_is_transient(sandbox, http, system_clock, provider) -> None:
    with pytest.raises(TransientError) as caught:
        send_with_fault(
            sandbox, http, system_clock, provider, {"throttle_rate": 1.0, "retry_after_seconds": 9}
        )
    # Aliyun, SMTP and WeChat signal flow control in the body (WeChat: errcode 45009).
    if provider not in ("aliyun_sms", "smtp_email", "wechat_official"):
        assert caught.value.retry_after == 9.0


@pytest.mark.parametrize("provider", sorted(CASES))
def test_permanent_refusals_are_permanent(sandbox, http, system_clock, provider) -> None:
    with pytest.raises(PermanentError) as caught:
        send_with_fault(sandbox, http, system_clock, provider, {"permanent_rate": 1.0})
    if provider == "wechat_official":  # 43101: the user refuses the account's messages
        assert caught.value.opted_out
    else:
        assert caught.value.invalid_address


@pytest.mark.parametrize(
    "provider", ["twilio_sms", "sendgrid_email", "smtp_email", "lob_letter", "wechat_official"]
)
def test_a_hang_past_the_client_timeout_is_transient(sandbox, http, system_clock, provider) -> None:
    with pytest.raises(TransientError):
        send_with_fault(
            sandbox,
            http,
            system_clock,
            provider,
            {"timeout_rate": 1.0, "hang_seconds": 5},
            timeout=0.3,
        )


@pytest.mark.parametrize("provider", ["jpush_push", "dialer_call", "lob_letter", "wechat_official"])
def test_a_provider_that_is_down_is_transient(sandbox, http, system_clock, provider) -> None:
    with pytest.raises(TransientError):
        send_with_fault(sandbox, http, system_clock, provider, {"down": True})


def test_nothing_is_logged_for_a_refused_request(sandbox, http, system_clock) -> None:
    with pytest.raises(TransientError):
        send_with_fault(sandbox, http, system_clock, "twilio_sms", {"error_rate": 1.0})
    assert httpx.get(f"{sandbox.base_url}/_sandbox/log", params={"kind": "message"}).json() == []


def test_faults_clear_and_a_retry_succeeds(sandbox, http, system_clock) -> None:
    with pytest.raises(TransientError):
        send_with_fault(sandbox, http, system_clock, "twilio_sms", {"error_rate": 1.0})
    httpx.delete(f"{sandbox.base_url}/_sandbox/faults")
    send_with_fault(sandbox, http, system_clock, "twilio_sms", {})
    assert (
        len(
            httpx.get(
                f"{sandbox.base_url}/_sandbox/log",
                params={"provider": "twilio_sms", "kind": "message"},
            ).json()
        )
        == 1
    )


def test_a_closed_port_is_transient(credentials, http, system_clock) -> None:
    adapter = build(
        "twilio_sms",
        {"base_url": "http://127.0.0.1:9/twilio", "from_number": "+15017122661"},
        http,
        system_clock,
    )
    with pytest.raises(TransientError) as caught:
        adapter.send(message())
    assert caught.value.code == "connection"


def test_unknown_provider_and_bad_rates_are_refused(sandbox) -> None:
    assert httpx.put(f"{sandbox.base_url}/_sandbox/faults/nosuch", json={}).status_code == 404
    assert (
        httpx.put(
            f"{sandbox.base_url}/_sandbox/faults/twilio_sms", json={"error_rate": 2}
        ).status_code
        == 422
    )
