"""Simulate before applying: the strategy page refuses to apply a draft it has not
simulated (and one changed after its simulation), shows the proposed and the current
strategy side by side over the tenant's accounts with the accounts whose treatment changes,
then applies exactly the simulated draft, recorded as the person."""

from __future__ import annotations

import sqlalchemy as sa

from orchestrator.configuration.files import parse_yaml
from orchestrator.configuration.strategies import parse_strategy
from orchestrator.settings import load_settings
from orchestrator.store.tables import ConfigVersion
from tests.console.conftest import shoot, sign_in
from tests.factories import account_document

OVERDUE_SMS = '{id: overdue_sms, day: 3, channel: sms, template: overdue_notice, at: "11:00",'
AS_EMAIL = '{id: overdue_sms, day: 3, channel: email, template: formal_notice, at: "11:00",'
ACCOUNTS = [f"sim-{n}" for n in range(6)]


def _strategy_versions(console) -> list[tuple[int, str]]:
    with console.store.snapshot() as conn:
        return [
            (r.version, r.created_by)
            for r in conn.execute(
                sa.select(ConfigVersion.version, ConfigVersion.created_by)
                .where(ConfigVersion.kind == "strategy")
                .order_by(ConfigVersion.version)
            )
        ]


def _champions() -> set[str]:
    text = (load_settings().config_dir / "strategies" / "default.yaml").read_text()
    standard = next(
        s
        for s in parse_strategy(parse_yaml(text, "default"), "default").segments
        if s.id == "standard"
    )
    return {a for a in ACCOUNTS if standard.variant_for(a).id == "champion"}  # type: ignore[union-attr]


def test_a_strategy_is_applied_only_after_that_draft_is_simulated(page, console):
    for external_id in ACCOUNTS:  # two days past due on the clock's date: D+3 is tomorrow
        doc = account_document(external_id)
        doc["debt"]["due_date"] = "2026-10-31"
        assert console.lender.put(f"/v1/accounts/{external_id}", json=doc).status_code == 201
    champions = _champions()
    assert champions, "the sample needs an account in the standard champion"
    name, password = console.user("operator")
    sign_in(page, console, name, password, "/console/strategies")
    original = page.input_value("#content")
    assert original.count(OVERDUE_SMS) == 1
    proposed = original.replace(OVERDUE_SMS, AS_EMAIL)
    before = _strategy_versions(console)

    # Not simulated: Apply is disabled, and the server refuses it if it is sent anyway.
    page.fill("#content", proposed)
    assert page.locator("button[value=apply]").is_disabled()
    page.evaluate("document.querySelector('button[value=apply]').disabled = false")
    page.click("button[value=apply]")
    assert "simulate this draft first" in page.locator("#refused").inner_text()
    assert page.input_value("#content") == proposed  # the draft is kept
    assert _strategy_versions(console) == before

    page.click("button[value=simulate]")
    assert "Nothing was stored" in page.locator("#simulated").inner_text()
    contacts = page.locator("#sim-contacts").inner_text()
    assert "email" in contacts
    assert "sms" in contacts
    changes = page.locator("#sim-changes").inner_text()
    for account in champions:
        assert account in changes
    assert "formal_notice" in changes
    assert "overdue_notice" in changes
    assert "2026-11-03" in changes
    assert page.locator("#sim-blocks").count() == 1
    assert _strategy_versions(console) == before  # simulating stores nothing
    assert page.locator("button[value=apply]").is_enabled()
    shoot(page, "strategies-simulated")

    # Changed after the simulation: the page disables Apply, and the server refuses it.
    page.fill("#content", proposed.replace("catch_up_days:", "catch_up_days:  ", 1))
    assert page.locator("button[value=apply]").is_disabled()
    assert "simulate again" in page.locator("#apply-hint").inner_text()
    page.evaluate("document.querySelector('button[value=apply]').disabled = false")
    page.click("button[value=apply]")
    assert "differs from the one you simulated" in page.locator("#refused").inner_text()
    assert _strategy_versions(console) == before

    # A leading blank line survives the page's round trip (a textarea drops its first one).
    page.fill("#content", "\n" + proposed)
    page.click("button[value=simulate]")
    page.click("button[value=apply]")
    version = len(before) + 1
    assert f"Version {version} is stored and in force" in page.locator(".notice").inner_text()
    assert _strategy_versions(console) == [*before, (version, f"user:{name}")]
    assert f"user:{name}" in page.locator("#history").inner_text()
    assert "channel: email, template: formal_notice" in page.input_value("#content")


def test_a_viewer_is_shown_no_simulate_or_apply(page, console):
    name, password = console.user("viewer")
    sign_in(page, console, name, password, "/console/strategies")
    assert page.locator("button[value=simulate]").count() == 0
    assert page.locator("button[value=apply]").count() == 0
    csrf = page.get_attribute("form.who input[name=csrf]", "value")
    for action in ("simulate", "apply"):
        response = page.request.post(
            console.url + "/console/strategies",
            form={"csrf": csrf or "", "content": "segments: []", "action": action},
        )
        assert response.status == 403
        assert "may not edit strategies" in response.text()
