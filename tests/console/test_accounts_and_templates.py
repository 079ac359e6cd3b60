"""An account's timeline, the actions a person may take on it, and a template's live
preview — through the same functions the API and dispatch use."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from orchestrator.store.tables import AccountEvent
from tests.console.conftest import shoot, sign_in


def test_an_account_is_found_by_phone_and_its_timeline_explains_itself(page, console):
    name, password = console.user("compliance")
    sign_in(page, console, name, password, "/console/accounts")
    page.fill("#q", "+1 212 555 0123")
    page.press("#q", "Enter")
    page.click("#results >> text=loan-1")
    assert page.locator("h1").inner_text() == "Account loan-1"
    timeline = page.locator("#timeline").inner_text()
    assert "task.planned" in timeline or "planned" in timeline
    assert "No hold" in page.locator("#holds").inner_text()

    page.select_option("#hold-type", "cease_communication")
    page.click("button:has-text('Put on hold')")
    assert "Recorded cease communication" in page.locator(".notice").inner_text()
    holds = page.locator("#holds").inner_text()
    assert "cease communication" in holds
    assert "1006.6(c)" in holds  # the rule's citation
    page.click("button:has-text('Record a dispute')")
    assert "Recorded dispute" in page.locator(".notice").inner_text()
    assert "dispute" in page.locator("#holds").inner_text()
    timeline = page.locator("#timeline").inner_text()
    assert "event.dispute" in timeline
    assert "1006.6(c)" in timeline  # the hold's citation on the cancelled task
    shoot(page, "account")

    with console.store.snapshot() as conn:
        sources = set(
            conn.execute(
                sa.select(AccountEvent.source).where(
                    AccountEvent.type.in_(["dispute", "cease_communication"])
                )
            ).scalars()
        )
    assert sources == {f"user:{name}"}


def test_a_template_preview_shows_the_message_its_segments_disclosures_and_lint(page, console):
    name, password = console.user("operator")
    sign_in(page, console, name, password, "/console/templates?path=en-US/sms/due_today.j2")
    assert "Ann Lee" in page.locator("#rendered").inner_text()  # the sample account
    assert "segment" in page.locator("#sms").inner_text()
    assert "debt_collector_initial" in page.locator("#facts").inner_text()
    assert "No threatening" in page.locator("#lint").inner_text()

    page.fill("#account", "loan-1")
    page.click("button:has-text('Preview')")
    assert "pay.example.com/loan-1" in page.locator("#rendered").inner_text()  # the real one
    assert "US-NY" in page.locator("#facts").inner_text()

    # Typing previews live (the page's one script): a threat is linted, and the message
    # grows past one segment.
    draft = page.input_value("#draft")
    page.fill("#draft", draft.replace("to talk with us.", "or we will call your employer. " * 4))
    expect(page.locator("#lint")).to_contain_text("employer")
    assert "third party" in page.locator("#lint").inner_text()
    assert (
        "2 segments" in page.locator("#sms").inner_text()
        or "3 segments" in page.locator("#sms").inner_text()
    )
    shoot(page, "templates")

    page.fill("#draft", "{% block body %}{{ no_such_variable }}{% endblock %}")
    page.click("button:has-text('Preview')")
    assert "no_such_variable" in page.locator("#preview-error").inner_text()
