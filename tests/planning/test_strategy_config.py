"""Strategies are validated as a whole, with the path to each bad field."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from orchestrator.configuration.source import check_templates, load_strategies
from orchestrator.configuration.strategies import parse_strategy
from orchestrator.errors import ConfigError
from orchestrator.messages.library import TemplateLibrary
from orchestrator.settings import load_settings

SETTINGS = load_settings()


def default_yaml():
    return yaml.safe_load((SETTINGS.config_dir / "strategies" / "default.yaml").read_text())


def test_the_shipped_default_strategy_loads_and_its_templates_exist():
    strategies = load_strategies(SETTINGS.config_dir / "strategies")
    check_templates(list(strategies.values()), TemplateLibrary(SETTINGS.templates_dir))
    default = strategies["default"]
    assert default.day_offsets() >= {-3, 0, 3, 7, 10, 15, 20, 30, 45, 60}
    small = default.segment_for(
        dpd=5, amount=Decimal("20"), currency="USD", product="bnpl", risk=None
    )
    assert small.id == "small_balance"
    assert all(step.channel != "call" for step in small.steps)


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (
            lambda d: d["segments"][1]["steps"][0].update(channel="fax"),
            "segments[1].steps[0].channel",
            "sms",
        ),
        (
            lambda d: d["segments"][1]["steps"][0].update(at="25:00"),
            "segments[1].steps[0].at",
            "HH:MM",
        ),
        (
            lambda d: d["segments"][1]["steps"][0].update(surprise=1),
            "segments[1].steps[0].surprise",
            "Extra",
        ),
        (
            lambda d: d["segments"][0]["when"]["amount"].update(min="500"),
            "segments[0].when.amount",
            "greater",
        ),
        (
            lambda d: d["segments"][1]["steps"][1].update(fallback=["sms"]),
            "segments[1].steps[1]",
            "own channel",
        ),
        (
            lambda d: d["segments"][1]["steps"][1].update(stop_on=["rain"]),
            "segments[1].steps[1].stop_on",
            "stop_on",
        ),
        (
            lambda d: d["segments"][1]["steps"].append(dict(d["segments"][1]["steps"][0])),
            "segments[1]",
            "used twice",
        ),
        (
            lambda d: d["segments"][2]["variants"][0].update(weight=-1),
            "segments[2].variants[0].weight",
            "greater",
        ),
        (lambda d: d.update(segments=[]), "segments", "at least 1"),
    ],
)
def test_a_wrong_strategy_is_refused_with_the_path_to_the_field(change, path, words):
    data = default_yaml()
    change(data)
    with pytest.raises(ConfigError) as info:
        parse_strategy(data, "default.yaml")
    found = {p.path: p.message for p in info.value.problems}
    assert path in found, found
    assert words.lower() in found[path].lower()


def test_a_template_a_step_names_must_exist_at_load():
    data = default_yaml()
    data["segments"][1]["steps"][2]["template"] = "no_such_template"
    strategy = parse_strategy(data, "default.yaml")
    with pytest.raises(ConfigError, match="no_such_template"):
        check_templates([strategy], TemplateLibrary(SETTINGS.templates_dir))


def test_variants_split_by_a_stable_hash_with_their_weights():
    default = parse_strategy(default_yaml(), "default.yaml")
    segment = next(s for s in default.segments if s.id == "standard")
    first = [segment.variant_for(f"loan-{i}").id for i in range(20_000)]
    again = [segment.variant_for(f"loan-{i}").id for i in range(20_000)]
    assert first == again
    share = first.count("early_call") / len(first)
    assert 0.18 < share < 0.22  # weight 20 of 100
