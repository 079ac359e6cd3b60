"""With the platform's credentials a tenant sends as the platform: it cannot pick another
tenant's sender or switch off a safety setting (issue 18 §4).

Before: only settings whose names contain "url" were compared with the platform's, so a
tenant on the platform's accounts could send from any number, address, sign name or
template code, turn off STARTTLS or the Reg F limited-content voicemail control, and widen
the webhook tolerance windows.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.configuration import tenant_providers
from orchestrator.configuration.files import channels_from as parse_channels

from .conftest import HOSTILE, VICTIM, YAML, as_yaml, shipped


def platform() -> dict[str, Any]:
    return copy.deepcopy(shipped("channels.yaml"))


def provider(document: dict[str, Any], channel: str, index: int = 0) -> dict[str, Any]:
    block: dict[str, Any] = document["channels"][channel]["providers"][index]
    return block


def changed(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    document = platform()
    change(document)
    return document


def _use_code(settings: dict[str, Any], code: str) -> None:
    """Send the due-day text under another code (approved with the same words)."""
    texts = settings.get("approved_texts") or {}
    if settings["template_codes"]["due_today"] in texts:
        texts[code] = copy.deepcopy(texts[settings["template_codes"]["due_today"]])
    settings["template_codes"]["due_today"] = code


REFUSED = {
    "another tenant's number": (
        lambda d: provider(d, "sms")["settings"].update(from_number="+15005550007"),
        "channels.sms.providers[0].settings.from_number",
        "not a sender the platform allows acme",
    ),
    "another brand's sign name": (
        lambda d: provider(d, "sms", 1)["settings"].update(sign_name="别家金融"),
        "channels.sms.providers[1].settings.sign_name",
        "not a sender the platform allows acme",
    ),
    "another brand's template code": (
        lambda d: _use_code(provider(d, "sms", 1)["settings"], "SMS_999999999"),
        "channels.sms.providers[1].settings.template_codes",
        "not a sender the platform allows acme",
    ),
    "another sender address": (
        lambda d: provider(d, "email")["settings"].update(from_address="billing@rival.example"),
        "channels.email.providers[0].settings.from_address",
        "not a sender the platform allows acme",
    ),
    "the voicemail control switched off": (
        lambda d: provider(d, "call")["settings"].update(require_limited_content=False),
        "channels.call.providers[0].settings.require_limited_content",
        "never loosen it",
    ),
    "a wider dialer tolerance": (
        lambda d: provider(d, "call", 1)["settings"].update(tolerance_seconds=86_400),
        "channels.call.providers[1].settings.tolerance_seconds",
        "never loosen it",
    ),
    "a wider SendGrid report age": (
        lambda d: provider(d, "email")["settings"].update(webhook_max_age_seconds=10**7),
        "channels.email.providers[0].settings.webhook_max_age_seconds",
        "never loosen it",
    ),
    "another pinned setting": (
        lambda d: provider(d, "sms", 1)["settings"].update(region_id="cn-shanghai"),
        "channels.sms.providers[1].settings.region_id",
        "this setting is the platform's",
    ),
    "its own allow-list": (
        lambda d: provider(d, "sms").update(
            tenant_senders={"acme": {"from_number": ["+15005550007"]}}
        ),
        "channels.sms.providers[0].tenant_senders",
        "only the platform's config/channels.yaml declares",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_tenant_on_the_platforms_accounts_cannot_change_who_it_sends_as(
    hostile, config_source, case
):
    change, field, message = REFUSED[case]

    response = hostile.put("/v1/config/channels", content=as_yaml(changed(change)), headers=YAML)

    assert response.status_code == 422, response.text
    problems = {p["field"]: p["message"] for p in response.json()["error"]["problems"]}
    assert field in problems, problems
    assert message in problems[field]
    assert config_source.get().tenant_channels == {}


def test_safe_per_tenant_settings_and_tightening_are_accepted(hostile):
    def tighten(document: dict[str, Any]) -> None:
        provider(document, "sms")["settings"].update(timeout_seconds=5)
        provider(document, "call", 1)["settings"].update(tolerance_seconds=60)
        provider(document, "email")["settings"].update(webhook_max_age_seconds=3600)

    response = hostile.put("/v1/config/channels", content=as_yaml(changed(tighten)), headers=YAML)

    assert response.status_code == 200, response.text


def test_a_tenants_own_account_cannot_switch_off_the_voicemail_control_either(hostile, monkeypatch):
    monkeypatch.setenv("ACME__TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("ACME__TWILIO_AUTH_TOKEN", "t" * 32)

    def own(document: dict[str, Any]) -> None:
        provider(document, "call")["settings"].update(
            base_url="https://api.twilio.com",
            account_sid_env="ACME__TWILIO_ACCOUNT_SID",
            auth_token_env="ACME__TWILIO_AUTH_TOKEN",
            from_number="+15005550009",
            require_limited_content=False,
        )

    response = hostile.put("/v1/config/channels", content=as_yaml(changed(own)), headers=YAML)

    assert response.status_code == 422, response.text
    [problem] = response.json()["error"]["problems"]
    assert problem["field"] == "channels.call.providers[0].settings.require_limited_content"


def test_the_platform_allows_each_tenant_its_own_senders_and_no_one_elses():
    platform_document = platform()
    twilio = provider(platform_document, "sms")
    twilio["tenant_senders"] = {
        HOSTILE: {"from_number": ["+15005550007"]},
        VICTIM: {"from_number": ["+15005550008"]},
    }
    platform_config = parse_channels(platform_document, "config/channels.yaml")

    def sending_from(number: str) -> Any:
        document = platform()
        provider(document, "sms")["settings"].update(from_number=number)
        return parse_channels(document, "acme channels")

    assert tenant_providers.problems(sending_from("+15005550007"), platform_config, HOSTILE) == []
    assert tenant_providers.problems(sending_from("+15005550006"), platform_config, HOSTILE) == []
    [problem] = tenant_providers.problems(sending_from("+15005550008"), platform_config, HOSTILE)
    assert problem.path == "channels.sms.providers[0].settings.from_number"
