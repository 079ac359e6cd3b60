"""DELETE /v1/accounts/{id}/personal-data: the borrower's identity, addresses and the texts
sent are gone; the facts of the collection stay, the ledger says so, and the account is
never contacted (nor filled) again. Idempotent; other tenants get 404."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from orchestrator.store.tables import (
    Account,
    AccountEvent,
    Attempt,
    ContactPoint,
    IdempotencyRecord,
    LedgerEntry,
    Task,
)
from orchestrator.tenancy import Role, create_tenant, issue_key
from tests.factories import account_document, table_counts

PERSONAL = ("Ann Lee", "+12125550123", "ann@example.org", "fcm-registration-token", "10001")


def _account(store, external_id="loan-1"):
    with store.snapshot() as conn:
        return conn.execute(sa.select(Account).where(Account.external_id == external_id)).one()


def _add_attempt(store, account, status="delivered", body="Ann Lee, you owe $1,250.00"):
    with store.transaction() as conn:
        task_id = conn.execute(
            sa.insert(Task)
            .values(
                tenant_id=account.tenant_id,
                account_id=account.id,
                strategy="s@1",
                step=f"step.{status}",
                channel="sms",
                template="t",
                local_date=account.created_at.date(),
                not_before=account.created_at,
                not_after=account.created_at,
                expires_at=account.created_at,
                status="sending" if status == "sending" else "sent",
                created_at=account.created_at,
                updated_at=account.created_at,
            )
            .returning(Task.id)
        ).scalar_one()
        conn.execute(
            sa.insert(Attempt).values(
                ref=f"att_{status}",
                task_id=task_id,
                tenant_id=account.tenant_id,
                account_id=account.id,
                channel="sms",
                provider="twilio_sms",
                address="+12125550123",
                at=account.created_at,
                status=status,
                contact_kind="text",
                body=body,
                updated_at=account.created_at,
            )
        )


def test_erasure_removes_identity_and_texts_and_keeps_the_facts(api, store):
    api.put(
        "/v1/accounts/loan-1",
        json=account_document("loan-1"),
        headers={"Idempotency-Key": "put-1"},
    )
    assert api.post("/v1/accounts/loan-1/events", json={"type": "dispute"}).status_code == 201
    account = _account(store)
    _add_attempt(store, account)
    with store.snapshot() as conn:
        pending = conn.execute(
            sa.select(sa.func.count())
            .select_from(Task)
            .where(Task.account_id == account.id, Task.status.in_(["planned", "queued"]))
        ).scalar_one()

    response = api.delete("/v1/accounts/loan-1/personal-data")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["already_erased"] is False
    assert body["removed"] == {"contact_points": 4, "messages": 1, "reports": 0}
    assert body["tasks_cancelled"] == pending
    view = api.get("/v1/accounts/loan-1").json()
    assert view["erased_at"] == body["erased_at"]
    assert view["contact_points"] == []
    assert view["borrower"]["name"] == ""
    assert view["debt"]["amount_due"] == "1250.00"  # the facts of the collection stay
    assert "10001" not in str(view)
    assert "Ann Lee" not in str(view)
    with store.snapshot() as conn:
        account = _account(store)
        assert account.borrower_name == ""
        assert account.postal_code is None
        assert conn.execute(sa.select(ContactPoint)).all() == []
        attempt = conn.execute(sa.select(Attempt)).one()
        assert (attempt.address, attempt.body, attempt.status) == ("", None, "delivered")
        assert conn.execute(sa.select(AccountEvent.type)).scalars().all() == ["dispute"]
        assert conn.execute(sa.select(IdempotencyRecord)).all() == []
        open_tasks = conn.execute(
            sa.select(Task.reasons).where(Task.status.in_(["planned", "queued"]))
        ).all()
        assert open_tasks == []
        entry = conn.execute(
            sa.select(LedgerEntry).where(LedgerEntry.kind == "personal_data.erased")
        ).one()
    assert entry.rules == ["gdpr.art17", "pipl.art47"]
    assert "Kept, as the law requires" in entry.message
    timeline = api.get("/v1/accounts/loan-1/timeline").json()["entries"]
    assert timeline[0]["kind"] == "personal_data.erased"
    # Sent/blocked facts remain in the timeline: what the law asks to keep.
    assert len(timeline) > 1


def test_erasing_twice_answers_the_first_erasure_and_changes_nothing(api, store):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    first = api.delete("/v1/accounts/loan-1/personal-data").json()
    counts = table_counts(store)

    again = api.delete("/v1/accounts/loan-1/personal-data")

    assert again.status_code == 200
    assert again.json()["already_erased"] is True
    assert again.json()["erased_at"] == first["erased_at"]
    assert table_counts(store) == counts


def test_an_erased_account_is_never_filled_or_planned_again(api, store, services, clock):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    api.delete("/v1/accounts/loan-1/personal-data")

    again = api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    batch = api.post("/v1/accounts:batch", json={"accounts": [account_document("loan-1")]})
    services.planner.plan(clock.now())

    assert again.status_code == 200
    assert batch.status_code == 200
    view = api.get("/v1/accounts/loan-1").json()
    assert view["contact_points"] == []
    assert view["borrower"]["name"] == ""
    with store.snapshot() as conn:
        assert (
            conn.execute(sa.select(Task).where(Task.status.in_(["planned", "queued"]))).all() == []
        )


def test_a_send_in_flight_refuses_erasure_and_changes_nothing(api, store):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    _add_attempt(store, _account(store), status="sending")
    counts = table_counts(store)

    response = api.delete("/v1/accounts/loan-1/personal-data")

    assert response.status_code == 409
    assert response.headers["Retry-After"] == "60"
    assert "Retry in a minute" in response.json()["error"]["message"]
    assert table_counts(store) == counts
    assert _account(store).borrower_name == "Ann Lee"


def test_another_tenant_cannot_erase_and_gets_404(api, store, clock):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    with store.transaction() as conn:
        rival = create_tenant(conn, "rival", name="Rival", now=clock.now())
        key = issue_key(conn, rival, role=Role.LENDER, now=clock.now())
    client = TestClient(api.app, headers={"Authorization": f"Bearer {key}"})

    assert client.delete("/v1/accounts/loan-1/personal-data").status_code == 404
    assert client.delete("/v1/accounts/nobody/personal-data").status_code == 404
    assert _account(store).borrower_name == "Ann Lee"
    assert TestClient(api.app).delete("/v1/accounts/loan-1/personal-data").status_code == 401
