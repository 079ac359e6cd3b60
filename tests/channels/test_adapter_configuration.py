"""Adapters are found through the entry-point registry and built from config/channels.yaml;
a bad field or a missing credential is refused with the path to what is wrong."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from channels.registry import adapter_class, adapters
from orchestrator.clock import SystemClock
from orchestrator.configuration.source import interpolate
from orchestrator.domain import Channel
from orchestrator.errors import ConfigError

CONFIG = Path(__file__).resolve().parents[2] / "config" / "channels.yaml"
EXPECTED = {
    "twilio_sms": Channel.SMS,
    "aliyun_sms": Channel.SMS,
    "smtp_email": Channel.EMAIL,
    "sendgrid_email": Channel.EMAIL,
    "fcm_push": Channel.PUSH,
    "jpush_push": Channel.PUSH,
    "twilio_voice": Channel.CALL,
    "dialer_call": Channel.CALL,
    "lob_letter": Channel.LETTER,
    "wechat_official": Channel.WECHAT,
    "field_queue": Channel.VISIT,
}


def test_every_builtin_adapter_is_registered() -> None:
    found = adapters()
    for name, channel in EXPECTED.items():
        assert found[name].name == name
        assert found[name].channel is channel


def test_unknown_adapter_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        adapter_class("carrier_pigeon")
    assert "twilio_sms" in str(caught.value)


def test_default_config_builds_every_adapter(credentials) -> None:
    # Read as the service reads it: ${NAME:-default} resolved (here with no overrides set).
    document = yaml.safe_load(interpolate(CONFIG.read_text(encoding="utf-8"), str(CONFIG), env={}))
    built = []
    with httpx.Client() as http:
        for channel, block in document["channels"].items():
            for index, provider in enumerate(block["providers"]):
                cls = adapter_class(provider["adapter"])
                assert cls.channel == channel
                path = f"channels.{channel}.providers[{index}].settings"
                adapter = cls.from_config(
                    provider["settings"], http=http, clock=SystemClock(), path=path
                )
                assert adapter.settings.base_url.startswith(
                    ("http://127.0.0.1:8900", "smtp://127.0.0.1", "queue:")  # queue: no network
                )
                assert set(provider) >= {"rate_limit", "breaker", "retry"}
                built.append(adapter.name)
    assert sorted(built) == sorted(EXPECTED)
    # print_batch is registered but not in the default file: it writes to a local folder.
    assert adapters()["print_batch"].channel is Channel.LETTER


def test_default_config_holds_no_secret_values(credentials) -> None:
    text = CONFIG.read_text(encoding="utf-8")
    for value in credentials.values():
        assert value not in text


def test_bad_fields_are_reported_with_their_path(credentials) -> None:
    settings = {"base_url": "http://x", "from_numbr": "+1", "timeout_seconds": "soon"}
    with pytest.raises(ConfigError) as caught:
        adapter_class("twilio_sms").from_config(
            settings,
            http=httpx.Client(),
            clock=SystemClock(),
            path="channels.sms.providers[0].settings",
        )
    paths = {problem.path for problem in caught.value.problems}
    assert "channels.sms.providers[0].settings.from_numbr" in paths
    assert "channels.sms.providers[0].settings.timeout_seconds" in paths


def test_a_missing_credential_names_the_variable(credentials, monkeypatch) -> None:
    monkeypatch.delenv("SENDGRID_API_KEY")
    with pytest.raises(ConfigError) as caught:
        adapter_class("sendgrid_email").from_config(
            {"from_address": "n@acme.example"}, http=httpx.Client(), clock=SystemClock()
        )
    assert "SENDGRID_API_KEY" in str(caught.value)


def test_a_malformed_public_key_is_a_config_error(credentials, monkeypatch) -> None:
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", "bm90IGEga2V5")
    with pytest.raises(ConfigError):
        adapter_class("sendgrid_email").from_config(
            {"from_address": "n@acme.example"}, http=httpx.Client(), clock=SystemClock()
        )


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("twilio_sms", {}),  # needs from_number or messaging_service_sid
        ("smtp_email", {"base_url": "http://not-smtp", "from_address": "a@b"}),
        ("aliyun_sms", {}),  # needs sign_name
    ],
)
def test_invalid_settings_are_refused(credentials, name, settings) -> None:
    with pytest.raises(ConfigError):
        adapter_class(name).from_config(settings, http=httpx.Client(), clock=SystemClock())
