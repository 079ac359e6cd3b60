"""Simulation benchmark: ``orchestrator simulate`` on a generated portfolio, wall clock.

Writes N sample accounts (the demo's generator: US, China, UK, Australia, due dates from
three days ahead to six weeks behind, a few disputes and promises) as JSON Lines, runs the
real command as a separate process — start-up, loading, the run and the report included —
and reports the wall time and the contacts logged.

    python bench/simulate.py --accounts 10000 --days 60
    orchestrator bench simulate --accounts 10000 --days 60 --json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson
from rich.console import Console
from rich.table import Table

from orchestrator.demo.samples import sample_portfolio

TARGET_SECONDS = 60.0  # 10,000 accounts, 60 days


def run(accounts: int, days: int, start: date, seed: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as folder:
        portfolio = Path(folder) / "portfolio.jsonl"
        log = Path(folder) / "contacts.jsonl"
        with portfolio.open("wb") as handle:
            for doc in sample_portfolio(accounts, today=start, seed=seed):
                handle.write(orjson.dumps(doc) + b"\n")
        command = [
            sys.executable, "-m", "orchestrator", "simulate", str(portfolio),
            "--days", str(days), "--start", start.isoformat(), "--seed", str(seed),
            "--out", str(log),
        ]  # fmt: skip
        began = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"orchestrator simulate failed:\n{done.stderr or done.stdout}")
        decisions: dict[str, int] = {}
        with log.open("rb") as handle:
            for line in handle:
                decision = orjson.loads(line)["decision"]
                decisions[decision] = decisions.get(decision, 0) + 1
    return {
        "accounts": accounts,
        "days": days,
        "seconds": round(seconds, 2),
        "account_days_per_second": round(accounts * days / seconds),
        "log_lines": decisions,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="orchestrator bench simulate",
        description="Time `orchestrator simulate` end to end on a generated portfolio.",
    )
    parser.add_argument("--accounts", type=int, default=10_000, help="default: 10,000")
    parser.add_argument("--days", type=int, default=60, help="virtual days (default: 60)")
    parser.add_argument("--start", default="2026-11-23", help="first day (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.accounts <= 0 or args.days <= 0:
        parser.error("--accounts and --days must be positive")
    try:
        start = date.fromisoformat(args.start)
    except ValueError:
        parser.error(f"--start must be a date, YYYY-MM-DD, not {args.start!r}")
    console = Console(stderr=True)
    with console.status(f"simulating {args.accounts:,} accounts for {args.days} days"):
        figures = run(args.accounts, args.days, start, args.seed)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    table = Table(
        title=f"orchestrator simulate (target: 10,000 × 60 days < {TARGET_SECONDS:.0f} s)"
    )
    for column in ("accounts", "days", "seconds", "account-days/s", "sent", "blocked"):
        table.add_column(column, justify="right")
    lines = figures["log_lines"]
    assert isinstance(lines, dict)
    table.add_row(
        f"{args.accounts:,}",
        str(args.days),
        f"{figures['seconds']:.1f}",
        f"{figures['account_days_per_second']:,}",
        f"{lines.get('sent', 0):,}",
        f"{lines.get('blocked', 0):,}",
    )
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
