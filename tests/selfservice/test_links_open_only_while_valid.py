"""A self-service link is short, unguessable, the same in every message while it lives,
and stops opening when it expires, is revoked, is altered or the secret changes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator import links
from tests.selfservice.conftest import SECRET


def _issue(borrower, now, ttl=timedelta(days=30)):
    with borrower.services.store.transaction() as conn:
        return links.issue(
            conn,
            tenant_id=borrower.tenant_id,
            account_id=borrower.account_id,
            secret=SECRET,
            now=now,
            ttl=ttl,
        )


def _open(borrower, token, now, secret=SECRET):
    with borrower.services.store.snapshot() as conn:
        return links.open_link(conn, token, secret=secret, now=now)


def test_the_link_is_short_and_the_same_while_it_lives(borrower, clock):
    assert len(borrower.token) == 16
    assert borrower.token.isalnum()
    assert _issue(borrower, clock.now() + timedelta(days=10)) == borrower.token
    # Close to its end, a new message gets a new link; the old one still opens until then.
    renewed = _issue(borrower, clock.now() + timedelta(days=25))
    assert renewed != borrower.token
    assert _open(borrower, borrower.token, clock.now() + timedelta(days=25))


def test_the_token_is_not_stored(borrower):
    import sqlalchemy as sa

    from orchestrator.store.tables import SelfServiceLink

    with borrower.services.store.snapshot() as conn:
        row = conn.execute(sa.select(SelfServiceLink)).one()
    assert borrower.token not in {str(v) for v in row._mapping.values()}
    assert row.token_hash == links.token_hash(borrower.token)


def test_an_expired_link_is_refused(borrower, clock):
    with pytest.raises(links.LinkRefused, match="expired"):
        _open(borrower, borrower.token, clock.now() + timedelta(days=30, seconds=1))
    clock.advance(timedelta(days=31))
    page = borrower.client.get(borrower.url)
    assert page.status_code == 410
    assert "not valid any more" in page.text


def test_a_revoked_link_is_refused_and_the_next_message_gets_a_new_one(borrower, clock):
    answer = borrower.lender.delete("/v1/accounts/loan-88231/self-service-link")
    assert answer.json() == {"external_id": "loan-88231", "revoked": 1}
    page = borrower.client.get(borrower.url)
    assert page.status_code == 410
    assert _issue(borrower, clock.now()) != borrower.token


def test_a_revoked_link_closes_an_open_session_too(borrower):
    assert borrower.verify().status_code == 303
    borrower.lender.delete("/v1/accounts/loan-88231/self-service-link")
    page = borrower.client.get(f"{borrower.url}/account")
    assert page.status_code == 410
    assert "1,250" not in page.text


@pytest.mark.parametrize("position", [0, 7, 15])
def test_a_tampered_token_is_unknown(borrower, position):
    token = borrower.token
    other = "A" if token[position] != "A" else "B"
    tampered = token[:position] + other + token[position + 1 :]
    page = borrower.client.get(f"/s/{tampered}")
    assert page.status_code == 404
    assert "Acme" not in page.text


@pytest.mark.parametrize("token", ["short", "x" * 40, "AAAAAAAAAAAAAAA!", "0000000000000000"])
def test_malformed_or_unissued_tokens_are_unknown(borrower, token):
    assert borrower.client.get(f"/s/{token}").status_code == 404


def test_a_new_secret_revokes_every_link(borrower, clock):
    with pytest.raises(links.LinkRefused, match="unknown"):
        _open(borrower, borrower.token, clock.now(), secret="another-secret-" + "x" * 32)


def test_without_a_secret_messages_carry_no_link_and_the_page_is_absent(
    store, clock, redis_url, redis_namespace, file_config
):
    from fastapi.testclient import TestClient

    from orchestrator.api.app import create_app
    from orchestrator.services import Services
    from orchestrator.settings import load_settings

    services = Services.build(
        load_settings(redis_url=redis_url, queue_namespace=redis_namespace),
        clock=clock,
        store=store,
        config=file_config,
    )
    assert TestClient(create_app(services)).get("/s/4fZq9XbT2mKp7RwY").status_code == 404
