"""The admins' users page: create a person with a one-time link that works, change their
role, reset and disable them; issue an API key shown once, and revoke it. Only an admin
may, and only within their own tenant; every form is CSRF-checked."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from tests.console.conftest import shoot, sign_in


def row(page, name: str) -> str:
    return page.locator(f"#users tr[data-user='{name}']").inner_text()


def follow(browser_page, console, link: str) -> None:
    """Open a one-time link on the test's server (links use the public URL)."""
    parts = urlsplit(link)
    browser_page.goto(f"{console.url}{parts.path}?{parts.query}")


def test_an_admin_creates_a_person_whose_link_works_then_changes_and_disables_them(
    page, chromium, console
):
    admin, password = console.user("admin")
    sign_in(page, console, admin, password, "/console/users")
    assert page.locator("nav >> text=Users").count() == 1
    assert admin in row(page, admin)

    page.fill("#new-name", "dana.ops")
    page.select_option("#new-role", "operator")
    page.click("#create-user button[type=submit]")
    link = page.input_value("#link")
    assert "/console/set-password?token=" in link
    assert "operator" in row(page, "dana.ops")
    assert "waiting to set a password" in row(page, "dana.ops")
    assert "never" in row(page, "dana.ops")
    shoot(page, "users")

    # The link works, once, in another browser.
    other = chromium.new_context().new_page()
    try:
        follow(other, console, link)
        other.fill("#password", "a long new passphrase")
        other.fill("#again", "a long new passphrase")
        other.click("button[type=submit]")
        assert "Your password is set" in other.content()
        sign_in(other, console, "dana.ops", "a long new passphrase", "/console/templates")
        assert other.locator("h1").inner_text() == "Templates"
        follow(other, console, link)
        other.fill("#password", "another long passphrase")
        other.fill("#again", "another long passphrase")
        other.click("button[type=submit]")
        assert "not valid any more" in other.content()

        page.goto(f"{console.url}/console/users")
        assert "active" in row(page, "dana.ops")
        assert "never" not in row(page, "dana.ops")  # signed in just now

        # A new role applies from the next request.
        page.select_option("#role-dana\\.ops", "viewer")
        page.click("button[aria-label='Change the role of dana.ops']")
        assert "now viewer" in page.locator(".notice").inner_text()
        assert "viewer" in row(page, "dana.ops")
        other.goto(f"{console.url}/console/templates")
        assert other.locator("#save").count() == 0

        page.click("button[aria-label='Disable dana.ops']")
        assert "disabled" in row(page, "dana.ops")
        other.goto(f"{console.url}/console/templates")
        assert "/console/sign-in" in other.url  # the session ended at once

        page.click("button[aria-label='Reset dana.ops: a new one-time link']")
        assert page.input_value("#link") != link
        assert "waiting to set a password" in row(page, "dana.ops")
    finally:
        other.context.close()

    # An admin may not lock themselves out, and a name is unique.
    assert page.locator(f"#users tr[data-user='{admin}'] button").count() == 0
    page.fill("#new-name", "dana.ops")
    page.click("#create-user button[type=submit]")
    assert "already exists" in page.locator("#user-error").inner_text()
    csrf = page.get_attribute("input[name=csrf]", "value")
    mine = page.request.post(
        f"{console.url}/console/users/{admin}", form={"csrf": csrf, "action": "disable"}
    )
    assert mine.status == 400


def test_an_admin_issues_a_key_shown_once_and_revokes_it(page, console):
    admin, password = console.user("admin")
    sign_in(page, console, admin, password, "/console/users")
    page.fill("#key-label", "loan system")
    page.click("#issue-key button[type=submit]")
    key = page.input_value("#new-key")
    prefix = key.split("_")[1]
    assert f"co_{prefix}_" in page.locator("#keys").inner_text()
    assert key not in page.locator("#keys").inner_text()
    with httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {key}"}) as api:
        assert api.get("/v1/accounts/loan-1").status_code == 200
        page.click(f"button[aria-label='Revoke key co_{prefix}']")
        assert "revoked" in page.locator(f"#keys tr[data-key='{prefix}']").inner_text()
        assert api.get("/v1/accounts/loan-1").status_code == 401
    page.goto(f"{console.url}/console/users")
    assert page.locator("#new-key").count() == 0  # shown once


@pytest.mark.parametrize("role", ["viewer", "operator", "compliance"])
def test_only_an_admin_manages_users_and_keys(page, console, role):
    name, password = console.user(role)
    sign_in(page, console, name, password, "/console/")
    assert page.locator("nav >> text=Users").count() == 0
    answer = page.goto(f"{console.url}/console/users")
    assert answer is not None
    assert answer.status == 403
    assert "may not manage users and keys" in page.content()
    csrf = page.get_attribute("input[name=csrf]", "value")
    for where, form in (
        ("/console/users", {"name": "eve.x", "role": "admin"}),
        (f"/console/users/{name}", {"action": "role", "role": "admin"}),
        ("/console/keys", {"role": "ops"}),
    ):
        answer = page.request.post(console.url + where, form={"csrf": csrf, **form})
        assert answer.status == 403, where
    from orchestrator.ops_users import list_users

    with console.store.snapshot() as conn:
        roles = {r.name: r.role for r in list_users(conn, console.tenant_id)}
    assert "eve.x" not in roles
    assert roles[name] == role


def test_a_users_form_without_its_csrf_token_changes_nothing(page, console):
    admin, password = console.user("admin")
    sign_in(page, console, admin, password, "/console/users")
    answer = page.request.post(
        f"{console.url}/console/users", form={"name": "mallory.x", "role": "admin"}
    )
    assert answer.status == 403
    page.goto(f"{console.url}/console/users")
    assert page.locator("#users tr[data-user='mallory.x']").count() == 0
