"""After ``DELETE /v1/accounts/{id}/personal-data`` nothing of the person is left in any
table of the store, in the clear or sealed: every column of every row is read raw, every
sealed value opened with the store's keys, and searched for the borrower's name, postal
code, numbers, email, push token and the texts of what was sent to and said by them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from orchestrator import links, outbox
from orchestrator.store.keys import KeyUnavailable
from orchestrator.store.tables import (
    Account,
    Attempt,
    DeliveryReport,
    SelfServiceLink,
    Task,
    Visit,
    WebhookEndpoint,
)
from orchestrator.store.types import Sealed
from tests.factories import account_document

NAME = "Zoe Quillfeather"
POSTAL = "10027"
PHONE = "+12125550199"
EMAIL = "zoe.quillfeather@example.org"
PUSH = "fcm-token-zoe-quillfeather"
BODY = "Zoe Quillfeather, your balance of $1,250.00 is overdue"
SUBJECT = "Quillfeather account notice"
DISPUTE = "I am Zoe Quillfeather of 12 Elm Street and this debt is not mine"
PERSONAL = (NAME, "Quillfeather", POSTAL, PHONE, "2125550199", EMAIL, PUSH, BODY, DISPUTE)


def _document() -> dict:
    document = account_document("loan-zoe")
    document["borrower"]["name"] = NAME
    document["borrower"]["address"]["postal_code"] = POSTAL
    document["contact_points"] = [
        {"channel": "sms", "address": PHONE, "consent": True},
        {"channel": "call", "address": PHONE, "consent": True},
        {"channel": "email", "address": EMAIL},
        {"channel": "push", "address": PUSH},
    ]
    return document


def _everything(store) -> list[tuple[str, str, object]]:
    """(table, column, value) for every non-null value in the store's schema, raw."""
    found = []
    with store.snapshot() as conn:
        for table in sa.inspect(conn).get_table_names():
            result = conn.execute(sa.text(f'SELECT * FROM "{table}"'))
            columns = list(result.keys())
            for row in result:
                found += [(table, c, v) for c, v in zip(columns, row, strict=True) if v is not None]
    return found


def _readable(store, value: object) -> list[str]:
    """What a raw value says: itself, and if it is sealed, what it opens to in any column."""
    if not isinstance(value, bytes | memoryview):
        return [str(value)]
    raw = bytes(value)
    texts = [raw.decode("utf-8", "replace")]
    labels = {
        column.type._aad
        for table in Account.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, Sealed)
    }
    for label in labels:
        try:
            texts.append(store.keyring.open(raw, label).decode("utf-8", "replace"))
        except (KeyUnavailable, IndexError, UnicodeDecodeError):
            continue
    return texts


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_nothing_of_the_person_is_left_in_any_table(api, store, clock, tenant):
    now = clock.now()
    tenant, _ = tenant
    with store.transaction() as conn:
        conn.execute(
            sa.insert(WebhookEndpoint).values(
                ref="ep_zoe",
                tenant_id=tenant,
                url="https://lender.example/events",
                event_types=[],
                secret="whsec_test",
                created_at=now,
                updated_at=now,
            )
        )
    assert (
        api.put(
            "/v1/accounts/loan-zoe", json=_document(), headers={"Idempotency-Key": "zoe-put"}
        ).status_code
        == 201
    )
    disputed = api.post(
        "/v1/accounts/loan-zoe/events",
        json={"type": "dispute", "details": {"reason": "not_mine", "text": DISPUTE}},
        headers={"Idempotency-Key": "zoe-dispute"},
    )
    assert disputed.status_code == 201, disputed.text
    with store.transaction() as conn:
        account = conn.execute(sa.select(Account).where(Account.external_id == "loan-zoe")).one()
        task_id = conn.execute(
            sa.insert(Task)
            .values(
                tenant_id=tenant,
                account_id=account.id,
                strategy="s@1",
                step="early.sms",
                channel="sms",
                template="t",
                local_date=now.date(),
                not_before=now,
                not_after=now,
                expires_at=now,
                status="sent",
                created_at=now,
                updated_at=now,
            )
            .returning(Task.id)
        ).scalar_one()
        attempt_id = conn.execute(
            sa.insert(Attempt)
            .values(
                ref="att_zoe",
                task_id=task_id,
                tenant_id=tenant,
                account_id=account.id,
                channel="sms",
                provider="twilio_sms",
                address=PHONE,
                at=now,
                status="delivered",
                contact_kind="text",
                subject=SUBJECT,
                body=BODY,
                error_message=f"provider said: {PHONE} unreachable",
                updated_at=now,
            )
            .returning(Attempt.id)
        ).scalar_one()
        conn.execute(
            sa.insert(DeliveryReport).values(
                provider="twilio_sms",
                route="",
                dedupe_key="zoe-report",
                matched=True,
                kind="status",
                attempt_id=attempt_id,
                status="delivered",
                payload={"To": PHONE, "Body": BODY},
                received_at=now,
            )
        )
        conn.execute(
            sa.insert(Visit).values(attempt_id=attempt_id, tenant_id=tenant, updated_at=now)
        )
        links.issue(
            conn,
            tenant_id=tenant,
            account_id=account.id,
            secret="link-secret",
            now=now,
            ttl=timedelta(days=7),
        )
        # A provider said the email is dead: the lender is told which address.
        outbox.contact_point_invalid(conn, tenant, account.id, ["email"], EMAIL, "bounced", now)
    before = [
        (table, column)
        for table, column, value in _everything(store)
        if any(p in text for text in _readable(store, value) for p in PERSONAL)
    ]
    # The scan sees the person where they are (so it can fail), sealed and in the clear.
    assert {"accounts", "contact_points", "attempts", "delivery_reports"} <= {t for t, _ in before}
    assert {"lender_events", "account_events", "idempotency_keys"} <= {t for t, _ in before}

    response = api.delete("/v1/accounts/loan-zoe/personal-data")

    assert response.status_code == 200, response.text
    left = sorted(
        {
            (table, column)
            for table, column, value in _everything(store)
            for text in _readable(store, value)
            if any(p in text for p in PERSONAL)
        }
    )
    assert left == [], left
    with store.snapshot() as conn:
        live = conn.execute(
            sa.select(sa.func.count())
            .select_from(SelfServiceLink)
            .where(SelfServiceLink.account_id == account.id, SelfServiceLink.revoked_at.is_(None))
        ).scalar_one()
    assert live == 0, "the borrower's self-service link no longer opens"
    # What the law asks a collector to keep is still there.
    timeline = api.get("/v1/accounts/loan-zoe/timeline").json()["entries"]
    assert {"personal_data.erased"} <= {e["kind"] for e in timeline}
    assert api.get("/v1/accounts/loan-zoe").json()["debt"]["amount_due"] == "1250.00"
