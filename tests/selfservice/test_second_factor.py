"""A link alone shows nothing: the last four digits of a phone number on the account open a
short session, and guessing is slowed to five tries per link per quarter hour."""

from __future__ import annotations

from datetime import timedelta


def test_the_link_alone_shows_nothing(borrower):
    page = borrower.client.get(borrower.url)
    assert page.status_code == 200
    for secret in ("1,250", "loan-88231", "Ann", "Acme", "ann@example.org", "0123"):
        assert secret not in page.text
    assert borrower.client.get(f"{borrower.url}/account").status_code == 401


def test_the_right_digits_open_the_account(borrower):
    answer = borrower.verify("0123")
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    page = borrower.client.get(f"{borrower.url}/account")
    assert page.status_code == 200
    assert "$1,250.00" in page.text
    assert "Acme Lending" in page.text


def test_wrong_digits_open_nothing(borrower):
    answer = borrower.verify("9999")
    assert answer.status_code == 401
    assert "do not match" in answer.text
    assert "1,250" not in answer.text
    assert borrower.client.get(f"{borrower.url}/account").status_code == 401


def test_five_wrong_tries_lock_the_link_even_for_the_right_digits(borrower):
    for _ in range(5):
        assert borrower.verify("1111").status_code == 401
    locked = borrower.verify("0123")
    assert locked.status_code == 429
    assert "Too many attempts" in locked.text


def test_a_session_ends_after_a_quarter_hour(borrower, clock):
    borrower.verify()
    clock.advance(timedelta(minutes=16))
    page = borrower.client.get(f"{borrower.url}/account")
    assert page.status_code == 401
    assert "1,250" not in page.text


def test_a_session_cookie_opens_only_its_own_link(borrower, clock):
    from orchestrator import links
    from tests.selfservice.conftest import SECRET

    borrower.verify()
    with borrower.services.store.transaction() as conn:
        links.revoke(conn, borrower.account_id, now=clock.now(), reason="test")
        token = links.issue(
            conn,
            tenant_id=borrower.tenant_id,
            account_id=borrower.account_id,
            secret=SECRET,
            now=clock.now(),
            ttl=timedelta(days=30),
        )
    session = borrower.client.cookies.get("ss_session")
    borrower.client.cookies.set("ss_session", session, path=f"/s/{token}")
    page = borrower.client.get(f"/s/{token}/account")
    assert page.status_code == 401


def test_the_verify_form_needs_its_own_token(borrower):
    borrower.client.get(borrower.url)
    answer = borrower.client.post(
        f"{borrower.url}/verify", data={"csrf": "forged", "last4": "0123"}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert borrower.client.get(f"{borrower.url}/account").status_code == 401
