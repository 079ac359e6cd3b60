"""The channel config refuses settings that would break a guarantee, naming the field."""

from __future__ import annotations

import pytest
import yaml

from orchestrator.configuration.channel_config import parse_channels
from orchestrator.configuration.source import interpolate
from orchestrator.errors import ConfigError
from orchestrator.settings import load_settings

PATH = load_settings().config_dir / "channels.yaml"


def shipped() -> dict:
    return yaml.safe_load(interpolate(PATH.read_text(encoding="utf-8"), str(PATH), env={}))


def test_the_shipped_config_is_valid():
    config = parse_channels(shipped(), "channels.yaml")
    assert [p.adapter for p in config.providers("sms")] == ["twilio_sms", "aliyun_sms"]


def test_a_lease_shorter_than_a_providers_longest_send_is_refused():
    # A send still under way when its lease ends could be reconciled and sent again.
    document = shipped()
    document["dispatch"] = {"lease_seconds": 60}
    with pytest.raises(ConfigError) as info:
        parse_channels(document, "channels.yaml")
    problems = {p.path: p.message for p in info.value.problems}
    assert "dispatch.lease_seconds" in problems
    assert "longest send" in problems["dispatch.lease_seconds"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda d: d["channels"]["sms"]["providers"][0].update(adapter="carrier_pigeon"),
            "channels.sms.providers[0].adapter",
        ),
        (
            lambda d: d["channels"]["sms"]["providers"][0]["settings"].update(from_numbr="+1"),
            "channels.sms.providers[0].settings.from_numbr",
        ),
        (
            lambda d: d["channels"]["sms"]["providers"][0].update(adapter="sendgrid_email"),
            "channels.sms.providers[0].adapter",
        ),
        (
            lambda d: d["channels"]["sms"]["providers"][0].update(rate_limit={"per_second": -1}),
            "channels.sms.providers[0].rate_limit.per_second",
        ),
    ],
)
def test_a_wrong_provider_block_is_refused_with_its_path(change, path):
    document = shipped()
    change(document)
    with pytest.raises(ConfigError) as info:
        parse_channels(document, "channels.yaml")
    assert path in {p.path for p in info.value.problems}
