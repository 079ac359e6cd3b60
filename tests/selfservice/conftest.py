"""A borrower with a self-service link: the API in-process on a deployment that signs
links, tenant ``acme`` with a profile, and one US account."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.factories import account_document

SECRET = "test-link-secret-0123456789abcdefghij"


@dataclass
class Borrower:
    client: TestClient  # no API key: what a borrower's browser is
    lender: TestClient  # the tenant's key
    services: object
    account_id: int
    token: str
    app: object = None
    tenant_id: int = 0

    @property
    def url(self) -> str:
        return f"/s/{self.token}"

    def verify(self, last4: str = "0123"):
        page = self.client.get(self.url)
        pre = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert pre, page.text
        return self.client.post(
            f"{self.url}/verify",
            data={"csrf": pre.group(1), "last4": last4},
            follow_redirects=False,
        )

    def form(self, action: str) -> dict[str, str]:
        """The hidden fields of one form on the account page."""
        page = self.client.get(f"{self.url}/account")
        assert page.status_code == 200, page.text
        found = re.search(
            rf'action="{re.escape(self.url)}/act/{action}">\s*<input type="hidden" '
            r'name="nonce" value="([^"]+)"><input type="hidden" name="csrf" value="([^"]+)">',
            page.text,
        )
        assert found, f"no {action} form"
        return {"nonce": found.group(1), "csrf": found.group(2)}

    def act(self, action: str, **fields: str):
        return self.client.post(
            f"{self.url}/act/{action}", data={**self.form(action), **fields}, follow_redirects=False
        )


def make_borrower(store, clock, redis_url, redis_namespace, file_config, document=None):
    from orchestrator import links
    from orchestrator.api.app import create_app
    from orchestrator.intake import accounts as account_store
    from orchestrator.services import Services
    from orchestrator.settings import load_settings
    from orchestrator.tenancy import Role, create_tenant, issue_key

    settings = load_settings(
        redis_url=redis_url, queue_namespace=redis_namespace, link_secret=SECRET
    )
    services = Services.build(settings, clock=clock, store=store, config=file_config)
    with store.transaction() as conn:
        tenant_id = create_tenant(
            conn,
            "acme",
            name="Acme Lending",
            now=clock.now(),
            profile={
                "lender_name": "Acme Lending",
                "support_phone": "+1 800 555 0100",
                "payment_url": "https://pay.acme.example/{reference}",
            },
        )
        key = issue_key(conn, tenant_id, role=Role.LENDER, now=clock.now())
    app = create_app(services)
    lender = TestClient(app, headers={"Authorization": f"Bearer {key}"})
    answer = lender.put("/v1/accounts/loan-88231", json=document or account_document())
    assert answer.status_code == 201, answer.text
    with store.transaction() as conn:
        account = account_store.find_account(conn, tenant_id, "loan-88231")
        token = links.issue(
            conn,
            tenant_id=tenant_id,
            account_id=account.id,
            secret=SECRET,
            now=clock.now(),
            ttl=timedelta(days=30),
        )
    return Borrower(TestClient(app), lender, services, account.id, token, app, tenant_id)


@pytest.fixture
def borrower(store, clock, redis_url, redis_namespace, file_config):
    return make_borrower(store, clock, redis_url, redis_namespace, file_config)
