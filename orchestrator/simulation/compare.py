"""Simulate before applying: the current and a proposed strategy over the same sample of a
tenant's real accounts, side by side.

The sample is drawn from the store deterministically (the same seed and the same accounts
give the same sample); each account starts from its real facts (contact points, events,
holds) and its real contact history within the rule packs' lookback. Its pending tasks are
left out: both strategies plan from the same start. Nothing is written anywhere: the store is
only read, and the simulation runs in memory.

Each strategy is run twice on the same virtual days and seed (:mod:`.run`):

- with the outcome model (``config/simulation/outcomes.yaml``), for the figures: contacts
  per channel, blocks by rule (with the rule's citation), expected payments;
- with every outcome fixed (every message delivered, every call unanswered, no borrower
  reaction), for the accounts whose treatment changes: one random stream serves the whole
  run, so with drawn outcomes one account's change would shift every later account's draws;
  fixed, a difference is the strategy's, not chance's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.configuration.source import ConfigSet
from orchestrator.planning.facts import ACCOUNT_COLUMNS, Loaded, load
from orchestrator.planning.planner import PlanningAccount
from orchestrator.simulation.run import (
    CallRates,
    DeliveryRates,
    OutcomeModel,
    SimAccount,
    Simulation,
    Summary,
)
from orchestrator.store.tables import Account

MAX_SAMPLE = 2_000
MAX_DAYS = 90
# A multiplicative hash (Knuth's) of the account id, plus the seed: a fixed permutation of
# the tenant's accounts that any SQL database computes the same way.
_MULTIPLIER = 2_654_435_761
_MODULUS = 4_294_967_296

# What the treatment is compared under: outcomes that draw nothing from chance.
FIXED_OUTCOMES = OutcomeModel(
    delivery=DeliveryRates(sms=1, email=1, push=1),
    call=CallRates(answered=0, voicemail=0, not_connected=0),
    reply_stop=0,
    pay_in_full=0,
    promise_to_pay=0,
    keep_promise=0,
    dispute=0,
)

ContactKey = tuple[str, str, str, str, str, str]  # step, variant, channel, template, decision, day


@dataclass(frozen=True, slots=True)
class Run:
    """What one strategy did over the sample."""

    strategy: str
    summary: Summary

    def as_json(self) -> dict[str, Any]:
        contacts: Counter[str] = Counter()
        for (_, channel), count in self.summary.per_day_channel.items():
            contacts[channel] += count
        citations = self.summary.citations
        return {
            "strategy": self.strategy,
            "contacts": dict(sorted(contacts.items())),
            "blocked": self.summary.blocked,
            "blocks_by_rule": [
                {"rule": rule, "citation": citations.get(rule), "count": count}
                for rule, count in sorted(
                    self.summary.blocks_by_rule.items(), key=lambda item: (-item[1], item[0])
                )
            ],
            "payments": self.summary.payments,
            "collected": {c: str(v) for c, v in sorted(self.summary.collected.items())},
            "accounts_reached": len(self.summary.accounts_contacted),
        }


@dataclass(frozen=True, slots=True)
class Change:
    """One account whose treatment differs: the contacts only one strategy makes."""

    account: str
    removed: tuple[ContactKey, ...]  # the current strategy's only
    added: tuple[ContactKey, ...]  # the proposed strategy's only


@dataclass(frozen=True, slots=True)
class Comparison:
    tenant: str
    sample: int
    days: int
    start: datetime
    seed: int
    current: Run
    proposed: Run
    changed_accounts: int
    changes: tuple[Change, ...]  # the first ``limit``, by external id

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "sample": self.sample,
            "days": self.days,
            "start": self.start.isoformat().replace("+00:00", "Z"),
            "seed": self.seed,
            "current": self.current.as_json(),
            "proposed": self.proposed.as_json(),
            "changed_accounts": self.changed_accounts,
            "changes": [
                {
                    "account": change.account,
                    "removed": [_contact(key) for key in change.removed],
                    "added": [_contact(key) for key in change.added],
                }
                for change in self.changes
            ],
        }


def sample_accounts(
    conn: Connection, *, tenant_id: int, size: int, seed: int, since: datetime
) -> list[Loaded]:
    """``size`` of the tenant's accounts, the same for the same seed, with their facts and
    contact history since ``since`` (pending tasks left out)."""
    order = (Account.id * _MULTIPLIER + seed) % _MODULUS
    rows = conn.execute(
        sa.select(*ACCOUNT_COLUMNS)
        .where(Account.tenant_id == tenant_id)
        .order_by(order, Account.id)
        .limit(size)
    ).all()
    loaded = load(conn, rows, since=since, include_pending=False)
    return [loaded[row.id] for row in rows]


def compare(
    sample: Sequence[Loaded],
    *,
    tenant: str,
    current: ConfigSet,
    proposed: ConfigSet,
    model: OutcomeModel,
    start: datetime,
    days: int,
    seed: int = 1,
    limit: int = 50,
) -> Comparison:
    """Run the tenant's strategy in ``current`` and in ``proposed`` over ``sample``.

    Parameters:
      sample: from :func:`sample_accounts`.
      tenant: whose strategy (and rule packs).
      current / proposed: the configuration in force, and as it would be with the change
        (``ConfigSource.candidate``).
      model: the outcome model for the figures.
      start / days: the virtual period.
      seed: the simulation's random seed (the same for both strategies).
      limit: how many changed accounts to list.
    """
    runs = {}
    treatments = {}
    for name, config in (("current", current), ("proposed", proposed)):
        strategy = config.strategy_for(tenant)
        lines: list[dict[str, Any]] = []
        runs[name] = Run(
            strategy.name,
            Simulation(
                _accounts(sample, config, tenant),
                [],
                tenant=tenant,
                strategy=strategy,
                model=model,
                seed=seed,
                write=lambda _line: None,
            ).run(start, days),
        )
        Simulation(
            _accounts(sample, config, tenant),
            [],
            tenant=tenant,
            strategy=strategy,
            model=FIXED_OUTCOMES,
            seed=seed,
            write=lines.append,
        ).run(start, days)
        treatments[name] = _by_account(lines)
    changes = []
    for item in sorted(sample, key=lambda i: str(i.row.external_id)):
        account = str(item.row.external_id)
        before = Counter(treatments["current"].get(account, []))
        after = Counter(treatments["proposed"].get(account, []))
        if before != after:
            changes.append(
                Change(
                    account,
                    tuple(sorted((before - after).elements())),
                    tuple(sorted((after - before).elements())),
                )
            )
    return Comparison(
        tenant=tenant,
        sample=len(sample),
        days=days,
        start=start,
        seed=seed,
        current=runs["current"],
        proposed=runs["proposed"],
        changed_accounts=len(changes),
        changes=tuple(changes[:limit]),
    )


def _accounts(sample: Sequence[Loaded], config: ConfigSet, tenant: str) -> list[SimAccount]:
    """Fresh simulated accounts (a run changes them) from the sampled rows."""
    accounts = []
    for index, item in enumerate(sample):
        row = item.row
        base = PlanningAccount(
            index, row.external_id, item.facts, row.due_date, row.product, row.risk_score
        )
        accounts.append(
            SimAccount(
                index,
                row.external_id,
                base,
                config.pack_for(row.jurisdiction, tenant),
                item.facts,
                history=list(item.history),
            )
        )
    return accounts


def _by_account(lines: list[dict[str, Any]]) -> dict[str, list[ContactKey]]:
    found: dict[str, list[ContactKey]] = defaultdict(list)
    for line in lines:
        if line["decision"] == "outcome":
            continue  # what happened after a contact (a visit's outcome), not a treatment
        found[line["external_id"]].append(
            (
                line["step"],
                line["variant"],
                line["channel"],
                line["template"],
                line["decision"],
                line["at_local"][:10],
            )
        )
    return found


def _contact(key: ContactKey) -> dict[str, str]:
    step, variant, channel, template, decision, day = key
    return {
        "step": step,
        "variant": variant,
        "channel": channel,
        "template": template,
        "decision": decision,
        "day": day,
    }
