"""Ingest benchmark: push accounts through ``POST /v1/accounts:batch`` on the real server.

Starts ``orchestrator api`` as a separate process on a fresh database (a SQLite file, and/or
a fresh schema in PostgreSQL), creates a tenant, sends N generated accounts in batches from a
few concurrent clients, checks that every account landed, and reports accounts per second.
The payloads are generated and serialised before the clock starts.

Each database is measured with personal data sealed at rest (as in production) and without
(the benchmarks' null cipher, ``bench/unsealed.py``), one after the other on fresh databases,
and the ratio is what sealing costs intake (``--sealing on|off|both``).

    python bench/ingest.py --accounts 200000 --database both
    orchestrator bench ingest --accounts 200000 --database postgres --workers 2 --sealing on
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import orjson
import sqlalchemy as sa

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.unsealed import HELP as SEALING_HELP
from bench.unsealed import cost, modes, sealing
from orchestrator.store.db import Store
from orchestrator.store.migrate import upgrade
from orchestrator.store.tables import Account
from orchestrator.tenancy import Role, create_tenant, issue_key

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parents[1]

_US_STATES = [
    ("NY", "10001", "212"),
    ("CA", "94103", "415"),
    ("TX", "75201", "214"),
    ("FL", "33101", "305"),
    ("IL", "60601", "312"),
    ("MA", "02108", "617"),
    ("WA", "98101", "206"),
    ("AZ", "85001", "602"),
    ("HI", "96813", "808"),
]
_AU_STATES = [("NSW", "2000", "2"), ("VIC", "3000", "3"), ("QLD", "4000", "7"), ("WA", "6000", "8")]


def account(index: int, rng: random.Random, today: date) -> dict[str, object]:
    """One realistic account: a mix of countries, channels, amounts and days past due."""
    country = rng.choices(["US", "CN", "GB", "AU"], weights=[50, 30, 10, 10])[0]
    dpd = rng.randint(-5, 90)
    if country == "US":
        region, postal, area = rng.choice(_US_STATES)
        phone = f"+1{area}{rng.randint(2, 9)}{rng.randint(0, 999999):06d}"
        locale, currency = "en-US", "USD"
    elif country == "CN":
        region, postal = rng.choice([("GD", "510000"), ("BJ", "100000"), ("SH", "200000")])
        phone = f"+86138{rng.randint(0, 99999999):08d}"
        locale, currency = "zh-CN", "CNY"
    elif country == "GB":
        region, postal = "ENG", "SW1A 1AA"
        phone = f"+447400{rng.randint(0, 999999):06d}"
        locale, currency = "en-GB", "GBP"
    else:
        region, postal, area = rng.choice(_AU_STATES)
        phone = f"+61412{rng.randint(0, 999999):06d}"
        locale, currency = "en-AU", "AUD"
    points: list[dict[str, object]] = [{"channel": "sms", "address": phone, "consent": True}]
    if rng.random() < 0.7:
        points.append({"channel": "call", "address": phone, "consent": True})
    if rng.random() < 0.8:
        points.append({"channel": "email", "address": f"b{index}@example.org"})
    if rng.random() < 0.4:
        points.append({"channel": "push", "address": secrets.token_urlsafe(24)})
    doc: dict[str, object] = {
        "external_id": f"loan-{index}",
        "borrower": {
            "name": f"Borrower {index}",
            "locale": locale,
            "address": {"country": country, "region": region, "postal_code": postal},
        },
        "contact_points": points,
        "debt": {
            "amount_due": f"{rng.randint(20, 5000)}.{rng.randint(0, 99):02d}",
            "currency": currency,
            "due_date": (today - timedelta(days=dpd)).isoformat(),
            "product": rng.choice(["bnpl", "cash_loan", "card"]),
        },
    }
    if rng.random() < 0.05:
        doc["events"] = [
            {
                "type": "promise_to_pay",
                "at": today.isoformat(),
                "until": (today + timedelta(days=7)).isoformat(),
                "amount": "100.00",
            }
        ]
    return doc


def payloads(total: int, batch: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    today = datetime.now(UTC).date()
    return [
        orjson.dumps(
            {"accounts": [account(i, rng, today) for i in range(start, min(start + batch, total))]}
        )
        for start in range(0, total, batch)
    ]


@contextmanager
def fresh_database(kind: str, pg_url: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    schema = f"bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"
    try:
        yield f"{pg_url}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def api_server(url: str, workers: int, mode: str = "on") -> Iterator[str]:
    """``orchestrator api`` on ``url``; with ``mode`` off, the same with the null cipher."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "ORCHESTRATOR_LOG_LEVEL": "WARNING"}
    command = ["-m", "orchestrator", "api"] if mode == "on" else ["-m", "bench.unsealed"]
    # A file, not a pipe: a server that neither starts nor exits cannot block reading it.
    errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen(
        [sys.executable, *command, "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Generous: on a loaded machine the workers' imports alone can take a minute.
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                errors.seek(0)
                raise RuntimeError(f"the API did not start: {errors.read().decode()[-2000:]}")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        errors.close()


@dataclass
class Outcome:
    database: str
    sealing: str
    accounts: int
    seconds: float
    latencies: list[float]
    stored: int

    @property
    def rate(self) -> float:
        return self.accounts / self.seconds


def run_one(
    kind: str,
    *,
    total: int,
    batch: int,
    workers: int,
    concurrency: int,
    pg_url: str,
    bodies: list[bytes],
    mode: str = "on",
) -> Outcome:
    with sealing(mode), fresh_database(kind, pg_url) as url:
        store = Store.connect(url)
        upgrade(store.engine)
        now = datetime.now(UTC)
        with store.transaction() as conn:
            tenant = create_tenant(conn, "bench", name="Bench Lending", now=now)
            key = issue_key(conn, tenant, role=Role.LENDER, now=now)
        with api_server(url, workers, mode) as base:
            work: queue.Queue[bytes] = queue.Queue()
            for body in bodies:
                work.put(body)
            latencies: list[float] = []
            failures: list[str] = []

            def client() -> None:
                with httpx.Client(
                    base_url=base,
                    timeout=300,
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                ) as http:
                    while True:
                        try:
                            body = work.get_nowait()
                        except queue.Empty:
                            return
                        started = time.perf_counter()
                        try:
                            response = http.post("/v1/accounts:batch", content=body)
                        except httpx.HTTPError as exc:
                            # Said as a failed batch, not left to a dying thread's traceback.
                            failures.append(f"{type(exc).__name__}: {exc}")
                            continue
                        latencies.append(time.perf_counter() - started)
                        if response.status_code != 200 or response.json()["rejected"]:
                            failures.append(response.text[:500])

            threads = [threading.Thread(target=client) for _ in range(concurrency)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        if failures:
            raise RuntimeError(f"{len(failures)} batches failed, e.g. {failures[0]}")
        with store.snapshot() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(Account)).scalar_one()
        store.dispose()
    return Outcome(kind, mode, total, elapsed, latencies, stored)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=200_000, help="accounts to send (200,000)")
    parser.add_argument("--batch", type=int, default=10_000, help="accounts per request (10,000)")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2, help="API worker processes (2)")
    parser.add_argument("--concurrency", type=int, default=2, help="concurrent clients (2)")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--sealing", choices=["on", "off", "both"], default="both", help=SEALING_HELP
    )
    args = parser.parse_args(argv)

    print(f"generating {args.accounts:,} accounts in batches of {args.batch:,} ...", flush=True)
    bodies = payloads(args.accounts, args.batch, args.seed)
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    print(
        f"{'database':<10} {'sealing':<8} {'accounts':>9} {'seconds':>8} {'accounts/s':>11} "
        f"{'batch p50':>10} {'batch p99':>10} {'stored':>8}"
    )
    costs = []
    for kind in kinds:
        # SQLite takes one writer at a time: one API worker is its honest configuration.
        workers = 1 if kind == "sqlite" else args.workers
        seconds: dict[str, float] = {}
        for mode in modes(args.sealing):
            outcome = run_one(
                kind,
                total=args.accounts,
                batch=args.batch,
                workers=workers,
                concurrency=args.concurrency,
                pg_url=args.postgres_url,
                bodies=bodies,
                mode=mode,
            )
            lat = sorted(outcome.latencies)
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            print(
                f"{kind:<10} {mode:<8} {outcome.accounts:>9,} {outcome.seconds:>8.1f} "
                f"{outcome.rate:>11,.0f} {statistics.median(lat):>9.2f}s {p99:>9.2f}s "
                f"{outcome.stored:>8,}",
                flush=True,
            )
            if outcome.stored != outcome.accounts:
                print(
                    f"LOST ACCOUNTS: sent {outcome.accounts}, stored {outcome.stored}",
                    file=sys.stderr,
                )
                return 1
            seconds[mode] = outcome.seconds
        if len(seconds) == 2:
            added = (seconds["on"] - seconds["off"]) / args.accounts * 1e6
            costs.append(
                f"{kind}: sealing on takes {cost(seconds['on'], seconds['off'])} the time of "
                f"sealing off, {added:+,.0f} µs of wall time per account"
            )
    for line in costs:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
