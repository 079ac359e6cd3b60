"""Abuse: forms need their CSRF token, a form posted twice records once, and requests are
rate-limited per link and per client address."""

from __future__ import annotations

import sqlalchemy as sa

from orchestrator.store.tables import AccountEvent


def _count(borrower) -> int:
    with borrower.services.store.snapshot() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(AccountEvent)).scalar_one()


def test_a_form_without_its_csrf_token_records_nothing(borrower):
    borrower.verify()
    form = borrower.form("dispute")
    for csrf in ("", "0" * 32, form["csrf"][:-1] + "x"):
        answer = borrower.client.post(
            f"{borrower.url}/act/dispute",
            data={"nonce": form["nonce"], "csrf": csrf, "reason": "not_mine"},
            follow_redirects=False,
        )
        assert answer.status_code == 403
    assert _count(borrower) == 0


def test_a_form_needs_a_session(borrower):
    borrower.verify()
    form = borrower.form("dispute")
    borrower.client.cookies.clear()
    answer = borrower.client.post(
        f"{borrower.url}/act/dispute", data={**form, "reason": "not_mine"}, follow_redirects=False
    )
    assert answer.status_code == 401
    assert _count(borrower) == 0


def test_a_replayed_form_records_once(borrower):
    borrower.verify()
    data = {**borrower.form("plan"), "option": "m2"}
    first = borrower.client.post(f"{borrower.url}/act/plan", data=data, follow_redirects=False)
    again = borrower.client.post(f"{borrower.url}/act/plan", data=data, follow_redirects=False)
    assert first.headers["location"].endswith("done=plan")
    assert again.headers["location"].endswith("done=again")
    assert _count(borrower) == 2  # two instalments, once
    page = borrower.client.get(again.headers["location"])
    assert "already received" in page.text


def test_requests_per_link_are_limited(borrower):
    from orchestrator.api.borrower_access import REQUESTS_PER_LINK

    statuses = [
        borrower.client.get(borrower.url).status_code for _ in range(REQUESTS_PER_LINK.count + 1)
    ]
    assert statuses[:-1] == [200] * REQUESTS_PER_LINK.count
    assert statuses[-1] == 429


def test_guessing_tokens_from_one_address_is_limited(borrower):
    from orchestrator.api.borrower_access import REQUESTS_PER_ADDRESS

    statuses = {
        borrower.client.get(f"/s/{n:016d}").status_code
        for n in range(REQUESTS_PER_ADDRESS.count + 1)
    }
    assert statuses == {404, 429}
    # The same address is now refused even with a genuine link.
    assert borrower.client.get(borrower.url).status_code == 429


def test_the_page_asks_for_nothing_from_elsewhere(borrower):
    borrower.verify()
    page = borrower.client.get(f"{borrower.url}/account")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text
    assert "http://" not in page.text.replace("https://pay.acme.example/loan-88231", "")
