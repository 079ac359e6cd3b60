"""Editing configs in the console: an error shown where it is and nothing stored, then the
fix applied (recorded as the person), a diff against what is in force, a rollback in one
click, and a rule overlay that may only tighten."""

from __future__ import annotations

import re

import sqlalchemy as sa

from orchestrator.api.console.configs import RULES_EXAMPLE
from orchestrator.store.tables import ConfigVersion
from tests.console.conftest import shoot, sign_in


def versions(console, kind: str) -> list[tuple[int, str]]:
    with console.store.snapshot() as conn:
        return [
            (r.version, r.created_by)
            for r in conn.execute(
                sa.select(ConfigVersion.version, ConfigVersion.created_by)
                .where(ConfigVersion.kind == kind)
                .order_by(ConfigVersion.version)
            )
        ]


def test_a_channel_config_with_an_error_is_refused_then_the_fix_applies(page, console):
    name, password = console.user("operator")
    sign_in(page, console, name, password, "/console/channels")
    assert "file default" in page.locator("#in-force").inner_text()
    assert "TWILIO_AUTH_TOKEN" in page.locator("#providers").inner_text()  # a name, no value
    original = page.input_value("#content")
    assert "timeout_seconds: 10" in original

    page.fill("#content", original.replace("timeout_seconds: 10", "timeout_seconds: ten", 1))
    page.click("button[value=apply]")
    problems = page.locator("#problems").inner_text()
    assert "Refused: nothing was stored" in problems
    assert "channels.sms.providers[0].settings.timeout_seconds" in problems
    assert page.get_attribute("#content", "aria-invalid") == "true"
    assert "timeout_seconds: ten" in page.input_value("#content")  # the draft is kept
    shoot(page, "channels-refused")
    assert versions(console, "channels") == []

    page.fill("#content", original.replace("timeout_seconds: 10", "timeout_seconds: 12", 1))
    page.click("button[value=check]")
    assert "Valid" in page.locator("#checked").inner_text()
    diff = page.locator("#diff").inner_text()
    assert "-          timeout_seconds: 10" in diff
    assert "+          timeout_seconds: 12" in diff
    assert versions(console, "channels") == []  # checking stores nothing

    page.click("button[value=apply]")
    assert "Version 1 is stored and in force" in page.locator(".notice").inner_text()
    assert "your version 1" in page.locator("#in-force").inner_text()
    assert versions(console, "channels") == [(1, f"user:{name}")]
    assert f"user:{name}" in page.locator("#history").inner_text()
    shoot(page, "channels")


def test_rollback_applies_an_old_version_again_in_one_click(page, console):
    name, password = console.user("operator")
    sign_in(page, console, name, password, "/console/strategies")
    original = page.input_value("#content")
    before = len(versions(console, "strategy"))
    for days in ("catch_up_days: 2", "catch_up_days: 3"):
        edited = re.sub(r"catch_up_days: \d+", days, original, count=1)
        assert edited != original, "the shipped strategy has a catch_up_days to change"
        page.fill("#content", edited)
        page.click("button[value=simulate]")  # a strategy is applied after its simulation
        page.click("button[value=apply]")
        assert "is stored and in force" in page.locator(".notice").inner_text()
    assert "simulate" in page.locator("#simulation").inner_text().lower()
    shoot(page, "strategies")

    page.click(f"button[aria-label='Roll back to version {before + 1}']")
    assert f"Version {before + 3} is stored and in force" in page.locator(".notice").inner_text()
    assert "catch_up_days: 2" in page.input_value("#content")
    assert versions(console, "strategy")[-1] == (before + 3, f"user:{name}")


def test_a_rule_overlay_may_tighten_but_a_loosening_is_refused_naming_the_rule(page, console):
    name, password = console.user("compliance")
    sign_in(page, console, name, password, "/console/rules")
    loosened = (
        "id: acme\nextends: us-reg-f\ncaps:\n"
        "  - id: us.reg_f.call_frequency_7d\n    citation: 12 CFR 1006.14(b)(2)(i)(A)\n"
        "    window: 7d\n    limit: 10\n    applies_to: [call]\n"
        "    counts: {channels: [call], kinds: [reserved, attempt, conversation]}\n"
    )
    page.fill("#content", loosened)
    page.click("button[value=apply]")
    problems = page.locator("#problems").inner_text()
    assert "us.reg_f.call_frequency_7d loosens a legal limit (12 CFR 1006.14(b)(2)(i)(A))" in (
        problems
    )
    shoot(page, "rules-refused")
    assert versions(console, "rules") == []

    # The page's own example, uncommented, only tightens: it applies.
    example = "\n".join(
        line.removeprefix("# ") for line in RULES_EXAMPLE.splitlines() if line.startswith("# ")
    )
    page.fill("#content", example[example.index("id: acme-policy") :])
    page.click("button[value=apply]")
    assert "Version 1 is stored and in force" in page.locator(".notice").inner_text()
    assert versions(console, "rules") == [(1, f"user:{name}")]


def field(path: str) -> str:
    return f'[id="{path}"]'


def test_the_providers_form_shows_an_error_beside_its_field_then_applies(page, console):
    name, password = console.user("admin")
    sign_in(page, console, name, password, "/console/channels")
    timeout = field("channels.email.providers[0].settings.timeout_seconds")
    rate = field("channels.email.providers[0].rate_limit.per_second")
    assert page.input_value(timeout) == "10"
    assert page.locator(field("channels.email.providers[0].settings.api_key_env")).count() == 0
    before = versions(console, "channels")

    page.fill(timeout, "soon")
    page.fill(rate, "-5")
    page.click("button:has-text('Apply the form')")
    # The rate's type is checked first; the settings once the blocks parse.
    assert page.get_attribute(rate, "aria-invalid") == "true"
    assert (
        "greater than 0"
        in page.locator(
            field("channels.email.providers[0].rate_limit.per_second-error")
        ).inner_text()
    )
    assert page.input_value(timeout) == "soon"  # what was typed stays, to be fixed
    page.fill(rate, "40")
    page.click("button:has-text('Apply the form')")
    assert page.get_attribute(timeout, "aria-invalid") == "true"
    assert (
        "number"
        in page.locator(
            field("channels.email.providers[0].settings.timeout_seconds-error")
        ).inner_text()
    )
    shoot(page, "channels-form-refused", "main")
    # Line by line from the diff's own elements: its lines are blocks by the stylesheet, so
    # the text of the whole read before the stylesheet applies would run them together.
    lines = [line.strip("\n") for line in page.locator("#diff span").all_inner_texts()]
    assert any(re.fullmatch(r"-\s+timeout_seconds: 10", line) for line in lines), lines
    assert any(re.fullmatch(r"\+\s+timeout_seconds: soon", line) for line in lines), lines
    assert not any("# Channel providers" in line for line in lines)  # dropped comments
    assert versions(console, "channels") == before

    page.fill(timeout, "15")
    page.fill(rate, "40")
    page.click("button:has-text('Apply the form')")
    assert "is stored and in force" in page.locator(".notice").inner_text()
    assert page.input_value(timeout) == "15"
    assert page.input_value(rate) == "40"
    assert versions(console, "channels")[-1][1] == f"user:{name}"
