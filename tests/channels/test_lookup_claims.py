"""Each adapter's claim that it can look a message up holds for its configuration: dispatch
resends whatever ``lookup`` says it never saw, so a lookup that cannot really ask must not
claim to (SendGrid without the Email Activity add-on), and one that can must search back far
enough to find a send reconciled late (Twilio, Aliyun)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl

import httpx
import pytest

from channels.registry import adapter_class
from orchestrator.domain import Channel
from orchestrator.errors import ConfigError, PermanentError
from tests.channels.channel_support import NOW, Pinned, build, message
from tests.channels.test_sandbox_faults import CASES

LOOKS_UP = {"twilio_sms", "aliyun_sms", "sendgrid_email", "lob_letter"}


def nothing_found(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json={"messages": [], "Code": "OK", "SmsSendDetailDTOs": {"SmsSendDetailDTO": []}},
    )


@pytest.mark.parametrize("provider", sorted(CASES))
def test_every_adapter_claims_lookup_only_when_it_has_one(
    credentials, sandbox, http, clock, provider
) -> None:
    settings, _ = CASES[provider]
    adapter = build(provider, settings(sandbox), http, clock)
    assert adapter.can_look_up is (provider in LOOKS_UP)
    if not adapter.can_look_up:
        with pytest.raises(PermanentError):  # never a "not found" that would mean "send again"
            adapter.lookup(message())


def test_sendgrid_without_email_activity_cannot_look_up(credentials, clock) -> None:
    pinned = Pinned(nothing_found)
    settings = {"base_url": "https://api.sendgrid.com", "from_address": "n@acme.example"}
    adapter = build("sendgrid_email", {**settings, "lookup": False}, pinned.client(), clock)
    assert adapter.supports_lookup  # SendGrid has the API ...
    assert not adapter.can_look_up  # ... but this account has not bought it
    with pytest.raises(PermanentError):
        adapter.lookup(message(channel=Channel.EMAIL, to="ann@example.org", subject="s"))
    assert pinned.requests == []
    assert build("sendgrid_email", settings, pinned.client(), clock).can_look_up


def test_twilio_searches_back_to_the_day_before_the_send_was_reserved(credentials, clock) -> None:
    pinned = Pinned(nothing_found)
    adapter = build(
        "twilio_sms",
        {"base_url": "https://api.twilio.com", "from_number": "+15017122661"},
        pinned.client(),
        clock,
    )
    reserved = (NOW - timedelta(days=5)).isoformat()
    assert adapter.lookup(message(tags={"reserved_at": reserved})) is None
    [request] = pinned.requests
    assert request.url.params["DateSent>"] == "2026-02-24"  # not just the last two days


def test_twilio_refuses_a_lookup_window_of_no_days(credentials, clock) -> None:
    with pytest.raises(ConfigError, match="lookup_days"):
        adapter_class("twilio_sms").from_config(
            {"from_number": "+15017122661", "lookup_days": 0}, http=httpx.Client(), clock=clock
        )


def test_aliyun_searches_every_day_since_the_send_was_reserved(credentials, clock) -> None:
    pinned = Pinned(nothing_found)
    adapter = build("aliyun_sms", {"sign_name": "测试"}, pinned.client(), clock)
    reserved = (NOW - timedelta(days=3)).isoformat()
    sms = message(to="+8613800138000", template="SMS_1", tags={"reserved_at": reserved})
    assert adapter.lookup(sms) is None
    days = [dict(parse_qsl(r.content.decode()))["SendDate"] for r in pinned.requests]
    # 22:05 in Beijing on 2 March: today back to the day before the reservation.
    assert days == ["20260302", "20260301", "20260228", "20260227", "20260226"]
