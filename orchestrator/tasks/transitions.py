"""Every change of a task's state, each a compare-and-set on the status it moves from.

This is the only module that writes the ``tasks`` table after a task is planned (planning
inserts them). Each function names the transition it makes, checks the state it moves from
in the same ``UPDATE`` and returns what actually moved: a caller that raced another worker,
a report or the sweep finds nothing moved and does nothing more. A statement that changes
several rows locks them in id order first (:func:`_lock_in_order`), as dispatch does, so two
transactions never wait for each other's rows in opposite orders (a deadlock).

::

    planned ──queue_due──▶ queued ──claim──▶ sending ──mark_sent──▶ sent ──report──▶ ...
       ▲                     │  ▲               │
       └────────hold─────────┘  └──release / withdraw──┘  settle: sending ─▶ sent | queued | unknown
    planned/queued ──revise──▶ (moved) | cancelled     queued ──close──▶ blocked | expired | failed
    planned/queued ──expire_overdue──▶ expired          sent/sending ──fail_over──▶ planned
    sent ──expire_visit──▶ expired  (a field visit with no outcome by its deadline)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.domain import TaskStatus
from orchestrator.store.db import id_in
from orchestrator.store.tables import Task

PENDING = (TaskStatus.PLANNED.value, TaskStatus.QUEUED.value)
_QUEUED = TaskStatus.QUEUED.value
_SENDING = TaskStatus.SENDING.value


# --- the scheduler's sweep --------------------------------------------------------------------


def queue_due(conn: Connection, now: datetime, *, limit: int, skip_locked: bool) -> list[int]:
    """``planned → queued`` for tasks whose time has come, earliest first; their ids. On
    PostgreSQL (``skip_locked``) rows another transaction holds are skipped: it never
    waits for a row, so the order it locks them in cannot deadlock."""
    due = (
        sa.select(Task.id)
        .where(Task.status == TaskStatus.PLANNED.value, Task.not_before <= now)
        .order_by(Task.not_before)
        .limit(limit)
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    return list(
        conn.execute(
            sa.update(Task)
            .where(Task.id.in_(due.scalar_subquery()), Task.status == TaskStatus.PLANNED.value)
            .values(status=_QUEUED, updated_at=now)
            .returning(Task.id)
        ).scalars()
    )


def requeue_stale(conn: Connection, now: datetime, *, stale: timedelta) -> list[int]:
    """Queued tasks untouched for ``stale`` (their message may be lost) touched again; their
    ids, to be queued again (a duplicate message is harmless: the claim is a compare-and-set).
    Rows another transaction holds are left for the next pass (see :func:`_lock_in_order`)."""
    where = (Task.status == _QUEUED, Task.updated_at < now - stale)
    ids = _lock_in_order(conn, where, skip_locked=True)
    if not ids:
        return []
    return list(
        conn.execute(
            sa.update(Task)
            .where(id_in(conn, Task.id, ids), *where)
            .values(updated_at=now)
            .returning(Task.id)
        ).scalars()
    )


def expire_overdue(conn: Connection, now: datetime) -> list[Any]:
    """``planned | queued → expired`` past the deadline; the rows moved (id, tenant_id,
    account_id, channel, step). Rows another transaction holds (a send reserving them, a
    re-plan) are left for the next pass (see :func:`_lock_in_order`)."""
    where = (Task.status.in_(PENDING), Task.expires_at < now)
    ids = _lock_in_order(conn, where, skip_locked=True)
    if not ids:
        return []
    return list(
        conn.execute(
            sa.update(Task)
            .where(id_in(conn, Task.id, ids), *where)
            .values(status=TaskStatus.EXPIRED.value, updated_at=now)
            .returning(Task.id, Task.tenant_id, Task.account_id, Task.channel, Task.step)
        ).all()
    )


def _lock_in_order(conn: Connection, where: Sequence[Any], *, skip_locked: bool) -> list[int]:
    """The ids of the tasks matching ``where``, locked (``FOR UPDATE``) in id order.

    Every statement that changes several task rows locks them this way first: a bare bulk
    ``UPDATE`` locks rows in whatever order its plan reads them, and two transactions that
    lock the same rows in different orders deadlock (the chaos run saw the sweep's
    ``requeue_stale`` and ``expire_overdue`` do so under load, docs/RELIABILITY.md).
    Dispatch locks accounts, then tasks, in id order too (``lock_queued``). The sweep's
    passes also skip rows another transaction holds (``skip_locked``): they never wait on
    a send or a re-plan, and the next pass, a second later, takes what they left.
    On SQLite (one writer at a time) the lock clause is dropped by the dialect."""
    query = sa.select(Task.id).where(*where).order_by(Task.id)
    return list(conn.execute(query.with_for_update(skip_locked=skip_locked)).scalars())


# --- re-planning ----------------------------------------------------------------------------


def revise(conn: Connection, task_id: int, values: dict[str, Any], now: datetime) -> bool:
    """A pending task moved or cancelled by re-planning (``values`` from
    :func:`orchestrator.tasks.decision.revise`); ``False`` when dispatch claimed it first."""
    return bool(
        conn.execute(
            sa.update(Task)
            .where(Task.id == task_id, Task.status.in_(PENDING))
            .values(**values, updated_at=now)
        ).rowcount
    )


# --- dispatch -------------------------------------------------------------------------------


def lock_queued(conn: Connection, task_ids: Sequence[int], *, lock: bool) -> list[Any]:
    """The tasks among ``task_ids`` still ``queued``, locked (``FOR UPDATE``, when ``lock``)
    until the transaction ends, in id order. The caller has locked their accounts first."""
    query = (
        sa.select(Task).where(id_in(conn, Task.id, list(task_ids)), Task.status == _QUEUED)
    ).order_by(Task.id)
    if lock:
        query = query.with_for_update(of=Task)
    return list(conn.execute(query).all())


def touch(conn: Connection, task_id: int, now: datetime) -> None:
    """Mark a queued task as seen now (the sweep re-queues tasks left untouched)."""
    conn.execute(sa.update(Task).where(Task.id == task_id).values(updated_at=now))


def hold(conn: Connection, task_id: int, values: dict[str, Any], now: datetime) -> bool:
    """``queued → planned`` until ``values["not_before"]``: not now, never early."""
    return bool(
        conn.execute(
            sa.update(Task)
            .where(Task.id == task_id, Task.status == _QUEUED)
            .values(status=TaskStatus.PLANNED.value, **values, updated_at=now)
        ).rowcount
    )


def close(
    conn: Connection, task_id: int, status: TaskStatus, rules: list[str], now: datetime
) -> bool:
    """``queued → blocked | expired | failed``: for good."""
    return bool(
        conn.execute(
            sa.update(Task)
            .where(Task.id == task_id, Task.status == _QUEUED)
            .values(status=status.value, reasons=rules, updated_at=now)
        ).rowcount
    )


def claim(conn: Connection, claims: Sequence[dict[str, Any]], now: datetime) -> None:
    """``queued → sending`` for tasks locked by :func:`lock_queued`, each with its route
    and lease, and one more attempt counted: one statement for the batch.

    Each of ``claims`` has ``id``, ``channel``, ``template``, ``fallback`` and
    ``lease_until``.
    """
    if not claims:
        return
    statement = (
        sa.update(Task)
        .where(Task.id == sa.bindparam("task_id"), Task.status == _QUEUED)
        .values(
            status=_SENDING,
            channel=sa.bindparam("new_channel"),
            template=sa.bindparam("new_template"),
            fallback=sa.bindparam("new_fallback", type_=Task.fallback.type),
            attempt_count=Task.attempt_count + 1,
            lease_until=sa.bindparam("new_lease"),
            updated_at=now,
        )
    )
    conn.execute(
        statement,
        [
            {
                "task_id": c["id"],
                "new_channel": c["channel"],
                "new_template": c["template"],
                "new_fallback": c["fallback"],
                "new_lease": c["lease_until"],
            }
            for c in claims
        ],
    )


def mark_sent(conn: Connection, task_ids: Iterable[int], now: datetime) -> None:
    """``sending → sent`` for tasks whose provider accepted the message."""
    ids = sorted(set(task_ids))
    if ids:
        # Locked in id order first (``_lock_in_order``), waiting for each: every one of them
        # must move.
        ids = _lock_in_order(
            conn, (id_in(conn, Task.id, ids), Task.status == _SENDING), skip_locked=False
        )
    if ids:
        conn.execute(
            sa.update(Task)
            .where(id_in(conn, Task.id, ids), Task.status == _SENDING)
            .values(status=TaskStatus.SENT.value, lease_until=None, updated_at=now)
        )


def release(conn: Connection, task_id: int, now: datetime) -> bool:
    """``sending → queued``: nothing left the building; the task is tried again (a retry,
    the next provider or channel)."""
    return settle(conn, task_id, TaskStatus.QUEUED, now)


def withdraw(conn: Connection, task_id: int, now: datetime) -> bool:
    """``sending → queued``, the attempt :func:`claim` counted uncounted: its request never
    went out (it had no turn on the provider's rate limit in time), so it was no attempt."""
    return bool(
        conn.execute(
            sa.update(Task)
            .where(Task.id == task_id, Task.status == _SENDING)
            .values(
                status=_QUEUED,
                attempt_count=sa.case((Task.attempt_count > 0, Task.attempt_count - 1), else_=0),
                lease_until=None,
                updated_at=now,
            )
        ).rowcount
    )


def settle(conn: Connection, task_id: int, status: TaskStatus, now: datetime) -> bool:
    """``sending → status``: what an interrupted or answered send came to."""
    return bool(
        conn.execute(
            sa.update(Task)
            .where(Task.id == task_id, Task.status == _SENDING)
            .values(status=status.value, lease_until=None, updated_at=now)
        ).rowcount
    )


# --- what providers report ------------------------------------------------------------------


def report(
    conn: Connection,
    task_id: int,
    status: TaskStatus,
    now: datetime,
    *,
    moves_from: TaskStatus | None = None,
) -> bool:
    """A provider's report moves the task forward to ``status``, never back from a final
    state (``sending | unknown | sent → delivered | failed``; ``sending | unknown → sent``).
    ``moves_from``: move from the statuses before this one instead of before ``status``."""
    before = statuses_before(moves_from or status)
    return bool(
        conn.execute(
            sa.update(Task)
            .where(Task.id == task_id, Task.status.in_(before))
            .values(status=status.value, updated_at=now)
        ).rowcount
    )


def cancel_pending(conn: Connection, account_id: int, reasons: list[str], now: datetime) -> int:
    """Every task of the account not yet handed to a provider (planned or queued) is
    cancelled with ``reasons``: the account may no longer be contacted. How many."""
    where = (Task.account_id == account_id, Task.status.in_(PENDING))
    ids = _lock_in_order(conn, where, skip_locked=False)  # every one of them, in id order
    if not ids:
        return 0
    return int(
        conn.execute(
            sa.update(Task)
            .where(id_in(conn, Task.id, ids), *where)
            .values(status=TaskStatus.CANCELLED.value, reasons=reasons, updated_at=now)
        ).rowcount
    )


def statuses_before(status: TaskStatus) -> list[str]:
    """Task statuses a report may move on from (never back from a final one)."""
    order = [TaskStatus.SENDING, TaskStatus.UNKNOWN, TaskStatus.SENT]
    if status is TaskStatus.SENT:
        return [s.value for s in order[:2]]
    return [s.value for s in order]


def fail_over(conn: Connection, task: Any, now: datetime) -> bool:
    """``sent | sending → planned`` on the task's next route, due now: the address can never
    take the message (a hard bounce, an opt-out). ``False`` when it has no route left or its
    deadline passed."""
    if not task.fallback or task.expires_at <= now:
        return False
    (channel, template), *rest = task.fallback
    return bool(
        conn.execute(
            sa.update(Task)
            .where(Task.id == task.id, Task.status.in_([TaskStatus.SENT.value, _SENDING]))
            .values(
                status=TaskStatus.PLANNED.value,
                channel=channel,
                template=template,
                fallback=rest,
                not_before=now,
                not_after=task.expires_at,
                updated_at=now,
            )
        ).rowcount
    )


# --- field visits ---------------------------------------------------------------------------


def lock_sent(conn: Connection, task_ids: Sequence[int]) -> set[int]:
    """The tasks among ``task_ids`` still ``sent``, locked in id order; those another
    transaction holds are skipped (the sweep's next pass takes them)."""
    if not task_ids:
        return set()
    where = (id_in(conn, Task.id, sorted(set(task_ids))), Task.status == TaskStatus.SENT.value)
    return set(_lock_in_order(conn, where, skip_locked=True))


def expire_visit(conn: Connection, task_id: int, now: datetime) -> bool:
    """``sent → expired``: a field visit handed to the work queue with no outcome recorded by
    its deadline. Whether it moved (an outcome recorded first wins)."""
    return bool(
        conn.execute(
            sa.update(Task)
            .where(Task.id == task_id, Task.status == TaskStatus.SENT.value)
            .values(status=TaskStatus.EXPIRED.value, reasons=["visit.deadline"], updated_at=now)
        ).rowcount
    )
