"""What each role may do: a viewer reads with contact data masked, an operator edits
channels, templates and strategies, compliance edits rule overlays and reads unmasked, an
admin may do everything. A refused change is refused by the server, not only hidden."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import shoot, sign_in

PHONE = "+12125550123"


def csrf_of(page) -> str:
    return page.get_attribute("input[name=csrf]", "value")


def post(page, console, where: str, **form: str) -> int:
    return page.request.post(console.url + where, form={"csrf": csrf_of(page), **form}).status


@pytest.mark.parametrize(
    ("role", "edits", "unmasked"),
    [
        ("viewer", set(), False),
        ("operator", {"channels", "strategies", "templates", "accounts"}, False),
        ("compliance", {"rules", "accounts"}, True),
        ("admin", {"channels", "strategies", "templates", "rules", "accounts"}, True),
    ],
)
def test_each_role_sees_and_changes_what_it_may(page, console, role, edits, unmasked):
    name, password = console.user(role)
    sign_in(page, console, name, password, "/console/accounts/loan-1")
    points = page.locator("#contact-points").inner_text()
    assert (PHONE in points) is unmasked
    if not unmasked:
        assert "+1********23" in points
    assert (page.locator("text=Put on hold").count() > 0) is ("accounts" in edits)
    if role == "viewer":
        shoot(page, "account-viewer")

    for section in ("channels", "strategies", "rules"):
        page.goto(f"{console.url}/console/{section}")
        may = section in edits
        assert (page.locator("button[value=apply]").count() == 1) is may
        # The server refuses what the page does not offer: the form sent anyway.
        status = post(page, console, f"/console/{section}", content="x: 1", action="check")
        assert (status != 403) is may, (section, status)

    page.goto(f"{console.url}/console/templates")
    status = post(page, console, "/console/templates", path="en-US/sms/due_today.j2", draft="x")
    assert (status != 403) is ("templates" in edits)
    page.goto(f"{console.url}/console/accounts/loan-1")
    status = post(page, console, "/console/accounts/loan-1/events", type="bankruptcy_x")
    assert (status != 403) is ("accounts" in edits)


def test_a_viewer_sees_timeline_sentences_with_numbers_masked(page, console):
    name, password = console.user("viewer")
    sign_in(page, console, name, password, "/console/accounts/loan-1")
    timeline = page.locator("#timeline").inner_text()
    assert not re.search(r"\+1212555\d{4}", timeline)
    assert "ann@example.org" not in timeline
