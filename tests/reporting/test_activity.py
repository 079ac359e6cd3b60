"""The overview's reads: contacts per channel and status over time, and blocks and deferrals
by rule with each rule's citation (on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from orchestrator.reporting.activity import blocks_by_rule, contacts_over_time
from orchestrator.store.tables import LedgerEntry
from orchestrator.tenancy import create_tenant
from tests.reporting.history import at, build


def _entry(conn, tenant_id, account_id, kind, rules, day, hour=12):
    conn.execute(
        sa.insert(LedgerEntry).values(
            tenant_id=tenant_id,
            account_id=account_id,
            at=at(day, hour),
            kind=kind,
            rules=rules,
            message="...",
            data={},
        )
    )


def test_contacts_are_counted_per_bucket_channel_and_status(store, tenant, clock):
    with store.transaction() as conn:
        build(conn, tenant[0])
        build(conn, create_tenant(conn, "rival", name="Rival", now=clock.now()))
    since = datetime(2026, 10, 1, tzinfo=UTC)
    until = datetime(2026, 10, 21, tzinfo=UTC)

    with store.snapshot() as conn:
        daily = contacts_over_time(
            conn, tenant_id=tenant[0], since=since, until=until, bucket="day"
        )
        hourly = contacts_over_time(conn, tenant_id=tenant[0], since=since, until=until)

    assert [(c.start.date().isoformat(), c.channel, c.status, c.count) for c in daily] == [
        ("2026-10-03", "call", "sent", 1),
        ("2026-10-04", "sms", "failed", 1),
        ("2026-10-05", "sms", "delivered", 1),
        ("2026-10-10", "sms", "delivered", 1),
        ("2026-10-12", "call", "delivered", 1),
        ("2026-10-20", "email", "bounced", 1),
    ]
    assert all(c.start.tzinfo is not None for c in daily)
    assert hourly[0].start == datetime(2026, 10, 3, 12, tzinfo=UTC)


def test_rules_are_counted_as_blocks_or_deferrals_with_their_citation(
    store, tenant, clock, file_config
):
    pack = file_config.get().pack_for("US-NY", "acme")
    rule = pack.rules()[0]
    with store.transaction() as conn:
        accounts = build(conn, tenant[0])
        a1 = accounts["a1"]
        _entry(conn, tenant[0], a1, "task.blocked", [rule.id, "hold.dispute"], "2026-10-05")
        _entry(conn, tenant[0], a1, "task.planned", [rule.id], "2026-10-06")
        _entry(conn, tenant[0], a1, "task.cancelled", ["hold.dispute"], "2026-10-07")
        _entry(conn, tenant[0], a1, "task.planned", [], "2026-10-07")
        _entry(conn, tenant[0], a1, "task.blocked", [rule.id], "2026-11-07")  # after
        rival = create_tenant(conn, "rival", name="Rival", now=clock.now())
        _entry(conn, rival, build(conn, rival)["a1"], "task.blocked", [rule.id], "2026-10-05")

    with store.snapshot() as conn:
        found = blocks_by_rule(
            conn,
            tenant_id=tenant[0],
            since=datetime(2026, 10, 1, tzinfo=UTC),
            until=datetime(2026, 11, 1, tzinfo=UTC),
            citations=pack.citations(),
        )

    assert [(r.rule, r.blocked, r.deferred) for r in found] == sorted(
        [(rule.id, 1, 1), ("hold.dispute", 2, 0)], key=lambda r: (-(r[1] + r[2]), r[0])
    )
    cited = {r.rule: r.citation for r in found}
    assert cited[rule.id] == rule.citation
