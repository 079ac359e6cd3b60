"""The bulk paths the planner writes through (``COPY`` and ``unnest`` on PostgreSQL,
executemany elsewhere) store exactly what the ordinary insert stores, skip conflicting rows
and return what they inserted — at every row count, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from orchestrator import ledger
from orchestrator.intake.document import AccountDocument
from orchestrator.intake.upsert import prepare, write_accounts
from orchestrator.store.db import id_in, insert_rows
from orchestrator.store.tables import Account, LedgerEntry, Task
from orchestrator.tenancy import create_tenant
from tests.factories import account_document

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def account(store) -> tuple[int, int]:
    with store.transaction() as conn:
        tenant = create_tenant(conn, "acme", name="Acme", now=NOW)
        doc = AccountDocument.model_validate(account_document("loan-1"))
        write_accounts(conn, tenant, [prepare(doc, now=NOW)], now=NOW, source="import")
        account_id = conn.execute(sa.select(Account.id)).scalar_one()
    return tenant, account_id


def task_row(tenant: int, account_id: int, n: int) -> dict:
    return {
        "tenant_id": tenant,
        "account_id": account_id,
        "strategy": "default@1",
        "step": f"early.step_{n}",
        "variant": "",
        "channel": "sms",
        "template": "due_today",
        "purpose": "collection",
        "fallback": [["email", "due_today"]] if n % 2 else [],
        "local_date": date(2026, 11, 23),
        "not_before": NOW + timedelta(minutes=n),
        "not_after": NOW + timedelta(hours=8),
        "expires_at": NOW + timedelta(days=1),
        "status": "planned",
        "reasons": ["us.reg_f.quiet_hours"] if n % 3 == 0 else [],
        "created_at": NOW,
        "updated_at": NOW,
    }


@pytest.mark.parametrize("count", [1, 31, 32, 500])
def test_tasks_round_trip_skip_conflicts_and_return_the_inserted(store, account, count):
    tenant, account_id = account
    rows = [task_row(tenant, account_id, n) for n in range(count)]
    key = ("tenant_id", "account_id", "step", "local_date")
    with store.transaction() as conn:
        first = insert_rows(conn, Task, rows[: count // 2], skip_conflicts_on=key)
        again = insert_rows(conn, Task, rows, skip_conflicts_on=key, returning=(Task.id, Task.step))
    assert first == []
    assert sorted(r.step for r in again) == sorted(r["step"] for r in rows[count // 2 :])
    with store.snapshot() as conn:
        stored = {t.step: t for t in conn.execute(sa.select(Task))}
    assert len(stored) == count
    for row in rows:
        task = stored[row["step"]]
        for column in ("fallback", "reasons", "not_before", "local_date", "channel", "status"):
            assert getattr(task, column) == row[column], column
        assert task.not_before.tzinfo is not None
        assert task.attempt_count == 0  # the column's default, filled in
        assert task.lease_until is None


@pytest.mark.parametrize("count", [2, 40])
def test_ledger_entries_keep_their_words_and_data(store, account, count):
    tenant, account_id = account
    odd = "quotes \" and 'apostrophes', commas, {braces}, tabs\tand\nnew lines — 中文"
    entries = [
        ledger.entry(
            tenant_id=tenant,
            account_id=account_id,
            at=NOW + timedelta(seconds=n),
            kind="task.planned",
            message=f"{n}: {odd}",
            channel="sms" if n % 2 else None,
            rules=["cn.nifa.hours"] if n % 2 else [],
            data={"variant": "B", "n": n} if n % 2 else None,
        )
        for n in range(count)
    ]
    with store.transaction() as conn:
        ledger.append(conn, entries)
    with store.snapshot() as conn:
        stored = conn.execute(sa.select(LedgerEntry).order_by(LedgerEntry.at)).all()
    assert [e.message for e in stored] == [e["message"] for e in entries]
    assert [e.rules for e in stored] == [e["rules"] for e in entries]
    assert [e.data for e in stored] == [e["data"] or {} for e in entries]
    assert [e.channel for e in stored] == [e["channel"] for e in entries]
    assert [e.at for e in stored] == [e["at"] for e in entries]


def test_id_in_selects_the_same_rows_as_in(store, account):
    tenant, account_id = account
    with store.transaction() as conn:
        insert_rows(conn, Task, [task_row(tenant, account_id, n) for n in range(40)])
    with store.snapshot() as conn:
        ids = sorted(conn.execute(sa.select(Task.id)).scalars())
        wanted = [*ids[::3], 10**12]
        found = sorted(
            conn.execute(sa.select(Task.id).where(id_in(conn, Task.id, wanted))).scalars()
        )
        none = conn.execute(sa.select(Task.id).where(id_in(conn, Task.id, []))).all()
    assert found == ids[::3]
    assert none == []


def test_a_rolled_back_bulk_insert_leaves_nothing_and_the_next_one_works(store, account):
    tenant, account_id = account
    rows = [task_row(tenant, account_id, n) for n in range(40)]
    key = ("tenant_id", "account_id", "step", "local_date")

    def write_then_fail() -> None:
        with store.transaction() as conn:
            insert_rows(conn, Task, rows, skip_conflicts_on=key, returning=(Task.id,))
            raise RuntimeError("the caller failed after writing")

    with pytest.raises(RuntimeError):
        write_then_fail()
    with store.snapshot() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Task)).scalar() == 0
    with store.transaction() as conn:
        inserted = insert_rows(conn, Task, rows, skip_conflicts_on=key, returning=(Task.id,))
        again = insert_rows(conn, Task, rows, skip_conflicts_on=key, returning=(Task.id,))
    assert (len(inserted), len(again)) == (40, 0)


@pytest.mark.parametrize("count", [2, 40])
def test_none_in_a_json_column_is_json_null_on_every_path(store, account, count):
    tenant, account_id = account
    rows = [
        {**ledger.entry(tenant_id=tenant, account_id=account_id, at=NOW, kind="k", message="m"),
         "data": None}
        for _ in range(count)
    ]  # fmt: skip
    with store.transaction() as conn:
        insert_rows(conn, LedgerEntry, rows)
    with store.snapshot() as conn:
        stored = conn.execute(sa.select(LedgerEntry.data)).scalars().all()
    assert stored == [None] * count
