"""The overview: contacts per channel and status over time as a chart and its numbers, what
rules blocked or deferred (with their citations) in a table whose counts stay on screen,
the queue, and the providers."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from orchestrator.store.tables import Account, Attempt, LedgerEntry, Task
from tests.console.conftest import shoot, sign_in


@pytest.fixture(scope="module")
def history(console):
    """Three days of contacts and decisions for loan-1."""
    now = console.services.clock.now()
    with console.store.transaction() as conn:
        account = conn.execute(
            sa.select(Account.id).where(Account.external_id == "loan-1")
        ).scalar_one()
        for day, (channel, status, rules, task_status) in enumerate(
            [
                ("sms", "delivered", [], "delivered"),
                ("email", "bounced", [], "failed"),
                ("sms", "delivered", ["us.reg_f.inconvenient_time"], "sent"),
            ]
        ):
            at = now - timedelta(days=2 - day, hours=1)
            task = conn.execute(
                sa.insert(Task)
                .values(
                    tenant_id=console.tenant_id, account_id=account, strategy="default@1",
                    step=f"standard.s{day}", variant="", channel=channel, template="due_today",
                    purpose="collection", fallback=[], local_date=at.date(), not_before=at,
                    not_after=at + timedelta(hours=8), expires_at=at + timedelta(days=1),
                    status=task_status, attempt_count=1, reasons=rules, created_at=at,
                    updated_at=at,
                )
                .returning(Task.id)
            ).scalar_one()  # fmt: skip
            if rules:  # the planner's decision naming the rule that moved the task
                conn.execute(
                    sa.insert(LedgerEntry).values(
                        tenant_id=console.tenant_id, account_id=account, task_id=task,
                        at=at, kind="task.planned", channel=channel, rules=rules,
                        message="moved", data={},
                    )
                )  # fmt: skip
            conn.execute(
                sa.insert(Attempt).values(
                    ref=f"att-{day}", task_id=task, tenant_id=console.tenant_id,
                    account_id=account, channel=channel, provider="twilio_sms", address="+1",
                    at=at, status=status, contact_kind="attempt", updated_at=at,
                )
            )  # fmt: skip
        blocked = conn.execute(
            sa.insert(Task).values(
                tenant_id=console.tenant_id, account_id=account, strategy="default@1",
                step="standard.blocked", variant="", channel="call", template="call_script",
                purpose="collection", fallback=[], local_date=now.date(), not_before=now,
                not_after=now, expires_at=now, status="blocked", attempt_count=0,
                reasons=["us.reg_f.call_frequency_7d_with_a_long_identifier_that_wraps"],
                created_at=now, updated_at=now,
            ).returning(Task.id)
        ).scalar_one()  # fmt: skip
        conn.execute(
            sa.insert(LedgerEntry).values(
                tenant_id=console.tenant_id, account_id=account, task_id=blocked,
                at=now - timedelta(minutes=5), kind="task.blocked", channel="call",
                rules=["us.reg_f.call_frequency_7d_with_a_long_identifier_that_wraps"],
                message="blocked", data={},
            )
        )  # fmt: skip


@pytest.mark.parametrize("width", [1280, 768])
def test_the_overview_charts_contacts_and_keeps_every_count_on_screen(
    page, console, history, width
):
    page.set_viewport_size({"width": width, "height": 900})
    name, password = console.user("viewer")
    sign_in(page, console, name, password)
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator(".chart svg rect").count() == 3  # one bar segment per day here
    by_status = page.locator("#contacts-by-status").inner_text()
    assert "bounced" in by_status
    assert "delivered" in by_status

    rules = page.locator("#rules-table")
    assert "12 CFR 1006.6(b)(1)(i)" in rules.inner_text()  # the rule's citation
    last = rules.locator("tbody tr").first.locator("td").last
    box = last.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= width, "the count column is cut off"
    providers = page.locator("#providers-table")
    assert "twilio_sms" in providers.inner_text()
    box = providers.locator("thead th").last.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= width, "the rate-limit column is cut off"
    if width == 1280:
        shoot(page, "overview")
    else:
        shoot(page, "overview-tablet")


def test_the_overview_is_keyboard_navigable(page, console):
    name, password = console.user("viewer")
    sign_in(page, console, name, password)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Overview"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Accounts"
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/accounts")
