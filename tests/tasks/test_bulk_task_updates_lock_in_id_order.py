"""Bulk updates of task rows lock them in id order, and the sweep's skip rows another
transaction holds (docs/RELIABILITY.md, "Leadership in the topology test"): the leader's
``requeue_stale`` and ``expire_overdue`` were bare ``UPDATE`` s, which lock rows in the order
the plan reads them, and met PostgreSQL deadlocks against transactions that lock the same
rows in id order (dispatch's reservation: accounts, then tasks, each in id order).

Here, on real PostgreSQL, a transaction holds the lower of two overdue tasks and then takes
the higher, in id order, while the sweep expires both. A row updated since it was written
sits after the other in the table, so a plan reading the table takes the higher one first:
before, the sweep held the higher and waited for the lower, the other transaction waited
for the higher, and PostgreSQL broke the deadlock by failing one of them."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orchestrator.planning.scheduler import sweep
from orchestrator.store.tables import Account, Task
from orchestrator.tasks import transitions
from tests.planning.test_scheduler_leader import due_today

pytestmark = pytest.mark.slow


def _tasks(store, tenant_id, account_id, now, expires):
    rows = [
        {
            "tenant_id": tenant_id,
            "account_id": account_id,
            "strategy": "test",
            "step": f"test.step_{i}",
            "variant": "",
            "channel": "sms",
            "template": "overdue_notice",
            "purpose": "collection",
            "fallback": [],
            "local_date": now.date(),
            "not_before": now - timedelta(days=1),
            "not_after": now - timedelta(hours=1),
            "expires_at": when,
            "status": "queued",
            "reasons": [],
            "created_at": now,
            "updated_at": now,  # recently touched: not re-queued, only expired
        }
        for i, when in enumerate(expires)
    ]
    with store.transaction() as conn:
        return sorted(conn.execute(sa.insert(Task).returning(Task.id), rows).scalars())


def _status(store, task_id):
    with store.snapshot() as conn:
        return conn.execute(sa.select(Task.status).where(Task.id == task_id)).scalar_one()


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_the_sweep_and_a_transaction_locking_tasks_in_id_order_do_not_deadlock(
    store, tenant, clock
):
    tenant_id, _ = tenant
    now = clock.now()
    due_today(store, tenant_id, now, ["loan-1"])
    with store.snapshot() as conn:
        account_id = conn.execute(sa.select(Account.id)).scalar_one()
    # The lower id expires later, so an index on the deadline reads the higher first too.
    low, high = _tasks(
        store, tenant_id, account_id, now, [now - timedelta(minutes=1), now - timedelta(hours=1)]
    )
    with store.transaction() as conn:  # the lower one touched: its row now follows the other
        conn.execute(sa.update(Task).where(Task.id == low).values(reasons=["touched"]))

    other = store.engine.connect()
    other_tx = other.begin()
    failures: list[BaseException] = []
    swept: list[object] = []

    def run_sweep():
        try:
            swept.append(sweep(store, now, stale=timedelta(minutes=5)))
        except BaseException as exc:
            failures.append(exc)

    try:
        other.execute(sa.text("SET LOCAL lock_timeout = '20s'"))
        pid = other.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        other.execute(sa.select(Task.id).where(Task.id == low).with_for_update())
        thread = threading.Thread(target=run_sweep)
        thread.start()
        # The sweep either finishes, or waits for the row we hold (before: holding the other).
        deadline = time.monotonic() + 20
        while thread.is_alive() and time.monotonic() < deadline:
            with store.snapshot() as conn:
                waiting = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE :pid = ANY(pg_blocking_pids(pid))"
                    ),
                    {"pid": pid},
                ).scalar_one()
            if waiting:
                break
            time.sleep(0.05)
        try:
            other.execute(sa.select(Task.id).where(Task.id == high).with_for_update())
            other_tx.commit()
        except sa.exc.DBAPIError as exc:
            other_tx.rollback()
            failures.append(exc)
        thread.join(30)
        assert not thread.is_alive()
    finally:
        other.close()

    assert not failures, failures  # before: "deadlock detected" in one of them
    [result] = swept
    # The sweep skipped the row we held, and left it for its next pass.
    assert result.expired == 1
    assert _status(store, high) == "expired"
    assert _status(store, low) == "queued"
    assert sweep(store, now, stale=timedelta(minutes=5)).expired == 1
    assert _status(store, low) == "expired"


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_bulk_updates_wait_for_and_move_every_row_they_name(store, tenant, clock):
    """``mark_sent`` and ``cancel_pending`` do not skip: they lock in id order and wait."""
    tenant_id, _ = tenant
    now = clock.now()
    due_today(store, tenant_id, now, ["loan-1"])
    with store.snapshot() as conn:
        account_id = conn.execute(sa.select(Account.id)).scalar_one()
    ids = _tasks(store, tenant_id, account_id, now, [now + timedelta(days=1)] * 3)
    with store.transaction() as conn:
        assert transitions.cancel_pending(conn, account_id, ["test"], now) == 3
    assert {_status(store, i) for i in ids} == {"cancelled"}
    with store.transaction() as conn:
        conn.execute(sa.update(Task).where(Task.id.in_(ids)).values(status="sending"))
    with store.transaction() as conn:
        transitions.mark_sent(conn, list(reversed(ids)), now)
    assert {_status(store, i) for i in ids} == {"sent"}
