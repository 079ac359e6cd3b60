"""The overview's kept counts (``store/rollup.py``): after any sequence of writes (contacts
sent, delivery reports, ledger decisions, re-plans, retention, erasure, deletions, with folds
at random moments) the overview's figures equal a recount from the rows; concurrent writers
lose no count; one tenant's counts never include another's; the rebuild and the migration's
backfill count what was already there. On SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from orchestrator.intake.erasure import erase_personal_data
from orchestrator.reporting.activity import blocks_by_rule, contacts_over_time
from orchestrator.retention import RetentionRule, apply_retention
from orchestrator.store.rollup import BLOCKING_KINDS, fold, fold_all, rebuild, timeless
from orchestrator.store.tables import (
    Account,
    Attempt,
    LedgerEntry,
    RollupChange,
    RollupTotal,
    Task,
)
from orchestrator.tenancy import create_tenant

START = datetime(2026, 10, 1, tzinfo=UTC)
CHANNELS = ("sms", "email", "call", "push")
STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "bounced", "failed")
TASK_STATUSES = ("planned", "queued", "sent", "blocked", "cancelled", "expired", "delivered")
RULES = ("us.reg_f.call_cap", "hold.dispute", "us.ny.window", "quiet_hours")
LEDGER_KINDS = (*BLOCKING_KINDS, "task.planned", "task.moved", "task.retried")


class World:
    """One tenant's rows, written at random."""

    def __init__(self, tenant_id: int, rng: random.Random) -> None:
        self.tenant_id = tenant_id
        self.rng = rng
        self.accounts: list[int] = []
        self.tasks: dict[int, int] = {}  # task -> account
        self.attempts: list[int] = []

    def instant(self) -> datetime:
        return START + timedelta(minutes=self.rng.randrange(0, 6 * 24 * 60), seconds=7)

    def account(self, conn) -> None:
        now = START
        n = len(self.accounts)
        self.accounts.append(
            conn.execute(
                sa.insert(Account)
                .values(
                    tenant_id=self.tenant_id, external_id=f"acct-{n}-{self.rng.random()}",
                    jurisdiction="US-NY", borrower_name="Ann Lee", locale="en-US",
                    zones="America/New_York", amount_due=Decimal("100.00"), currency="USD",
                    due_date=date(2026, 10, 1), product="bnpl", document={},
                    document_hash=f"h{n}{self.rng.random()}", created_at=now, updated_at=now,
                )
                .returning(Account.id)
            ).scalar_one()
        )  # fmt: skip

    def task(self, conn) -> None:
        account = self.rng.choice(self.accounts)
        at = self.instant()
        task = conn.execute(
            sa.insert(Task)
            .values(
                tenant_id=self.tenant_id, account_id=account, strategy="default@file",
                step=f"standard.s{self.rng.random()}", variant="", channel="sms",
                template="due_today", local_date=at.date(), not_before=at,
                not_after=at + timedelta(hours=8), expires_at=at + timedelta(days=2),
                status=self.rng.choice(TASK_STATUSES), created_at=at, updated_at=at,
            )
            .returning(Task.id)
        ).scalar_one()  # fmt: skip
        self.tasks[task] = account

    def replan(self, conn) -> None:
        task = self.rng.choice(list(self.tasks))
        conn.execute(
            sa.update(Task)
            .where(Task.id == task)
            .values(status=self.rng.choice(TASK_STATUSES), reasons=["hold.dispute"])
        )

    def attempt(self, conn) -> None:
        task = self.rng.choice(list(self.tasks))
        at = self.instant()
        self.attempts.append(
            conn.execute(
                sa.insert(Attempt)
                .values(
                    ref=f"r-{self.tenant_id}-{len(self.attempts)}-{self.rng.random()}",
                    task_id=task, tenant_id=self.tenant_id, account_id=self.tasks[task],
                    channel=self.rng.choice(CHANNELS), provider="twilio_sms",
                    address="+12125550123", at=at, status=self.rng.choice(STATUSES[:3]),
                    contact_kind="attempt", body="Hello", updated_at=at,
                )
                .returning(Attempt.id)
            ).scalar_one()
        )  # fmt: skip

    def report(self, conn) -> None:
        """A delivery report moves an attempt's status (sometimes to the one it has)."""
        conn.execute(
            sa.update(Attempt)
            .where(Attempt.id == self.rng.choice(self.attempts))
            .values(status=self.rng.choice(STATUSES))
        )

    def reconcile(self, conn) -> None:
        """An attempt's instant corrected (another hour, maybe another day)."""
        conn.execute(
            sa.update(Attempt)
            .where(Attempt.id == self.rng.choice(self.attempts))
            .values(at=self.instant())
        )

    def decision(self, conn) -> None:
        account = self.rng.choice(self.accounts)
        rules = self.rng.sample(RULES, self.rng.randrange(0, 3))
        if rules and self.rng.random() < 0.2:
            rules.append(rules[0])  # named twice: counted twice, as the rows are
        conn.execute(
            sa.insert(LedgerEntry).values(
                tenant_id=self.tenant_id, account_id=account, at=self.instant(),
                kind=self.rng.choice(LEDGER_KINDS), rules=rules, message="...", data={},
            )
        )  # fmt: skip

    def forget_attempt(self, conn) -> None:
        attempt = self.attempts.pop(self.rng.randrange(len(self.attempts)))
        conn.execute(sa.delete(Attempt).where(Attempt.id == attempt))

    def erase(self, conn) -> None:
        account = self.rng.choice(self.accounts)
        conn.execute(sa.update(Attempt).where(Attempt.account_id == account).values(status="sent"))
        row = conn.execute(sa.select(Account).where(Account.id == account)).one()
        erase_personal_data(conn, row, now=START + timedelta(days=9))

    def retention(self, conn) -> None:
        apply_retention(
            conn,
            START + timedelta(days=self.rng.randrange(1, 9)),
            {},
            RetentionRule(message_bodies=timedelta(days=1), provider_payloads=timedelta(days=1)),
        )

    def delete_account(self, conn) -> None:
        """An account removed: its tasks, attempts and ledger entries go by cascade."""
        account = self.accounts.pop(self.rng.randrange(len(self.accounts)))
        conn.execute(sa.delete(Account).where(Account.id == account))
        self.tasks = {t: a for t, a in self.tasks.items() if a != account}
        self.attempts = [
            row.id
            for row in conn.execute(
                sa.select(Attempt.id).where(Attempt.tenant_id == self.tenant_id)
            )
        ]

    def step(self, conn) -> str:
        if len(self.accounts) < 3:
            self.account(conn)
            return "account"
        choices = ["account", "task", "decision"]
        if self.tasks:
            choices += ["attempt", "attempt", "replan"]
        if self.attempts:
            choices += ["report", "report", "reconcile", "forget_attempt"]
        choices += ["erase", "retention"]
        if self.rng.random() < 0.03:
            choices.append("delete_account")
        what = self.rng.choice(choices)
        getattr(self, what)(conn)
        return what


def recount(conn, tenant_id: int, since: datetime, until: datetime, bucket: str):
    """What the overview should say, counted in Python from every row."""
    contacts: Counter = Counter()
    for at, channel, status in conn.execute(
        sa.select(Attempt.at, Attempt.channel, Attempt.status).where(Attempt.tenant_id == tenant_id)
    ):
        if since <= at < until:
            start = at.replace(minute=0, second=0, microsecond=0)
            if bucket == "day":
                start = start.replace(hour=0)
            contacts[(start, channel, status)] += 1
    rules: Counter = Counter()
    for at, kind, named in conn.execute(
        sa.select(LedgerEntry.at, LedgerEntry.kind, LedgerEntry.rules).where(
            LedgerEntry.tenant_id == tenant_id
        )
    ):
        if since <= at < until:
            for rule in named:
                rules[(rule, "blocked" if kind in BLOCKING_KINDS else "deferred")] += 1
    tasks = Counter(
        dict(
            conn.execute(
                sa.select(Task.status, sa.func.count())
                .where(Task.tenant_id == tenant_id)
                .group_by(Task.status)
            ).all()
        )
    )
    accounts = conn.execute(
        sa.select(sa.func.count()).select_from(Account).where(Account.tenant_id == tenant_id)
    ).scalar_one()
    return sorted(contacts.items()), sorted(rules.items()), dict(tasks), accounts


def read(conn, tenant_id: int, since: datetime, until: datetime, bucket: str):
    """The same, as the overview reads it."""
    contacts = {
        (c.start, c.channel, c.status): c.count
        for c in contacts_over_time(
            conn, tenant_id=tenant_id, since=since, until=until, bucket=bucket
        )
    }
    rules: Counter = Counter()
    for r in blocks_by_rule(conn, tenant_id=tenant_id, since=since, until=until, citations={}):
        rules[(r.rule, "blocked")] += r.blocked
        rules[(r.rule, "deferred")] += r.deferred
    rules = +rules  # zero counts out, as in the recount
    tasks = timeless(conn, tenant_id, "task")
    accounts = timeless(conn, tenant_id, "account").get("", 0)
    return sorted(contacts.items()), sorted(rules.items()), tasks, accounts


def windows(rng: random.Random):
    """Periods with ragged ends (minutes, seconds), whole hours, and within one hour."""
    yield START, START + timedelta(days=8), "day"
    for _ in range(4):
        since = START + timedelta(
            minutes=rng.randrange(0, 5 * 24 * 60), microseconds=rng.randrange(10**6)
        )
        until = since + timedelta(minutes=rng.randrange(1, 3 * 24 * 60))
        yield since, until, rng.choice(("hour", "day"))
    inside = START + timedelta(hours=30, minutes=5)
    yield inside, inside + timedelta(minutes=40), "hour"


def check(store, tenant_ids, rng) -> None:
    with store.snapshot() as conn:
        for tenant_id in tenant_ids:
            for since, until, bucket in windows(rng):
                assert read(conn, tenant_id, since, until, bucket) == recount(
                    conn, tenant_id, since, until, bucket
                ), (tenant_id, since, until, bucket)


@pytest.mark.parametrize("seed", [1])
def test_kept_counts_equal_a_recount_after_random_writes(store, seed):
    rng = random.Random(seed)
    with store.transaction() as conn:
        ids = [create_tenant(conn, f"t{i}", name=f"T{i}", now=START) for i in range(2)]
    worlds = [World(tenant_id, rng) for tenant_id in ids]
    done: Counter = Counter()
    for n in range(160):
        world = rng.choice(worlds)
        with store.transaction() as conn:
            for _ in range(rng.randrange(1, 4)):  # a few writes per transaction
                done[world.step(conn)] += 1
        if rng.random() < 0.15:
            with store.transaction() as conn:
                fold(conn, batch=rng.randrange(1, 40))  # partly folded, at times
        if n % 40 == 39:
            check(store, ids, rng)
    fold_all(store)
    with store.snapshot() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(RollupChange)).scalar() == 0
    check(store, ids, rng)
    # Every kind of write happened.
    assert {"attempt", "report", "reconcile", "decision", "replan", "erase", "retention"} <= set(
        done
    ), done


def test_a_write_rolled_back_counts_nothing(store):
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "acme", name="Acme", now=START)
    world = World(tenant_id, random.Random(3))
    with store.transaction() as conn:
        for _ in range(3):
            world.account(conn)
        world.task(conn)

    def failing_send() -> None:
        with store.transaction() as conn:
            world.attempt(conn)
            world.decision(conn)
            raise RuntimeError("the send failed")

    with pytest.raises(RuntimeError):
        failing_send()
    with store.snapshot() as conn:
        assert conn.execute(
            sa.select(sa.func.count())
            .select_from(RollupChange)
            .where(RollupChange.kind.in_(("contact", "blocked", "deferred")))
        ).scalar() == 0  # fmt: skip


def test_rebuild_recounts_one_tenant_and_leaves_the_others(store):
    rng = random.Random(5)
    with store.transaction() as conn:
        ids = [create_tenant(conn, f"t{i}", name=f"T{i}", now=START) for i in range(2)]
    worlds = [World(tenant_id, rng) for tenant_id in ids]
    for _ in range(60):
        world = rng.choice(worlds)
        with store.transaction() as conn:
            world.step(conn)
    fold_all(store)
    with store.transaction() as conn:  # damage both tenants' totals
        conn.execute(sa.update(RollupTotal).values(n=RollupTotal.n + 7))
    with store.transaction() as conn:
        steps: list[str] = []
        rebuild(conn, [ids[0]], progress=steps.append)
    assert steps == ["accounts", "tasks", "attempts", "ledger entries"]
    with store.snapshot() as conn:
        since, until = START, START + timedelta(days=8)
        assert read(conn, ids[0], since, until, "day") == recount(conn, ids[0], since, until, "day")
        assert read(conn, ids[1], since, until, "day") != recount(conn, ids[1], since, until, "day")
    with store.transaction() as conn:
        rebuild(conn)
    check(store, ids, rng)


def test_one_tenants_counts_never_include_anothers(store):
    rng = random.Random(9)
    with store.transaction() as conn:
        ours = create_tenant(conn, "acme", name="Acme", now=START)
        theirs = create_tenant(conn, "rival", name="Rival", now=START)
    world = World(theirs, rng)
    for _ in range(40):
        with store.transaction() as conn:
            world.step(conn)
    with store.snapshot() as conn:
        assert read(conn, ours, START, START + timedelta(days=8), "hour") == ([], [], {}, 0)
        assert read(conn, theirs, START, START + timedelta(days=8), "hour")[3] > 0
    fold_all(store)
    with store.snapshot() as conn:
        assert read(conn, ours, START, START + timedelta(days=8), "hour") == ([], [], {}, 0)


def test_concurrent_writers_and_folds_lose_no_count(store):
    """Four writers add, report and delete attempts and decisions at once while a fifth
    thread folds; every count survives (no lost update, no change folded twice)."""
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "acme", name="Acme", now=START)
    seeded = World(tenant_id, random.Random(11))
    with store.transaction() as conn:
        for _ in range(3):
            seeded.account(conn)
        for _ in range(4):
            seeded.task(conn)
    errors: list[BaseException] = []
    stop = threading.Event()

    def write(seed: int) -> None:
        world = World(tenant_id, random.Random(seed))
        world.accounts, world.tasks = list(seeded.accounts), dict(seeded.tasks)
        try:
            for _ in range(25):
                with store.transaction() as conn:
                    for what in ("attempt", "attempt", "decision"):
                        getattr(world, what)(conn)
                    world.report(conn)
                    if len(world.attempts) > 3:
                        world.forget_attempt(conn)
        except BaseException as exc:
            errors.append(exc)

    def folding() -> None:
        try:
            while not stop.is_set():
                with store.transaction() as conn:
                    fold(conn, batch=7)
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(seed,)) for seed in range(4)]
    folder = threading.Thread(target=folding)
    folder.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    folder.join()
    assert errors == []
    check(store, [tenant_id], random.Random(12))
    fold_all(store)
    check(store, [tenant_id], random.Random(13))


def test_the_migration_counts_the_rows_already_there(tmp_path):
    """Migration 0011 backfills the totals from the rows written before it."""
    from orchestrator.store.db import Store
    from orchestrator.store.migrate import upgrade

    store = Store.connect(f"sqlite:///{tmp_path / 'old.db'}", pool_size=2)
    try:
        upgrade(store.engine, "0010")
        rng = random.Random(21)
        with store.transaction() as conn:
            tenant_id = create_tenant(conn, "acme", name="Acme", now=START)
            world = World(tenant_id, rng)
            for _ in range(80):
                world.step(conn)
        upgrade(store.engine)
        check(store, [tenant_id], rng)
        with store.snapshot() as conn:
            assert conn.execute(sa.select(sa.func.sum(RollupTotal.n))).scalar() > 0
    finally:
        store.dispose()


def test_the_leading_scheduler_folds_and_the_others_do_not(store, redis_url, redis_namespace):
    import redis

    from orchestrator.clock import VirtualClock
    from orchestrator.planning.scheduler import Scheduler

    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "acme", name="Acme", now=START)
        world = World(tenant_id, random.Random(31))
        for _ in range(20):
            world.step(conn)
    client = redis.Redis.from_url(redis_url)
    schedulers = [
        Scheduler(
            store, client, VirtualClock(START), None, lambda ids: None, namespace=redis_namespace
        )  # type: ignore[arg-type]
        for _ in range(2)
    ]
    try:
        for scheduler in schedulers:
            scheduler.heartbeat()
        leader, follower = sorted(schedulers, key=lambda s: not s.leader)
        assert leader.leader
        assert not follower.leader
        assert follower.rollup_now() == 0
        assert leader.rollup_now() > 0
        with store.snapshot() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(RollupChange)).scalar() == 0
        check(store, [tenant_id], random.Random(32))
    finally:
        for scheduler in schedulers:
            scheduler.stop()
        client.close()
