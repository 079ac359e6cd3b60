"""What the overview's kept counts cost the write path (``store/rollup.py``).

A *send* is one transaction as dispatch writes it: the attempt row, the task's status, a
ledger entry (one in five naming a rule); a *report* is another: the attempt's status
moved by a delivery report. Each is run with the counting triggers firing and with them
off (PostgreSQL's ``session_replication_role = replica``, which skips ordinary triggers;
SQLite: the triggers dropped and created again), in alternating rounds so that a busy
machine weighs on both alike; the ceiling is the same writes without the triggers, in the
same run. Then, without a commit's wait in each row: 500 attempts inserted in one
transaction and their statuses moved one by one, per row.

    python bench/rollup_writes.py --sends 2000
    python bench/rollup_writes.py --sqlite
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from bench.ingest import DEFAULT_PG, fresh_database
from orchestrator.store.db import Store
from orchestrator.store.migrate import upgrade
from orchestrator.store.tables import Account, Attempt, LedgerEntry, Task
from orchestrator.tenancy import create_tenant

NOW = datetime(2026, 10, 5, 14, 0, tzinfo=UTC)


@contextmanager
def _store(sqlite: bool, url: str) -> Iterator[Store]:
    if sqlite:
        with tempfile.TemporaryDirectory() as folder:
            store = Store.connect(f"sqlite:///{folder}/bench.db", pool_size=1)
            try:
                yield store
            finally:
                store.dispose()
        return
    with fresh_database("postgres", url) as database:
        store = Store.connect(database, pool_size=1)
        try:
            yield store
        finally:
            store.dispose()


def _setup(store: Store, tasks: int) -> tuple[int, int, list[int]]:
    with store.transaction() as conn:
        tenant = create_tenant(conn, "bench-writes", name="Bench writes", now=NOW)
        account = conn.execute(
            sa.insert(Account)
            .values(
                tenant_id=tenant, external_id="a1", jurisdiction="US-NY",
                borrower_name="Ann Lee", locale="en-US", zones="America/New_York",
                amount_due=Decimal("100.00"), currency="USD", due_date=date(2026, 10, 1),
                product="bnpl", document={}, document_hash="a1", created_at=NOW, updated_at=NOW,
            )
            .returning(Account.id)
        ).scalar_one()  # fmt: skip
        ids = [
            conn.execute(
                sa.insert(Task)
                .values(
                    tenant_id=tenant, account_id=account, strategy="default@file",
                    step=f"standard.s{i}", variant="", channel="sms", template="due_today",
                    local_date=NOW.date(), not_before=NOW, not_after=NOW + timedelta(hours=8),
                    expires_at=NOW + timedelta(days=2), status="queued", created_at=NOW,
                    updated_at=NOW,
                )
                .returning(Task.id)
            ).scalar_one()
            for i in range(tasks)
        ]  # fmt: skip
    return tenant, account, ids


class Writer:
    def __init__(self, store: Store, tenant: int, account: int) -> None:
        self.store, self.tenant, self.account = store, tenant, account
        self.n = 0

    def send(self, task: int, counting: bool) -> tuple[float, int]:
        self.n += 1
        at = NOW + timedelta(seconds=self.n)
        began = time.perf_counter()
        with self.store.transaction() as conn:
            if not counting and conn.dialect.name == "postgresql":
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            attempt = conn.execute(
                sa.insert(Attempt)
                .values(
                    ref=f"w-{self.n}", task_id=task, tenant_id=self.tenant,
                    account_id=self.account, channel="sms", provider="twilio_sms",
                    address="+12125550123", at=at, status="sent", contact_kind="attempt",
                    body="Hello", updated_at=at,
                )
                .returning(Attempt.id)
            ).scalar_one()  # fmt: skip
            conn.execute(sa.update(Task).where(Task.id == task).values(status="sent"))
            conn.execute(
                sa.insert(LedgerEntry).values(
                    tenant_id=self.tenant, account_id=self.account, task_id=task,
                    attempt_id=attempt, at=at, kind="task.sent", channel="sms",
                    rules=["us.reg_f.call_frequency_7d"] if self.n % 5 == 0 else [],
                    message="sent", data={},
                )
            )  # fmt: skip
        return time.perf_counter() - began, attempt

    def report(self, attempt: int, counting: bool) -> float:
        began = time.perf_counter()
        with self.store.transaction() as conn:
            if not counting and conn.dialect.name == "postgresql":
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(sa.update(Attempt).where(Attempt.id == attempt).values(status="delivered"))
        return time.perf_counter() - began

    def bulk(self, tasks: list[int], counting: bool) -> tuple[float, float]:
        """Per row: attempts inserted, then their statuses moved, many in one transaction
        (the triggers' own cost, without a commit's wait in each)."""
        rows = []
        for task in tasks:
            self.n += 1
            at = NOW + timedelta(seconds=self.n)
            rows.append(
                {
                    "ref": f"b-{self.n}", "task_id": task, "tenant_id": self.tenant,
                    "account_id": self.account, "channel": "sms", "provider": "twilio_sms",
                    "address": "+12125550123", "at": at, "status": "sent",
                    "contact_kind": "attempt", "body": "Hello", "updated_at": at,
                }
            )  # fmt: skip
        with self.store.transaction() as conn:
            if not counting and conn.dialect.name == "postgresql":
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            began = time.perf_counter()
            conn.execute(sa.insert(Attempt), rows)
            inserted = time.perf_counter() - began
            refs = [row["ref"] for row in rows]
            began = time.perf_counter()
            for ref in refs:
                conn.execute(
                    sa.update(Attempt).where(Attempt.ref == ref).values(status="delivered")
                )
            updated = time.perf_counter() - began
        return inserted / len(rows), updated / len(rows)


_SQLITE_TRIGGERS: list[str] = []


def _sqlite_triggers(store: Store, on: bool) -> None:
    """SQLite has no switch: drop the triggers (keeping their SQL) or create them again."""
    with store.transaction() as conn:
        if not on:
            rows = conn.execute(
                sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                        "AND name LIKE 'rollup_%'")
            ).all()  # fmt: skip
            _SQLITE_TRIGGERS[:] = [sql for _, sql in rows]
            for name, _ in rows:
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        else:
            for sql in _SQLITE_TRIGGERS:
                conn.exec_driver_sql(sql)


def run(sends: int, rounds: int, sqlite: bool, url: str) -> dict[str, Any]:
    with _store(sqlite, url) as store:
        upgrade(store.engine)
        per_round = max(1, sends // (2 * rounds))
        tenant, account, tasks = _setup(store, per_round * 2 * rounds)
        writer = Writer(store, tenant, account)
        times: dict[str, dict[str, list[float]]] = {
            mode: {"send": [], "report": []} for mode in ("counting", "not counting")
        }
        left = iter(tasks)
        for r in range(2 * rounds):
            counting = r % 2 == 0
            if sqlite:
                _sqlite_triggers(store, counting)
            mode = "counting" if counting else "not counting"
            for _ in range(per_round):
                took, attempt = writer.send(next(left), counting)
                times[mode]["send"].append(took)
                times[mode]["report"].append(writer.report(attempt, counting))
        bulk: dict[str, dict[str, list[float]]] = {
            mode: {"insert": [], "update": []} for mode in ("counting", "not counting")
        }
        for r in range(2 * rounds):
            counting = r % 2 == 0
            if sqlite:
                _sqlite_triggers(store, counting)
            mode = "counting" if counting else "not counting"
            inserted, updated = writer.bulk(tasks[:500], counting)
            bulk[mode]["insert"].append(inserted)
            bulk[mode]["update"].append(updated)
        if sqlite:
            _sqlite_triggers(store, True)
        figures: dict[str, Any] = {"dialect": store.dialect, "per_mode": per_round * rounds}
        for kind in ("send", "report"):
            on = statistics.median(times["counting"][kind]) * 1e6
            off = statistics.median(times["not counting"][kind]) * 1e6
            figures[kind] = {
                "counting_us": round(on),
                "ceiling_us": round(off),
                "ratio": round(on / off, 3),
                "added_us": round(on - off),
            }
    for kind in ("insert", "update"):
        on = statistics.median(bulk["counting"][kind]) * 1e6
        off = statistics.median(bulk["not counting"][kind]) * 1e6
        figures[f"in one transaction, per attempt: {kind}"] = {
            "counting_us": round(on, 1),
            "ceiling_us": round(off, 1),
            "ratio": round(on / off, 3),
            "added_us": round(on - off, 1),
        }
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="orchestrator bench rollup_writes",
        description="Time sends and reports with and without the overview's counting triggers.",
    )
    parser.add_argument("--sends", type=int, default=2000, help="per mode (default: 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="alternations (default: 5)")
    parser.add_argument("--sqlite", action="store_true", help="on a SQLite file instead")
    parser.add_argument(
        "--postgres-url", default=DEFAULT_PG, help="a PostgreSQL server (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.sends <= 0 or args.rounds <= 0:
        parser.error("--sends and --rounds must be positive")
    print(json.dumps(run(args.sends * 2, args.rounds, args.sqlite, args.postgres_url), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
