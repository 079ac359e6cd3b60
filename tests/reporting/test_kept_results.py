"""The results' kept months (``store/kept_results.py``): after any sequence of writes
(tasks, attempts, delivery reports, promises and payments across months and in the current
month between reads, tasks that change an account's arm, currency changes, retention,
erasure, deletions, with folds at random moments), the results of any whole month read
through :func:`period_results` equal the exact count from the rows; a kept month's totals
are the sums of its accounts' rows; a kept month is read as kept while nothing moved it and
only then; one tenant's writes never move another's month; a write committed while a fold
runs is not lost; concurrent writers and folds neither lose nor double anything. On SQLite
and PostgreSQL."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from orchestrator.intake.erasure import erase_personal_data
from orchestrator.reporting.results import period_results, results
from orchestrator.retention import RetentionRule, apply_retention
from orchestrator.store import kept_results
from orchestrator.store.tables import (
    Account,
    AccountEvent,
    Attempt,
    ResultsAccount,
    ResultsMonth,
    ResultsTotal,
    Task,
)
from orchestrator.tenancy import create_tenant

START = datetime(2026, 9, 1, tzinfo=UTC)
MONTHS = (date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1))
NOW = datetime(2026, 12, 15, tzinfo=UTC)
CURRENT = datetime(2026, 12, 1, tzinfo=UTC)  # the current month: live sending
STEPS = ("standard.due_today", "standard.first_call", "gentle.email")
VARIANTS = ("", "early_call", "late_sms")
CHANNELS = (("sms", "twilio_sms"), ("call", "twilio_voice"), ("email", "sendgrid"))
STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "bounced", "failed")
KINDS = ("attempt", "conversation", "limited_content", "not_connected", "failed")


class World:
    """One tenant's rows, written at random over four months."""

    def __init__(self, tenant_id: int, rng: random.Random, prefix: str = "") -> None:
        self.tenant_id = tenant_id
        self.rng = rng
        self.prefix = prefix  # keeps external ids apart between worlds of one tenant
        self.current = False  # True: new rows land in the current month (December)
        self.skip: set[str] = set()  # steps not to take
        self.accounts: list[int] = []
        self.tasks: dict[int, int] = {}  # task -> account
        self.attempts: list[int] = []
        self.events: list[int] = []
        self.n = 0

    def instant(self) -> datetime:
        if self.current:
            return CURRENT + timedelta(minutes=self.rng.randrange(0, 30 * 24 * 60), seconds=7)
        return START + timedelta(minutes=self.rng.randrange(0, 120 * 24 * 60), seconds=7)

    def account(self, conn) -> None:
        self.n += 1
        self.accounts.append(
            conn.execute(
                sa.insert(Account)
                .values(
                    tenant_id=self.tenant_id, external_id=f"acct-{self.prefix}{self.n}",
                    jurisdiction="US-NY", borrower_name="Ann Lee", locale="en-US",
                    zones="America/New_York", amount_due=Decimal("100.00"),
                    currency=self.rng.choice(("USD", "USD", "EUR")), due_date=date(2026, 10, 1),
                    product="bnpl", document={}, document_hash=f"h{self.n}", created_at=START,
                    updated_at=START,
                )
                .returning(Account.id)
            ).scalar_one()
        )  # fmt: skip

    def task(self, conn) -> None:
        account = self.rng.choice(self.accounts)
        at = self.instant()
        step = self.rng.choice(STEPS)
        if self.current:  # one month of dates: keep (account, step, date) unique
            self.n += 1
            step = f"{step}{self.n}"
        task = conn.execute(
            sa.insert(Task)
            .values(
                tenant_id=self.tenant_id, account_id=account, strategy="default@file",
                step=step, variant=self.rng.choice(VARIANTS), channel="sms",
                template="due_today", local_date=at.date(), not_before=at,
                not_after=at + timedelta(hours=8), expires_at=at + timedelta(days=2),
                status="sent", created_at=at, updated_at=at,
            )
            .returning(Task.id)
        ).scalar_one()  # fmt: skip
        self.tasks[task] = account

    def earlier_task(self, conn) -> None:
        """A task written now but dated before the account's first task of the current
        month, in another arm: the account moves to that arm's cohort."""
        account = self.rng.choice(self.accounts)
        first = conn.execute(
            sa.select(sa.func.min(Task.local_date)).where(
                Task.account_id == account, Task.local_date >= CURRENT.date()
            )
        ).scalar()
        if first is None or first == CURRENT.date():
            day = CURRENT.date()  # the first (none yet), or the first's day with a later id
        else:
            day = first - timedelta(days=1)
        self.n += 1
        at = datetime.combine(day, datetime.min.time(), UTC)
        task = conn.execute(
            sa.insert(Task)
            .values(
                tenant_id=self.tenant_id, account_id=account, strategy="default@file",
                step=f"{self.rng.choice(STEPS)}{self.n}", variant=self.rng.choice(VARIANTS),
                channel="sms", template="due_today", local_date=day, not_before=at,
                not_after=at, expires_at=at, status="sent", created_at=at, updated_at=at,
            )
            .returning(Task.id)
        ).scalar_one()  # fmt: skip
        self.tasks[task] = account

    def move_task(self, conn) -> None:
        """A task re-planned to another day (maybe another month) or another arm."""
        values = self.rng.choice(
            ({"local_date": self.instant().date()}, {"variant": self.rng.choice(VARIANTS)})
        )
        conn.execute(
            sa.update(Task).where(Task.id == self.rng.choice(list(self.tasks))).values(values)
        )

    def attempt(self, conn) -> None:
        task = self.rng.choice(list(self.tasks))
        at = self.instant()
        channel, provider = self.rng.choice(CHANNELS)
        self.n += 1
        self.attempts.append(
            conn.execute(
                sa.insert(Attempt)
                .values(
                    ref=f"r-{self.tenant_id}-{self.prefix}{self.n}", task_id=task,
                    tenant_id=self.tenant_id,
                    account_id=self.tasks[task], channel=channel, provider=provider,
                    address="+12125550123", at=at, status=self.rng.choice(STATUSES),
                    contact_kind=self.rng.choice(KINDS), body="Hello", updated_at=at,
                )
                .returning(Attempt.id)
            ).scalar_one()
        )  # fmt: skip

    def report(self, conn) -> None:
        """A delivery report, or a call's outcome, late: maybe for an earlier month."""
        conn.execute(
            sa.update(Attempt)
            .where(Attempt.id == self.rng.choice(self.attempts))
            .values(
                self.rng.choice(
                    (
                        {"status": self.rng.choice(STATUSES)},
                        {"contact_kind": self.rng.choice(KINDS)},
                    )
                )
            )
        )

    def event(self, conn) -> None:
        at = self.instant()
        kind = self.rng.choice(("promise_to_pay", "payment", "payment", "dispute"))
        until = at + timedelta(days=self.rng.randrange(1, 40)) if kind == "promise_to_pay" else None
        amount = self.rng.choice((None, "40.00", "60.50", "100.00"))
        self.n += 1
        self.events.append(
            conn.execute(
                sa.insert(AccountEvent)
                .values(
                    tenant_id=self.tenant_id, account_id=self.rng.choice(self.accounts),
                    type=kind, at=at, until=until,
                    amount=None if amount is None else Decimal(amount), details={},
                    source="api", dedupe_key=f"e{self.n}", recorded_at=at,
                )
                .returning(AccountEvent.id)
            ).scalar_one()
        )  # fmt: skip

    def move_event(self, conn) -> None:
        conn.execute(
            sa.update(AccountEvent)
            .where(AccountEvent.id == self.rng.choice(self.events))
            .values(at=self.instant())
        )

    def currency(self, conn) -> None:
        conn.execute(
            sa.update(Account)
            .where(Account.id == self.rng.choice(self.accounts))
            .values(currency=self.rng.choice(("USD", "EUR", "GBP")))
        )

    def erase(self, conn) -> None:
        account = self.rng.choice(self.accounts)
        conn.execute(
            sa.update(Attempt)
            .where(Attempt.account_id == account, Attempt.status == "sending")
            .values(status="sent")
        )  # an erasure waits for sends in flight
        row = conn.execute(sa.select(Account).where(Account.id == account)).one()
        erase_personal_data(conn, row, now=NOW)

    def retention(self, conn) -> None:
        apply_retention(
            conn,
            START + timedelta(days=self.rng.randrange(1, 120)),
            {},
            RetentionRule(message_bodies=timedelta(days=1), provider_payloads=timedelta(days=1)),
        )

    def delete_account(self, conn) -> None:
        """An account removed: its tasks, attempts and events go by cascade."""
        account = self.accounts.pop(self.rng.randrange(len(self.accounts)))
        conn.execute(sa.delete(Account).where(Account.id == account))
        self.tasks = {t: a for t, a in self.tasks.items() if a != account}
        self.attempts = list(
            conn.execute(sa.select(Attempt.id).where(Attempt.tenant_id == self.tenant_id)).scalars()
        )
        self.events = list(
            conn.execute(
                sa.select(AccountEvent.id).where(AccountEvent.tenant_id == self.tenant_id)
            ).scalars()
        )

    def step(self, conn) -> str:
        if len(self.accounts) < 4:
            self.account(conn)
            return "account"
        choices = ["account", "task", "task", "event", "event"]
        if self.tasks:
            choices += ["attempt", "attempt", "move_task"]
        if self.attempts:
            choices += ["report", "report"]
        if self.events:
            choices += ["move_event"]
        if self.current:
            choices += ["earlier_task", "earlier_task"]
        choices += ["currency", "erase", "retention"]
        if self.rng.random() < 0.05:
            choices.append("delete_account")
        what = self.rng.choice([c for c in choices if c not in self.skip])
        getattr(self, what)(conn)
        return what


def _fast(store, tenant_id: int, month: date):
    return period_results(
        store,
        tenant_id=tenant_id,
        tenant="t",
        start=month,
        end=kept_results.next_month(month),
        channels=None,
        now=NOW,
    )


def _exact(store, tenant_id: int, month: date):
    with store.snapshot() as conn:
        return results(
            conn,
            tenant_id=tenant_id,
            tenant="t",
            start=month,
            end=kept_results.next_month(month),
            channels=None,
        )


def _kept(store, tenant_id: int, month: date) -> bool:
    with store.snapshot() as conn:
        return kept_results.is_kept(conn, tenant_id, month)


def _sums_hold(store) -> None:
    """Every kept month's totals are the sums of its accounts' rows, and its accounts'
    rows are what a recount of those accounts gives (once every mark is folded)."""
    kept_results.fold_all(store)
    r, t = ResultsAccount, ResultsTotal
    key = (r.tenant_id, r.month, r.kind, r.segment, r.arm, r.k1, r.k2)
    with store.snapshot() as conn:
        sums = {
            tuple(row[:7]): tuple(row[7:])
            for row in conn.execute(
                sa.select(
                    *key, *(sa.func.sum(getattr(r, f"n{i}")) for i in range(1, 7)),
                    sa.func.sum(r.money),
                ).group_by(*key)
            )
        }  # fmt: skip
        kept = {
            tuple(row[:7]): tuple(row[7:])
            for row in conn.execute(
                sa.select(
                    t.tenant_id, t.month, t.kind, t.segment, t.arm, t.k1, t.k2,
                    t.n1, t.n2, t.n3, t.n4, t.n5, t.n6, t.money,
                )
            )
        }  # fmt: skip
        assert {k: v for k, v in kept.items() if v[0]} == {k: v for k, v in sums.items() if v[0]}
        assert all(v[0] == 0 for k, v in kept.items() if k not in sums)
        months = list(conn.execute(sa.select(ResultsMonth.tenant_id, ResultsMonth.month)))
        for tenant_id, month in months:
            stored = {
                tuple(row)
                for row in conn.execute(
                    sa.select(*r.__table__.c).where(r.tenant_id == tenant_id, r.month == month)
                )
            }
            fresh = {
                tuple(row)
                for row in conn.execute(kept_results.account_rows(conn, tenant_id, month, None))
            }
            assert len(stored) == len(fresh)
            assert {row[2:] for row in stored} == {row[2:] for row in fresh}, (tenant_id, month)


def _check(store, ids, rng) -> int:
    """Every month of every tenant, read fast in a random order, equals its exact count;
    how many reads came from a kept month."""
    used = 0
    pairs = [(t, m) for t in ids for m in MONTHS]
    rng.shuffle(pairs)
    for tenant_id, month in pairs:
        used += _kept(store, tenant_id, month)
        assert _fast(store, tenant_id, month) == _exact(store, tenant_id, month), (tenant_id, month)
    return used


@pytest.mark.parametrize("seed", [3])
def test_a_kept_month_equals_the_exact_count_after_random_writes(store, seed):
    rng = random.Random(seed)
    with store.transaction() as conn:
        ids = [create_tenant(conn, f"t{i}", name=f"T{i}", now=START) for i in range(2)]
    worlds = [World(tenant_id, rng) for tenant_id in ids]
    done: Counter = Counter()
    used = 0
    for n in range(60):
        world = rng.choice(worlds)
        with store.transaction() as conn:
            for _ in range(rng.randrange(1, 4)):
                done[world.step(conn)] += 1
        if rng.random() < 0.3:
            kept_results.fold_all(store)
        if n % 6 == 5:
            used += _check(store, ids, rng)
    kept_results.fold_all(store)
    _check(store, ids, rng)
    # Nothing written since: every month is now read from what was kept, and still equal.
    assert all(_kept(store, t, m) for t in ids for m in MONTHS)
    assert _check(store, ids, rng) == len(ids) * len(MONTHS)
    assert used > 0  # kept months were used along the way, not only at the end
    assert {"move_task", "report", "move_event", "currency", "erase", "retention"} <= set(done)
    _sums_hold(store)


@pytest.mark.parametrize(("seed", "chunk"), [(7, kept_results.CHUNK), (11, 2)])
def test_the_current_month_read_between_live_writes_equals_the_count(
    store, seed, chunk, monkeypatch
):
    """Live sending: writes land in the current month between reads (sends, delivery
    reports, promises, payments, tasks in other arms, tasks dated before an account's first
    one); every read of the month (and of the months a payment can move) equals a fresh
    count, and the month stays kept: each read folds only what was written since. With
    ``chunk`` 2 the fold recounts the accounts two at a time, and counts a month again
    whole when more than a quarter of its accounts were written to."""
    monkeypatch.setattr(kept_results, "CHUNK", chunk)
    rng = random.Random(seed)
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "acme", name="Acme", now=START)
    world = World(tenant_id, rng)
    with store.transaction() as conn:
        for _ in range(30):
            world.step(conn)  # history across the four months
    december = MONTHS[3]
    for month in MONTHS:
        assert _fast(store, tenant_id, month) == _exact(store, tenant_id, month)
    world.current = True
    done: Counter = Counter()
    for _ in range(40):
        with store.transaction() as conn:
            for _ in range(rng.randrange(1, 5)):
                done[world.step(conn)] += 1
        assert _fast(store, tenant_id, december) == _exact(store, tenant_id, december)
        assert _kept(store, tenant_id, december)
        if rng.random() < 0.3:
            month = rng.choice(MONTHS)
            assert _fast(store, tenant_id, month) == _exact(store, tenant_id, month)
    assert {"earlier_task", "attempt", "report", "event", "task"} <= set(done)
    with store.snapshot() as conn:
        built = set(
            conn.execute(
                sa.select(ResultsMonth.month).where(ResultsMonth.tenant_id == tenant_id)
            ).scalars()
        )
    assert built == set(MONTHS)  # built once each, then folded: never dropped
    _sums_hold(store)


def test_a_write_moves_only_its_own_tenants_months(store):
    rng = random.Random(5)
    with store.transaction() as conn:
        ids = [create_tenant(conn, f"t{i}", name=f"T{i}", now=START) for i in range(2)]
    a, b = (World(tenant_id, rng) for tenant_id in ids)
    with store.transaction() as conn:
        for world in (a, b):
            for _ in range(4):
                world.account(conn)
            for _ in range(6):
                world.task(conn)
    kept_results.fold_all(store)
    for tenant_id in ids:
        for month in MONTHS:
            _fast(store, tenant_id, month)
    assert all(_kept(store, t, m) for t in ids for m in MONTHS)
    # A payment in October of tenant a: a's October onward is moved, a's September and all
    # of b's months are not.
    with store.transaction() as conn:
        conn.execute(
            sa.insert(AccountEvent).values(
                tenant_id=a.tenant_id, account_id=a.accounts[0], type="payment",
                at=datetime(2026, 10, 9, tzinfo=UTC), amount=Decimal("10.00"), details={},
                source="api", dedupe_key="pay", recorded_at=NOW,
            )
        )  # fmt: skip
    assert [_kept(store, a.tenant_id, m) for m in MONTHS] == [True, False, False, False]
    assert all(_kept(store, b.tenant_id, m) for m in MONTHS)
    assert kept_results.fold_all(store) == 1
    # Folded, not forgotten: every month is kept again, and equals its count.
    assert all(_kept(store, t, m) for t in ids for m in MONTHS)
    for tenant_id in ids:
        for month in MONTHS:
            assert _fast(store, tenant_id, month) == _exact(store, tenant_id, month)


def test_a_write_committed_during_a_fold_is_folded_by_the_next(store):
    """A writer's transaction still open when a fold runs: the fold neither sees nor
    deletes its mark, so once it commits the month reads as moved and then as counted."""
    if store.is_sqlite:
        pytest.skip("SQLite: a writer's open transaction holds the write lock a fold waits for")
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "acme", name="Acme", now=START)
    world = World(tenant_id, random.Random(8))
    world.current = True
    with store.transaction() as conn:
        for _ in range(4):
            world.account(conn)
        for _ in range(8):
            world.task(conn)
            world.attempt(conn)
    december = MONTHS[3]
    before = _exact(store, tenant_id, december)
    assert _fast(store, tenant_id, december) == before
    with store.transaction() as writer:
        for _ in range(3):
            world.attempt(writer)
            world.earlier_task(writer)
        world.event(writer)
        # Other connections, the writes not committed: no mark to see, nothing moved.
        kept_results.fold_all(store)
        assert _fast(store, tenant_id, december) == before
    assert _exact(store, tenant_id, december) != before
    assert not _kept(store, tenant_id, december)
    assert _fast(store, tenant_id, december) == _exact(store, tenant_id, december)
    assert _kept(store, tenant_id, december)
    _sums_hold(store)


def test_concurrent_writers_and_folds_lose_and_double_nothing(store):
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "acme", name="Acme", now=START)
    seeded = World(tenant_id, random.Random(9), prefix="s")
    seeded.current = True
    with store.transaction() as conn:
        for _ in range(6):
            seeded.account(conn)
        for _ in range(10):
            seeded.task(conn)
    december = MONTHS[3]
    _fast(store, tenant_id, december)
    failures: list[BaseException] = []
    stop = threading.Event()

    def write(n: int) -> None:
        world = World(tenant_id, random.Random(100 + n), prefix=f"w{n}-")
        world.current = True
        # Steps that touch only this writer's own rows: tenant-wide retention, or another
        # writer's attempts, could deadlock two writers (a test of the store, not of this).
        world.skip = {"retention", "delete_account"}
        try:
            for _ in range(25):
                with store.transaction() as conn:
                    for _ in range(3):
                        world.step(conn)
        except BaseException as error:  # reported by the test below
            failures.append(error)

    def fold() -> None:
        try:
            while not stop.is_set():
                kept_results.fold_all(store)
                _fast(store, tenant_id, december)
        except BaseException as error:  # reported by the test below
            failures.append(error)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    folders = [threading.Thread(target=fold) for _ in range(2)]
    for thread in writers + folders:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in folders:
        thread.join()
    assert failures == []
    assert _fast(store, tenant_id, december) == _exact(store, tenant_id, december)
    for month in MONTHS:
        assert _fast(store, tenant_id, month) == _exact(store, tenant_id, month)
    _sums_hold(store)


def test_forgotten_months_are_built_again(store):
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "acme", name="Acme", now=START)
        world = World(tenant_id, random.Random(12))
        for _ in range(20):
            world.step(conn)
    for month in MONTHS:
        _fast(store, tenant_id, month)
    assert kept_results.forget(store, [tenant_id + 1000]) == 0
    assert kept_results.forget(store, [tenant_id]) == len(MONTHS)
    with store.snapshot() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ResultsAccount)).scalar() == 0
    assert not _kept(store, tenant_id, MONTHS[0])
    for month in MONTHS:
        assert _fast(store, tenant_id, month) == _exact(store, tenant_id, month)


def test_other_periods_are_counted_and_not_kept(store):
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "acme", name="Acme", now=START)
        world = World(tenant_id, random.Random(2))
        for _ in range(4):
            world.account(conn)
        for _ in range(8):
            world.task(conn)
            world.attempt(conn)
    start, end = date(2026, 10, 5), date(2026, 11, 4)
    found = period_results(
        store, tenant_id=tenant_id, tenant="t", start=start, end=end, channels=None, now=NOW
    )
    with store.snapshot() as conn:
        assert found == results(
            conn, tenant_id=tenant_id, tenant="t", start=start, end=end, channels=None
        )
        assert conn.execute(sa.select(sa.func.count()).select_from(ResultsMonth)).scalar() == 0


def test_a_payment_keeps_a_promise_due_in_a_later_kept_month(store):
    """A payment in October can keep a promise due in November: November's kept results
    are moved by it, though nothing of November was written."""
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "acme", name="Acme", now=START)
        world = World(tenant_id, random.Random(4))
        world.account(conn)
        account = world.accounts[0]
        for day in (date(2026, 10, 20), date(2026, 11, 3)):
            conn.execute(
                sa.insert(Task).values(
                    tenant_id=tenant_id, account_id=account, strategy="default@file",
                    step="standard.due_today", variant="", channel="sms", template="due_today",
                    local_date=day, not_before=START, not_after=START, expires_at=START,
                    status="sent", created_at=START, updated_at=START,
                )
            )  # fmt: skip
        conn.execute(
            sa.insert(AccountEvent).values(
                tenant_id=tenant_id, account_id=account, type="promise_to_pay",
                at=datetime(2026, 10, 25, tzinfo=UTC), until=datetime(2026, 11, 10, tzinfo=UTC),
                amount=Decimal("50.00"), details={}, source="api", dedupe_key="promise",
                recorded_at=START,
            )
        )  # fmt: skip
    kept_results.fold_all(store)
    november = MONTHS[2]
    (before,) = _fast(store, tenant_id, november).arms
    assert (before.promises_due, before.promises_kept) == (1, 0)
    assert _kept(store, tenant_id, november)
    with store.transaction() as conn:
        conn.execute(
            sa.insert(AccountEvent).values(
                tenant_id=tenant_id, account_id=account, type="payment",
                at=datetime(2026, 10, 28, tzinfo=UTC), amount=Decimal("50.00"), details={},
                source="api", dedupe_key="payment", recorded_at=START,
            )
        )  # fmt: skip
    assert not _kept(store, tenant_id, november)
    (after,) = _fast(store, tenant_id, november).arms
    assert (after.promises_due, after.promises_kept) == (1, 1)
    kept_results.fold_all(store)
    assert _fast(store, tenant_id, november) == _exact(store, tenant_id, november)


def test_the_current_month_is_kept_by_the_scheduler_before_anyone_reads_it(store):
    """The roll-up pass builds every tenant's current month that is not kept, so the
    console's first read of it is never the whole month's count; a kept month is left
    alone, and the figures are the count's."""
    with store.transaction() as conn:
        first = create_tenant(conn, "acme", name="Acme", now=START)
        second = create_tenant(conn, "bank", name="Bank", now=START)
        for tenant_id, seed in ((first, 41), (second, 42)):
            world = World(tenant_id, random.Random(seed))
            for _ in range(20):
                world.step(conn)
    current = MONTHS[0]
    now = datetime.combine(current, datetime.min.time(), tzinfo=UTC) + timedelta(days=3)
    assert not _kept(store, first, current)
    assert kept_results.keep_current(store, now) == 2
    for tenant_id in (first, second):
        assert _kept(store, tenant_id, current)
        with store.snapshot() as conn:
            kept = kept_results.totals(conn, tenant_id, current)
        assert kept  # read from the totals, no count
        assert _fast(store, tenant_id, current) == _exact(store, tenant_id, current)
    assert kept_results.keep_current(store, now) == 0
    assert not _kept(store, first, MONTHS[1])  # only the current month
