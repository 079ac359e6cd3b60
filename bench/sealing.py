"""What sealing personal data at rest costs intake and dispatch's reads, in one process.

Writes N generated accounts (``prepare`` + ``write_accounts``, the API's write step, with
its contact points) into a fresh store, then reads them back the way planning and a claim do
(accounts with their contact points, through the sealed column types), once with
encryption on and once off (``Keyring(enabled=False)``: the same code path, values stored
unsealed), and reports microseconds per account, best of ``--repeat`` runs. In-process, so
it measures the cost itself, not the machine's other load.

    python bench/sealing.py --accounts 5000 --database both
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import DEFAULT_PG, fresh_database, payloads
from orchestrator.intake.document import AccountDocument
from orchestrator.intake.upsert import prepare, write_accounts
from orchestrator.store.db import Store
from orchestrator.store.keys import Keyring, development_environment
from orchestrator.store.migrate import upgrade
from orchestrator.store.tables import Account, ContactPoint
from orchestrator.tenancy import create_tenant

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def run(kind: str, pg_url: str, documents: list, *, enabled: bool) -> tuple[float, float]:
    keyring = Keyring.from_environment(development_environment())
    keyring.enabled = enabled
    with fresh_database(kind, pg_url) as url:
        store = Store.connect(url, keyring=keyring)
        upgrade(store.engine)
        with store.transaction() as conn:
            tenant = create_tenant(conn, "bench", name="Bench", now=NOW)
        prepared = [prepare(d, now=NOW) for d in documents]
        started = time.perf_counter()
        for start in range(0, len(prepared), 1000):
            with store.transaction() as conn:
                write_accounts(conn, tenant, prepared[start : start + 1000], now=NOW, source="api")
        written = time.perf_counter() - started
        started = time.perf_counter()
        with store.snapshot() as conn:
            accounts = conn.execute(sa.select(Account)).all()
            points = conn.execute(sa.select(ContactPoint)).all()
        read = time.perf_counter() - started
        if len(accounts) != len(documents) or not points:
            raise RuntimeError("the accounts did not all land")
        store.dispose()
    n = len(documents)
    return written / n * 1e6, read / n * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=5_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG))
    args = parser.parse_args(argv)
    body = payloads(args.accounts, args.accounts, 7)[0]
    documents = [AccountDocument.model_validate(d) for d in orjson.loads(body)["accounts"]]
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    print(f"{'database':<10} {'sealing':<8} {'write µs/account':>17} {'read µs/account':>16}")
    for kind in kinds:
        for enabled in (False, True):
            runs = [
                run(kind, args.postgres_url, documents, enabled=enabled) for _ in range(args.repeat)
            ]
            write = min(r[0] for r in runs)
            read = min(r[1] for r in runs)
            label = "on" if enabled else "off"
            print(f"{kind:<10} {label:<8} {write:>17.1f} {read:>16.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
