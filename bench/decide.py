"""Benchmark: ``decide()`` on an account with 60 days of contact history.

Prints decisions per second and latency percentiles on one core (the loop is single
threaded; pin it with ``taskset -c 0`` for a quieter figure). ``main(argv)`` is what the
CLI's ``orchestrator bench decide`` calls.

    python bench/decide.py --decisions 200000
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator.compliance import AccountFacts, PastContact, RulePack, decide
from orchestrator.compliance.zones import resolve_zones
from orchestrator.configuration.rulepacks import load_rule_library
from orchestrator.domain import Channel, ContactKind

CONFIG = Path(__file__).resolve().parents[1] / "config" / "compliance"
KINDS = (
    ContactKind.ATTEMPT,
    ContactKind.ATTEMPT,
    ContactKind.NOT_CONNECTED,
    ContactKind.LIMITED_CONTENT,
    ContactKind.CONVERSATION,
)
PLACES = {
    "US-NY": dict(country="US", region="NY", postal_code="10001", phones=["+14155550123"]),
    "US-MA": dict(country="US", region="MA", postal_code="02110", phones=["+16175550123"]),
    "US": dict(country="US", region=None, postal_code=None, phones=["+12125550123"]),
    "CN-GD": dict(country="CN", region="GD", postal_code=None, phones=["+8613812345678"]),
    "GB": dict(country="GB", region=None, postal_code=None, phones=["+442071234567"]),
    "AU-NSW": dict(country="AU", region="NSW", postal_code="2000", phones=["+61412345678"]),
}


def history_of(
    account: AccountFacts,
    pack: RulePack,
    now: datetime,
    days: int,
    per_day: float,
    rng: random.Random,
) -> list[PastContact]:
    """A compliant contact history: ``per_day`` attempts a day on average at random times
    and channels over ``days`` days, of which only those the engine allowed were made (as
    a real ledger would hold)."""
    contacts: list[PastContact] = []
    tries = sorted(
        now - timedelta(seconds=rng.randrange(days * 86400)) for _ in range(int(days * per_day))
    )
    for at in tries:
        channel = rng.choice(list(Channel))
        if decide(account, contacts, channel, at, pack).allowed:
            kind = rng.choice(KINDS) if channel is Channel.CALL else ContactKind.ATTEMPT
            contacts.append(PastContact(at, channel, kind))
    return contacts


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the process exit code.

    Parameters:
      argv: command-line arguments (see ``--help``).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=100_000, help="decide() calls to time")
    parser.add_argument("--jurisdiction", choices=sorted(PLACES), default="US-NY")
    parser.add_argument("--days", type=int, default=60, help="days of history (default 60)")
    parser.add_argument(
        "--per-day",
        type=float,
        default=4.0,
        help="contact attempts a day (only allowed ones are kept)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    library = load_rule_library(CONFIG)
    pack = library.pack_for(args.jurisdiction)
    zones = resolve_zones(explicit=None, **PLACES[args.jurisdiction])
    now = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    account = AccountFacts(args.jurisdiction, zones, Decimal("1250.00"), "USD")
    history = history_of(account, pack, now, args.days, args.per_day, rng)
    # Candidates over the next two days, minute resolution, every channel.
    candidates = [
        (rng.choice(list(Channel)), now + timedelta(minutes=rng.randrange(2 * 24 * 60)))
        for _ in range(min(args.decisions, 20_000))
    ]
    for channel, at in candidates:  # warm the per-day window caches, as a running worker has
        decide(account, history, channel, at, pack)

    latencies = [0] * args.decisions
    allowed = 0
    clock = time.perf_counter_ns
    gc.disable()
    started = clock()
    for i in range(args.decisions):
        channel, at = candidates[i % len(candidates)]
        t0 = clock()
        decision = decide(account, history, channel, at, pack)
        latencies[i] = clock() - t0
        allowed += decision.allowed
    elapsed = (clock() - started) / 1e9
    gc.enable()

    latencies.sort()
    pct = {
        p: latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] / 1000
        for p in (50, 99)
    }
    result = {
        "jurisdiction": args.jurisdiction,
        "zones": list(zones),
        "history_contacts": len(history),
        "decisions": args.decisions,
        "allowed_share": round(allowed / args.decisions, 3),
        "decisions_per_second": round(args.decisions / elapsed),
        "p50_us": round(pct[50], 1),
        "p99_us": round(pct[99], 1),
        "mean_us": round(statistics.fmean(latencies) / 1000, 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"decide(): {result['jurisdiction']} zones={len(zones)} history={len(history)} contacts"
        )
        print(
            f"  {result['decisions_per_second']:,} decisions/s over {args.decisions:,} calls "
            f"({result['allowed_share']:.0%} allowed)"
        )
        print(
            f"  p50 {result['p50_us']} µs   p99 {result['p99_us']} µs   mean {result['mean_us']} µs"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
