"""Champion against challenger: what each arm of each strategy segment achieved in a period.

Every task records its step (``segment.step``) and the variant its account fell in. An
account belongs to the *cohort* of the segment and arm of its first task in the period (the
earliest step date, then the earliest task): one account, one arm, so arms add up to the
tenant's total. A segment without variants has one arm, ``champion``. What the cohort's
accounts then got and did in the period is counted from the store's facts:

- attempts: contacts tried (attempt rows), except those the provider refused outright;
- contacted: accounts reached at least once: a message the provider accepted and did not
  report undelivered (``sent`` or ``delivered``), or a call answered by the borrower or by
  voicemail;
- right-party contact: accounts with at least one call answered by the borrower (a
  conversation: the call outcomes ``right_party_contact``, ``promise_to_pay``, ``dispute``,
  ``cease_request``);
- promised: accounts with a ``promise_to_pay`` event in the period;
- promises due / kept: promises whose date (``until``) falls in the period; kept when the
  account's payments from the promise to its date add up to the promised amount (any payment,
  for a promise without one);
- paying: accounts with a ``payment`` event in the period; collected: those payments' sum,
  per currency (a payment without an amount counts as paying and adds nothing);
- cost per channel: messages the provider accepted (``queued``, ``sent``, ``delivered``,
  ``undelivered``, ``bounced``), each priced at its provider's ``cost.per_message`` in the
  channel config in force; messages through a provider without a cost are ``unpriced``.

The period is [from, to): step dates (the borrower's local dates) from ``from`` to the day
before ``to``; instants from ``from`` 00:00 UTC to ``to`` 00:00 UTC.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from orchestrator.configuration.channel_config import ChannelsConfig
from orchestrator.domain import Channel, ContactKind, EventType, currency_places
from orchestrator.store import kept_results
from orchestrator.store.db import Store
from orchestrator.store.tables import Account, Attempt, Task
from orchestrator.store.tables import AccountEvent as EventRow

CHAMPION = "champion"
MAX_DAYS = 366
# Statuses of an attempt the provider accepted (and so bills).
BILLED = kept_results.BILLED
_REACHED = kept_results.REACHED
_ANSWERED = kept_results.ANSWERED
_COST_PLACES = Decimal("0.0001")


class PeriodError(ValueError):
    """A period that cannot be reported on: ``field`` names the bad end."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class ChannelCost:
    """One channel's accepted messages in an arm, and what they cost."""

    messages: int = 0
    cost: Mapping[str, Decimal] = field(default_factory=dict)  # by the cost's currency
    unpriced: int = 0  # messages through a provider with no cost configured


@dataclass(frozen=True, slots=True)
class ArmResult:
    """One arm of one segment over the period (the module's docstring defines each count)."""

    segment: str
    arm: str
    accounts: int
    attempts: int
    contacted: int
    right_party: int
    promised: int
    promises_due: int
    promises_kept: int
    paying: int
    collected: Mapping[str, Decimal]  # by the accounts' currency
    channels: Mapping[str, ChannelCost]

    @property
    def contact_rate(self) -> float | None:
        return _rate(self.contacted, self.accounts)

    @property
    def right_party_rate(self) -> float | None:
        return _rate(self.right_party, self.accounts)

    @property
    def promise_rate(self) -> float | None:
        return _rate(self.promised, self.accounts)

    @property
    def kept_rate(self) -> float | None:
        return _rate(self.promises_kept, self.promises_due)

    @property
    def payment_rate(self) -> float | None:
        return _rate(self.paying, self.accounts)


@dataclass(frozen=True, slots=True)
class Results:
    tenant: str
    start: date
    end: date
    arms: tuple[ArmResult, ...]

    def as_json(self) -> dict[str, Any]:
        """The API's answer: every count, every rate (``null`` when its base is 0), money
        as decimal strings."""
        return {
            "tenant": self.tenant,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "arms": [
                {
                    "segment": a.segment,
                    "arm": a.arm,
                    "accounts": a.accounts,
                    "attempts": a.attempts,
                    "contacted": a.contacted,
                    "contact_rate": a.contact_rate,
                    "right_party": a.right_party,
                    "right_party_rate": a.right_party_rate,
                    "promised": a.promised,
                    "promise_rate": a.promise_rate,
                    "promises_due": a.promises_due,
                    "promises_kept": a.promises_kept,
                    "kept_rate": a.kept_rate,
                    "paying": a.paying,
                    "payment_rate": a.payment_rate,
                    "collected": {c: _money(v, c) for c, v in sorted(a.collected.items())},
                    "channels": {
                        name: {
                            "messages": cost.messages,
                            "cost": {c: f"{v:f}" for c, v in sorted(cost.cost.items())},
                            "unpriced": cost.unpriced,
                        }
                        for name, cost in sorted(a.channels.items())
                    },
                }
                for a in self.arms
            ],
        }

    def as_csv(self) -> str:
        """The same figures as :meth:`as_json`, one row per arm: a column per currency
        collected (``collected_USD``) and per channel (``sms_messages``, ``sms_cost_USD``,
        ``sms_unpriced``)."""
        rows = self.as_json()["arms"]
        currencies = sorted({c for r in rows for c in r["collected"]})
        channels = sorted({ch for r in rows for ch in r["channels"]})
        costs = {
            ch: sorted({c for r in rows for c in r["channels"].get(ch, {}).get("cost", {})})
            for ch in channels
        }
        header = ["from", "to", "segment", "arm", *_COUNTS]
        header += [f"collected_{c}" for c in currencies]
        for ch in channels:
            header += [f"{ch}_messages", *(f"{ch}_cost_{c}" for c in costs[ch]), f"{ch}_unpriced"]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for r in rows:
            line: list[Any] = [self.start.isoformat(), self.end.isoformat(), r["segment"], r["arm"]]
            line += ["" if r[name] is None else r[name] for name in _COUNTS]
            line += [r["collected"].get(c, "0") for c in currencies]
            for ch in channels:
                found = r["channels"].get(ch, {"messages": 0, "cost": {}, "unpriced": 0})
                line += [found["messages"], *(found["cost"].get(c, "0") for c in costs[ch])]
                line.append(found["unpriced"])
            writer.writerow(line)
        return out.getvalue()


_COUNTS = (
    "accounts",
    "attempts",
    "contacted",
    "contact_rate",
    "right_party",
    "right_party_rate",
    "promised",
    "promise_rate",
    "promises_due",
    "promises_kept",
    "kept_rate",
    "paying",
    "payment_rate",
)


def check_period(start: date, end: date) -> None:
    """Raise :class:`PeriodError` unless ``start`` is before ``end`` and at most
    :data:`MAX_DAYS` before it."""
    if end <= start:
        raise PeriodError("to", f"to ({end}) must be after from ({start})")
    if (end - start).days > MAX_DAYS:
        raise PeriodError(
            "from", f"a period is at most {MAX_DAYS} days; this one has {(end - start).days}"
        )


def results(
    conn: Connection,
    *,
    tenant_id: int,
    tenant: str,
    start: date,
    end: date,
    channels: ChannelsConfig | None,
) -> Results:
    """The tenant's results per segment and arm over [``start``, ``end``), counted from the
    rows (the exact path: any period).

    Parameters:
      conn: a connection (a snapshot is enough: this only reads).
      tenant_id / tenant: whose results (the id filters, the slug labels).
      start / end: the period, ``end`` excluded (:func:`check_period`).
      channels: the channel config in force for the tenant, for the cost of each provider
        (``None``: every message unpriced).
    """
    check_period(start, end)
    rows = figure_rows(conn, tenant_id=tenant_id, start=start, end=end)
    return assemble(rows, tenant=tenant, start=start, end=end, channels=channels)


def period_results(
    store: Store,
    *,
    tenant_id: int,
    tenant: str,
    start: date,
    end: date,
    channels: ChannelsConfig | None,
    now: datetime,
) -> Results:
    """What the API, the console and the CLI answer: :func:`results`. A whole calendar
    month is read from its kept totals (``store/kept_results.py``: the writes since folded
    in first, the month built from the rows the first time it is read); any other period is
    counted from the rows."""
    check_period(start, end)
    if not kept_results.is_month(start, end):
        with store.snapshot() as conn:
            return results(
                conn, tenant_id=tenant_id, tenant=tenant, start=start, end=end, channels=channels
            )
    rows = kept_results.month_rows(store, tenant_id, start, now)
    return assemble(rows, tenant=tenant, start=start, end=end, channels=channels)


def figure_rows(
    conn: Connection, *, tenant_id: int, start: date, end: date
) -> list[tuple[Any, ...]]:
    """Every figure of every arm over [``start``, ``end``) as :func:`_figures`' rows, money
    decoded to :class:`~decimal.Decimal` (what :func:`assemble` takes, as it takes the kept
    month's totals, ``kept_results.totals``)."""
    dialect = conn.dialect.name
    since = datetime.combine(start, time(0), UTC)
    until = datetime.combine(end, time(0), UTC)
    if dialect == "postgresql":
        # The cohort's sort and the per-account hashes fit in memory at a million accounts.
        conn.execute(sa.text("SET LOCAL work_mem = '128MB'"))
        # Its row estimates over the cohort are far off, which makes JIT compile for seconds
        # a query that runs in a fraction of one.
        conn.execute(sa.text("SET LOCAL jit = off"))
    cohort = _cohort(tenant_id, start, end, dialect)
    return [
        (
            row.kind,
            row.segment,
            row.arm,
            row.k1,
            row.k2,
            *(
                None if n is None else int(n)
                for n in (row.n1, row.n2, row.n3, row.n4, row.n5, row.n6)
            ),
            None if row.kind != "collected" else _decoded(row.money, dialect),
        )
        for row in conn.execute(_figures(cohort, tenant_id, since, until, dialect))
    ]


def assemble(
    rows: list[tuple[Any, ...]],
    *,
    tenant: str,
    start: date,
    end: date,
    channels: ChannelsConfig | None,
) -> Results:
    """The results from :func:`figure_rows`' rows, each message priced from ``channels``."""
    counts: list[tuple[Any, ...]] = []
    collected: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    promises: dict[tuple[str, str], tuple[int, int]] = {}
    billed: list[tuple[Any, ...]] = []
    for row in rows:
        kind, segment, arm, k1 = row[0], row[1], row[2], row[3]
        key = (segment, arm)
        if kind == "arm":
            counts.append(row)
        elif kind == "collected":
            collected[key][k1] = row[-1]
        elif kind == "promises":
            promises[key] = (int(row[5]), int(row[6] or 0))
        else:
            billed.append(row)
    prices = _prices(channels)
    # Priced in one order whichever path gave the rows (each sum is rounded as it goes).
    billed.sort(key=lambda row: (row[1], row[2] or "", row[3] or "", row[4] or ""))
    spent: dict[tuple[str, str], dict[str, ChannelCost]] = defaultdict(dict)
    for row in billed:
        segment, arm, channel, provider, messages = row[1], row[2], row[3], row[4], row[5]
        key = (segment, arm)
        before = spent[key].get(channel, ChannelCost())
        price = prices.get((channel, provider))
        cost = dict(before.cost)
        if price is not None:
            amount, currency = price
            cost[currency] = (cost.get(currency, Decimal(0)) + amount * messages).quantize(
                _COST_PLACES
            )
        spent[key][channel] = ChannelCost(
            before.messages + messages,
            cost,
            before.unpriced + (messages if price is None else 0),
        )
    arms = [
        ArmResult(
            segment=segment,
            arm=arm or CHAMPION,
            accounts=int(n1),
            attempts=int(n2),
            contacted=int(n3),
            right_party=int(n4),
            promised=int(n5),
            promises_due=promises.get((segment, arm), (0, 0))[0],
            promises_kept=promises.get((segment, arm), (0, 0))[1],
            paying=int(n6),
            collected=collected.get((segment, arm), {}),
            channels=spent.get((segment, arm), {}),
        )
        for _, segment, arm, _, _, n1, n2, n3, n4, n5, n6, _ in counts
    ]
    arms.sort(key=lambda a: (a.segment, a.arm != CHAMPION, a.arm))
    return Results(tenant, start, end, tuple(arms))


# --- the queries ---------------------------------------------------------------------------


def _segment(step: Any, dialect: str) -> Any:
    """The segment id of a task's ``segment.step`` (ids hold no dots)."""
    return kept_results.segment_of(step, dialect)


def _cohort(tenant_id: int, start: date, end: date, dialect: str) -> Any:
    """(account_id, segment, arm) of each account's first task in the period."""
    where = (Task.tenant_id == tenant_id, Task.local_date >= start, Task.local_date < end)
    segment = _segment(Task.step, dialect).label("segment")
    if dialect == "postgresql":
        return (
            sa.select(Task.account_id, segment, Task.variant.label("arm"))
            .where(*where)
            .ext(distinct_on(Task.account_id))
            .order_by(Task.account_id, Task.local_date, Task.id)
            .cte("cohort")
        )
    ranked = (
        sa.select(
            Task.account_id,
            segment,
            Task.variant.label("arm"),
            sa.func.row_number()
            .over(partition_by=Task.account_id, order_by=(Task.local_date, Task.id))
            .label("n"),
        )
        .where(*where)
        .subquery()
    )
    return (
        sa.select(ranked.c.account_id, ranked.c.segment, ranked.c.arm)
        .where(ranked.c.n == 1)
        .cte("cohort")
    )


def _flag(condition: Any) -> Any:
    return sa.case((condition, 1), else_=0)


def _total(column: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(column), 0)


def _per_account_attempts(tenant_id: int, since: datetime, until: datetime) -> Any:
    call = Attempt.channel == Channel.CALL.value
    reached = sa.or_(
        sa.and_(call, Attempt.contact_kind.in_(_ANSWERED)),
        sa.and_(sa.not_(call), Attempt.status.in_(_REACHED)),
    )
    return (
        sa.select(
            Attempt.account_id,
            sa.func.sum(_flag(Attempt.contact_kind != ContactKind.FAILED.value)).label("made"),
            sa.func.max(_flag(reached)).label("reached"),
            sa.func.max(_flag(Attempt.contact_kind == ContactKind.CONVERSATION.value)).label("rpc"),
        )
        .where(Attempt.tenant_id == tenant_id, Attempt.at >= since, Attempt.at < until)
        .group_by(Attempt.account_id)
        .subquery("contacts")
    )


def _per_account_events(tenant_id: int, since: datetime, until: datetime) -> Any:
    return (
        sa.select(
            EventRow.account_id,
            sa.func.max(_flag(EventRow.type == EventType.PROMISE_TO_PAY.value)).label("promised"),
            sa.func.max(_flag(EventRow.type == EventType.PAYMENT.value)).label("paid"),
        )
        .where(
            EventRow.tenant_id == tenant_id,
            EventRow.type.in_((EventType.PROMISE_TO_PAY.value, EventType.PAYMENT.value)),
            EventRow.at >= since,
            EventRow.at < until,
        )
        .group_by(EventRow.account_id)
        .subquery("outcomes")
    )


def _scaled(amount: Any, dialect: str) -> Any:
    """Money as something SQL adds exactly (``kept_results.scaled``)."""
    return kept_results.scaled(amount, dialect)


def _decoded(total: Any, dialect: str) -> Decimal:
    return kept_results.decoded(total, dialect)


def _collected(cohort: Any, tenant_id: int, since: datetime, until: datetime, dialect: str) -> Any:
    text: Any = sa.String()
    return (
        sa.select(
            sa.literal("collected", text).label("kind"),
            cohort.c.segment,
            cohort.c.arm,
            sa.cast(Account.currency, text).label("k1"),
            sa.cast(sa.null(), text).label("k2"),
            *_counts(),
            sa.cast(sa.func.sum(_scaled(EventRow.amount, dialect)), _SUM[dialect]).label("money"),
        )
        .join(cohort, cohort.c.account_id == EventRow.account_id)
        .join(Account, Account.id == EventRow.account_id)
        .where(
            EventRow.tenant_id == tenant_id,
            EventRow.type == EventType.PAYMENT.value,
            EventRow.at >= since,
            EventRow.at < until,
            EventRow.amount.is_not(None),
        )
        .group_by(cohort.c.segment, cohort.c.arm, Account.currency)
    )


def _promises(cohort: Any, tenant_id: int, since: datetime, until: datetime, dialect: str) -> Any:
    promise = aliased(EventRow, name="promise")
    kept = kept_results.promise_kept(promise, dialect)
    text: Any = sa.String()
    return (
        sa.select(
            sa.literal("promises", text).label("kind"),
            cohort.c.segment,
            cohort.c.arm,
            sa.cast(sa.null(), text).label("k1"),
            sa.cast(sa.null(), text).label("k2"),
            *_counts(sa.func.count(), sa.func.sum(kept)),
            sa.cast(sa.null(), _SUM[dialect]).label("money"),
        )
        .join(cohort, cohort.c.account_id == promise.account_id)
        .where(
            promise.tenant_id == tenant_id,
            promise.type == EventType.PROMISE_TO_PAY.value,
            promise.until >= since,
            promise.until < until,
        )
        .group_by(cohort.c.segment, cohort.c.arm)
    )


def _figures(cohort: Any, tenant_id: int, since: datetime, until: datetime, dialect: str) -> Any:
    """Every figure of every arm as rows of one statement, told apart by ``kind``:

    - ``arm``: n1 accounts, n2 attempts, n3 contacted, n4 right party, n5 promised, n6 paying;
    - ``collected``: k1 the currency, money the sum;
    - ``promises``: n1 due, n2 kept;
    - ``billed``: k1 the channel, k2 the provider, n1 the messages.
    """
    attempts = _per_account_attempts(tenant_id, since, until)
    events = _per_account_events(tenant_id, since, until)
    text: Any = sa.String()
    none = sa.null()
    arm = (
        sa.select(
            sa.literal("arm", text).label("kind"),
            cohort.c.segment,
            cohort.c.arm,
            sa.cast(none, text).label("k1"),
            sa.cast(none, text).label("k2"),
            sa.cast(sa.func.count(), sa.BigInteger).label("n1"),
            sa.cast(_total(attempts.c.made), sa.BigInteger).label("n2"),
            sa.cast(_total(attempts.c.reached), sa.BigInteger).label("n3"),
            sa.cast(_total(attempts.c.rpc), sa.BigInteger).label("n4"),
            sa.cast(_total(events.c.promised), sa.BigInteger).label("n5"),
            sa.cast(_total(events.c.paid), sa.BigInteger).label("n6"),
            sa.cast(none, _SUM[dialect]).label("money"),
        )
        .select_from(
            cohort.outerjoin(attempts, attempts.c.account_id == cohort.c.account_id).outerjoin(
                events, events.c.account_id == cohort.c.account_id
            )
        )
        .group_by(cohort.c.segment, cohort.c.arm)
    )
    collected, promises, billed = (
        _collected(cohort, tenant_id, since, until, dialect),
        _promises(cohort, tenant_id, since, until, dialect),
        _billed(cohort, tenant_id, since, until, dialect),
    )
    return sa.union_all(arm, collected, promises, billed)


_SUM: dict[str, Any] = {"postgresql": sa.Numeric(28, 4), "sqlite": sa.BigInteger()}


def _counts(*values: Any) -> list[Any]:
    """``n1``...``n6``: the given counts, then NULLs."""
    padded = [*values, *[sa.null()] * (6 - len(values))]
    return [sa.cast(v, sa.BigInteger).label(f"n{i}") for i, v in enumerate(padded, start=1)]


def _billed(cohort: Any, tenant_id: int, since: datetime, until: datetime, dialect: str) -> Any:
    text: Any = sa.String()
    return (
        sa.select(
            sa.literal("billed", text).label("kind"),
            cohort.c.segment,
            cohort.c.arm,
            sa.cast(Attempt.channel, text).label("k1"),
            sa.cast(Attempt.provider, text).label("k2"),
            *_counts(sa.func.count()),
            sa.cast(sa.null(), _SUM[dialect]).label("money"),
        )
        .join(cohort, cohort.c.account_id == Attempt.account_id)
        .where(
            Attempt.tenant_id == tenant_id,
            Attempt.at >= since,
            Attempt.at < until,
            Attempt.status.in_(BILLED),
        )
        .group_by(cohort.c.segment, cohort.c.arm, Attempt.channel, Attempt.provider)
    )


def _prices(channels: ChannelsConfig | None) -> dict[tuple[str, str], tuple[Decimal, str]]:
    if channels is None:
        return {}
    return {
        (channel.value, provider.adapter): (provider.cost.per_message, provider.cost.currency)
        for channel, config in channels.channels.items()
        for provider in config.providers
        if provider.cost is not None
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _money(value: Decimal, currency: str) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-currency_places(currency))):f}"
