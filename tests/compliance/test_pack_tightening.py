"""A tenant may tighten a pack (a lower cap, a shorter window, per-channel windows) but never
loosen it: a config that loosens a legal limit is refused, naming the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.compliance import decide
from orchestrator.configuration.rulepacks import load_rule_library
from orchestrator.domain import Channel
from orchestrator.errors import ConfigError

from .conftest import CONFIG, account, utc

CALL_CAP = {
    "id": "us.reg_f.call_frequency_7d",
    "citation": "12 CFR 1006.14(b)(2)(i)(A)",
    "window": "7d",
    "applies_to": ["call"],
    "counts": {
        "channels": ["call"],
        "kinds": ["reserved", "attempt", "conversation", "limited_content"],
    },
}


def refusal(library, overlay) -> str:
    with pytest.raises(ConfigError) as caught:
        library.parse_overlay({"id": "acme", "extends": "us-reg-f", **overlay}, "tenant acme")
    assert caught.value.source == "tenant acme"
    return str(caught.value)


def test_a_higher_call_cap_is_refused_naming_the_rule(library):
    message = refusal(library, {"caps": [{**CALL_CAP, "limit": 10}]})
    assert "us.reg_f.call_frequency_7d loosens a legal limit" in message
    assert "limit 10 is above 7" in message


def test_a_wider_window_is_refused(library):
    window = {"id": "us.reg_f.inconvenient_time", "citation": "x", "start": "07:00", "end": "21:00"}
    assert "us.reg_f.inconvenient_time" in refusal(library, {"windows": [window]})


def test_disabling_a_legal_rule_is_refused(library):
    message = refusal(library, {"disable": ["us.reg_f.call_after_conversation_7d"]})
    assert "us.reg_f.call_after_conversation_7d is law" in message


def test_letting_a_purpose_through_a_hold_is_refused(library):
    hold = {"id": "us.reg_f.cease_communication", "citation": "x", "allows": ["collection"]}
    assert "us.reg_f.cease_communication" in refusal(
        library, {"holds": {"cease_communication": hold}}
    )


def test_removing_tcpa_consent_is_refused(library):
    assert "us.tcpa.prior_express_consent" in refusal(
        library, {"contact_points": {"consent": None}}
    )


def test_relabelling_law_as_policy_is_refused(library):
    message = refusal(library, {"caps": [{**CALL_CAP, "limit": 7, "policy": True}]})
    assert "cannot be marked policy" in message


def test_a_bad_field_is_reported_with_its_path(library):
    with pytest.raises(ConfigError) as caught:
        library.parse_overlay({"id": "acme", "caps": [{**CALL_CAP, "limit": "many"}]}, "acme")
    assert any(p.path == "caps.0.limit" for p in caught.value.problems)


def test_tightening_is_accepted_and_applied(library):
    overlay = library.parse_overlay(
        {
            "id": "acme",
            "extends": "us-reg-f",
            "caps": [{**CALL_CAP, "limit": 3}],
            "windows": [
                {
                    "id": "acme.calls_after_work",
                    "citation": "policy",
                    "policy": True,
                    "start": "17:00",
                    "end": "20:00",
                    "channels": ["call"],
                },
            ],
        },
        "acme",
    )
    pack = library.pack_for("US-NY", overlay)
    noon = utc(2026, 6, 1, 16, 0)  # 12:00 EDT
    assert not decide(account(), [], Channel.CALL, noon, pack).allowed
    assert decide(account(), [], Channel.SMS, noon, pack).allowed
    assert decide(account(), [], Channel.CALL, noon, pack).next_allowed_at == utc(2026, 6, 1, 21, 0)


def test_an_overlay_for_another_country_is_not_applied(library):
    overlay = library.parse_overlay(
        {"id": "acme", "extends": "us-reg-f", "caps": [{**CALL_CAP, "limit": 0}]}, "acme"
    )
    assert library.pack_for("GB", overlay) is library.pack_for("GB")


def test_an_overlay_without_extends_tightens_every_pack(library):
    overlay = library.parse_overlay(
        {
            "id": "acme",
            "caps": [
                {
                    "id": "acme.two_a_day",
                    "citation": "policy",
                    "policy": True,
                    "limit": 2,
                    "calendar": "day",
                    "counts": {
                        "channels": ["sms", "email", "push", "call"],
                        "kinds": ["attempt", "reserved"],
                    },
                }
            ],
        },
        "acme",
    )
    for jurisdiction in ("US-NY", "CN", "GB", "AU-NSW", "FR"):
        assert "acme.two_a_day" in library.pack_for(jurisdiction, overlay).rule_ids()


def test_unknown_jurisdictions_get_the_conservative_default_never_no_rules(library):
    pack = library.pack_for("BR-SP")
    assert pack.id == "default"
    assert {"default.conservative_hours", "default.calls_and_texts_7d"} <= set(pack.rule_ids())


def test_a_state_pack_that_loosens_its_country_pack_is_refused_at_load(tmp_path: Path):
    for source in CONFIG.glob("*.yaml"):
        (tmp_path / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "us-ma.yaml").write_text(
        "id: us-ma\njurisdiction: US-MA\nextends: us-reg-f\n"
        "windows:\n"
        "  - {id: us.reg_f.inconvenient_time, citation: x, start: '08:00', end: '22:00'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"us.reg_f.inconvenient_time loosens a legal limit"):
        load_rule_library(tmp_path)


def test_invalid_yaml_refuses_the_whole_library(tmp_path: Path):
    (tmp_path / "broken.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_rule_library(tmp_path)
