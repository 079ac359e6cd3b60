"""Signing in: a session cookie that scripts cannot read, a CSRF token on every form, and
a lockout after repeated wrong passwords."""

from __future__ import annotations

import sqlalchemy as sa

from orchestrator.ops_users import MAX_FAILURES
from orchestrator.store.tables import AccountEvent
from tests.console.conftest import shoot, sign_in


def test_a_person_signs_in_and_lands_where_they_were_going(page, console):
    name, password = console.user("viewer")
    page.goto(console.url + "/console/accounts?q=loan")
    assert "/console/sign-in" in page.url
    shoot(page, "sign-in")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    assert page.url.endswith("/console/accounts?q=loan")
    assert page.locator("#results").inner_text().count("loan-1") == 1
    cookie = next(c for c in page.context.cookies() if c["name"] == "co_console")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # not readable by scripts

    page.click("text=Sign out")
    page.goto(console.url + "/console/")
    assert "/console/sign-in" in page.url


def test_a_wrong_password_says_so_without_saying_whether_the_name_exists(page, console):
    name, _ = console.user("viewer")
    sign_in(page, console, name, "not the password")
    unknown = page.locator("#sign-in-error").inner_text()
    sign_in(page, console, "nobody-here", "not the password")
    assert page.locator("#sign-in-error").inner_text() == unknown
    assert "wrong" in unknown


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(page, console):
    name, password = console.user("operator")
    sign_in(page, console, name, password, "/console/accounts/loan-1")
    assert page.locator("h1").inner_text() == "Account loan-1"

    def disputes() -> int:
        with console.store.snapshot() as conn:
            return conn.execute(
                sa.select(sa.func.count()).where(AccountEvent.type == "dispute")
            ).scalar_one()

    before = disputes()
    # The browser's own cookies, a form without the token (what a forged page would send).
    forged = page.request.post(
        console.url + "/console/accounts/loan-1/events", form={"type": "dispute"}
    )
    assert forged.status == 403
    assert "security token" in forged.text()
    wrong = page.request.post(
        console.url + "/console/accounts/loan-1/events",
        form={"type": "dispute", "csrf": "guessed"},
    )
    assert wrong.status == 403
    assert disputes() == before
    sign_in_forged = page.request.post(
        console.url + "/console/sign-in", form={"name": name, "password": password}
    )
    assert sign_in_forged.status == 403


def test_repeated_wrong_passwords_lock_the_user_until_an_admin_resets_it(page, console):
    from orchestrator.ops_users import password_cost, reset_user

    name, password = console.user("viewer")
    for _ in range(MAX_FAILURES):
        sign_in(page, console, name, "wrong password!")
    sign_in(page, console, name, password)  # the right one, too late
    assert "locked" in page.locator("#sign-in-error").inner_text()
    assert "/console/sign-in" in page.url

    with console.store.transaction() as conn:
        fresh = reset_user(
            conn,
            name,
            now=console.services.clock.now(),
            cost=password_cost(console.services.settings),
        )
    sign_in(page, console, name, fresh.password)
    assert page.locator("h1").inner_text() == "Overview"


def test_a_one_time_link_sets_the_password_once(page, console):
    from orchestrator.ops_users import OpsRole, create_user

    with console.store.transaction() as conn:
        made = create_user(
            conn, console.tenant_id, "linked-user", OpsRole.VIEWER,
            now=console.services.clock.now(), link=True,
        )  # fmt: skip
    link = f"{console.url}/console/set-password?token={made.link_token}"
    page.goto(link)
    page.fill("#password", "a long new password")
    page.fill("#again", "a long new password")
    page.click("button[type=submit]")
    assert "password is set" in page.locator(".notice").inner_text()
    page.fill("#password", "a long new password")
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Overview"

    page.goto(link)
    page.fill("#password", "another new password")
    page.fill("#again", "another new password")
    page.click("button[type=submit]")
    assert "not valid any more" in page.locator(".error").inner_text()
