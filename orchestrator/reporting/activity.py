"""What an overview shows over time: contacts per channel and status, and what rules blocked or
deferred, with each rule's citation. Set-based reads over an index on (tenant, instant)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.store.tables import Attempt
from orchestrator.store.types import UTCDateTime

Bucket = Literal["hour", "day"]
# Ledger kinds that end a contact for good; every other kind with rules moved it later.
BLOCKING_KINDS = ("task.blocked", "task.cancelled", "task.expired")


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
    if conn.dialect.name == "postgresql":
        start = sa.func.date_trunc(bucket, sa.func.timezone("UTC", Attempt.at))
    else:
        pattern = "%Y-%m-%d %H:00:00" if bucket == "hour" else "%Y-%m-%d 00:00:00"
        start = sa.func.strftime(pattern, Attempt.at)
    rows = conn.execute(
        sa.select(start.label("start"), Attempt.channel, Attempt.status, sa.func.count())
        .where(Attempt.tenant_id == tenant_id, Attempt.at >= since, Attempt.at < until)
        .group_by(start, Attempt.channel, Attempt.status)
        .order_by(start, Attempt.channel, Attempt.status)
    ).all()
    return [ContactCount(_instant(row[0]), row.channel, row.status, int(row[3])) for row in rows]


_RULES_SQL = {
    "postgresql": """
        SELECT r.rule AS rule,
               sum(CASE WHEN e.kind IN :blocking THEN 1 ELSE 0 END) AS blocked,
               sum(CASE WHEN e.kind IN :blocking THEN 0 ELSE 1 END) AS deferred
        FROM ledger_entries e CROSS JOIN LATERAL jsonb_array_elements_text(e.rules) AS r(rule)
        WHERE e.tenant_id = :tenant AND e.at >= :since AND e.at < :until
          AND e.rules <> '[]'::jsonb
        GROUP BY r.rule""",
    "sqlite": """
        SELECT r.value AS rule,
               sum(CASE WHEN e.kind IN :blocking THEN 1 ELSE 0 END) AS blocked,
               sum(CASE WHEN e.kind IN :blocking THEN 0 ELSE 1 END) AS deferred
        FROM ledger_entries e, json_each(e.rules) AS r
        WHERE e.tenant_id = :tenant AND e.at >= :since AND e.at < :until
          AND e.rules <> '[]'
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
    )
    rows = conn.execute(
        query,
        {"tenant": tenant_id, "since": since, "until": until, "blocking": list(BLOCKING_KINDS)},
    ).all()
    found = [
        RuleCount(row.rule, citations.get(row.rule), int(row.blocked), int(row.deferred))
        for row in rows
    ]
    found.sort(key=lambda r: (-(r.blocked + r.deferred), r.rule))
    return found


def _instant(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
