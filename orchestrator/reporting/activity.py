"""What an overview shows over time: contacts per channel and status, and what rules blocked or
deferred, with each rule's citation.

Whole UTC hours are read from the counts kept as rows are written (:mod:`.rollup`: a few
rows an hour, whatever the volume); the part hours at either end of the period, from the
rows themselves (an index range over at most two hours). The figures are the same as
counting the rows of the whole period."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.store.rollup import BLOCKING_KINDS, ceil_hour, floor_hour, kept
from orchestrator.store.tables import Attempt
from orchestrator.store.types import UTCDateTime

Bucket = Literal["hour", "day"]
__all__ = ["BLOCKING_KINDS", "ContactCount", "RuleCount", "blocks_by_rule", "contacts_over_time"]


@dataclass(frozen=True, slots=True)
class ContactCount:
    """Attempts reserved in one bucket (its first instant, UTC) on one channel, by status."""

    start: datetime
    channel: str
    status: str
    count: int


@dataclass(frozen=True, slots=True)
class RuleCount:
    """How often one rule blocked (the contact did not happen) or deferred (moved it) a
    contact; ``citation`` is its legal source when the tenant's rule packs define it."""

    rule: str
    citation: str | None
    blocked: int
    deferred: int


def contacts_over_time(
    conn: Connection,
    *,
    tenant_id: int,
    since: datetime,
    until: datetime,
    bucket: Bucket = "hour",
) -> list[ContactCount]:
    """Attempts in [``since``, ``until``) per ``bucket`` (UTC), channel and status, oldest
    first; empty buckets are left out."""
    lo, hi = _whole_hours(since, until)
    live = (
        sa.select(
            Attempt.at.label("hour"), Attempt.channel, Attempt.status, sa.literal(1).label("n")
        )
        .where(Attempt.tenant_id == tenant_id)
        .where(
            sa.or_(
                sa.and_(Attempt.at >= since, Attempt.at < lo),
                sa.and_(Attempt.at >= hi, Attempt.at < until),
            )
        )
    )
    counted = kept(tenant_id, "contact", lo, hi).subquery()
    every = sa.union_all(
        sa.select(
            counted.c.hour, counted.c.k1.label("channel"), counted.c.k2.label("status"), counted.c.n
        ),
        live,
    ).subquery()
    if conn.dialect.name == "postgresql":
        start = sa.func.date_trunc(bucket, sa.func.timezone("UTC", every.c.hour))
    else:
        pattern = "%Y-%m-%d %H:00:00" if bucket == "hour" else "%Y-%m-%d 00:00:00"
        start = sa.func.strftime(pattern, every.c.hour)
    total = sa.func.sum(every.c.n)
    found = conn.execute(
        sa.select(start.label("start"), every.c.channel, every.c.status, total)
        .group_by(start, every.c.channel, every.c.status)
        .having(total != 0)
        .order_by(start, every.c.channel, every.c.status)
    ).all()
    return [ContactCount(_instant(row[0]), row.channel, row.status, int(row[3])) for row in found]


def _whole_hours(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """[lo, hi): the whole UTC hours inside [``since``, ``until``) (empty: lo == hi, and
    the rows of [since, lo) and [hi, until) are then the whole period)."""
    lo, hi = ceil_hour(since), floor_hour(until)
    if lo >= hi:
        return until, until
    return lo, hi


_RULES_SQL = {
    "postgresql": """
        SELECT r.rule AS rule,
               sum(CASE WHEN e.kind IN :blocking THEN 1 ELSE 0 END) AS blocked,
               sum(CASE WHEN e.kind IN :blocking THEN 0 ELSE 1 END) AS deferred
        FROM ledger_entries e CROSS JOIN LATERAL jsonb_array_elements_text(e.rules) AS r(rule)
        WHERE e.tenant_id = :tenant AND e.rules <> '[]'::jsonb
          AND ((e.at >= :since AND e.at < :lo) OR (e.at >= :hi AND e.at < :until))
        GROUP BY r.rule""",
    "sqlite": """
        SELECT r.value AS rule,
               sum(CASE WHEN e.kind IN :blocking THEN 1 ELSE 0 END) AS blocked,
               sum(CASE WHEN e.kind IN :blocking THEN 0 ELSE 1 END) AS deferred
        FROM ledger_entries e, json_each(e.rules) AS r
        WHERE e.tenant_id = :tenant AND e.rules <> '[]'
          AND ((e.at >= :since AND e.at < :lo) OR (e.at >= :hi AND e.at < :until))
        GROUP BY r.value""",
}


def blocks_by_rule(
    conn: Connection,
    *,
    tenant_id: int,
    since: datetime,
    until: datetime,
    citations: Mapping[str, str],
) -> list[RuleCount]:
    """Every rule the ledger names in [``since``, ``until``), most frequent first: how often
    it blocked a contact (:data:`BLOCKING_KINDS`) and how often it deferred one (a task
    planned later, moved, held or retried by it).

    Parameters:
      citations: rule id → citation (``RulePack.citations`` of the tenant's packs).
    """
    query = sa.text(_RULES_SQL["postgresql" if conn.dialect.name == "postgresql" else "sqlite"])
    query = query.bindparams(
        sa.bindparam("blocking", expanding=True),
        sa.bindparam("since", type_=UTCDateTime()),
        sa.bindparam("until", type_=UTCDateTime()),
        sa.bindparam("lo", type_=UTCDateTime()),
        sa.bindparam("hi", type_=UTCDateTime()),
    )
    lo, hi = _whole_hours(since, until)
    counts: dict[str, list[int]] = {}
    for row in conn.execute(
        query,
        {
            "tenant": tenant_id,
            "since": since,
            "until": until,
            "lo": lo,
            "hi": hi,
            "blocking": list(BLOCKING_KINDS),
        },
    ):
        counts[row.rule] = [int(row.blocked), int(row.deferred)]
    rows = kept(tenant_id, ("blocked", "deferred"), lo, hi).subquery()
    total = sa.func.sum(rows.c.n)
    for kind, rule, n in conn.execute(
        sa.select(rows.c.kind, rows.c.k1, total).group_by(rows.c.kind, rows.c.k1)
    ):
        counts.setdefault(rule, [0, 0])[0 if kind == "blocked" else 1] += int(n)
    found = [
        RuleCount(rule, citations.get(rule), blocked, deferred)
        for rule, (blocked, deferred) in counts.items()
        if blocked or deferred
    ]
    found.sort(key=lambda r: (-(r.blocked + r.deferred), r.rule))
    return found


def _instant(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
