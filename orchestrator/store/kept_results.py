"""Results kept per tenant, calendar month and account, folded as writes come in.

A month's results are per-account distinct counts whose cohort is each account's *first*
task in the month (``orchestrator/reporting/results.py`` defines every figure), so they
cannot be added up from smaller periods. They can be added up from *accounts*: every figure
of an account depends only on that account's own rows (its tasks, attempts, promises,
payments and currency). So a kept month holds one account's part of it as rows
(``results_accounts``, :func:`account_rows`: its cohort arm and first task, attempts,
reached, right party, promised, paying; its promises due and kept; its payments per
currency; its billed messages per channel and provider), and their sums per segment and arm
(``results_totals``), which are the month's figures. ``results_months`` lists the kept
months.

Database triggers (migrations 0015, 0016) append a mark naming the tenant, month and
account to ``results_marks`` in the same transaction as every insert, delete, or update of
a column the results read:

- ``tasks``: the month of ``local_date``;
- ``attempts``: the month of ``at`` (UTC);
- ``account_events`` (promises and payments): the month of ``at``, and of a promise's
  ``until``; a payment marks its month *onward* (it can keep a promise due in any later
  month);
- ``accounts``: a change of currency (or tenant) marks every month onward.

Being triggers, they mark every writer: the services, delivery reports, retention, erasure
(an account's rows deleted by cascade), raw SQL. Writers only ever insert marks, so no two
of them wait on a shared row.

:func:`fold` (per tenant, folds taking turns on a lock) deletes the marks it can see and,
for each marked account in each kept month the marks name, recomputes the account's rows
from the store's rows, taking the old rows' sums off the totals and adding the new ones,
in one transaction. It deletes only the marks it read: a mark committed after its delete
stays for the next fold, and as a fold *recomputes* an account's rows rather than adding
to them, an account folded twice (its write seen by the fold, its mark left for the next)
is counted once. When more than a quarter of a month's accounts were written to (a planning
run, a bulk load), the fold counts the whole month again instead. Marks of months not kept
are dropped: the month is built from the rows when it is first read (:func:`build`, after
a fold in the same transaction, so a write committed between the two is both in the build
and still marked).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from orchestrator.domain import Channel, ContactKind, DeliveryStatus, EventType
from orchestrator.store.db import Store, dialect_insert, id_in
from orchestrator.store.tables import (
    Account,
    AccountEvent,
    Attempt,
    ResultsAccount,
    ResultsMark,
    ResultsMonth,
    ResultsTotal,
    Task,
    Tenant,
)

# Statuses of an attempt the provider accepted (and so bills).
BILLED = ("queued", "sent", "delivered", "undelivered", "bounced")
REACHED = (DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value)
ANSWERED = (ContactKind.CONVERSATION.value, ContactKind.LIMITED_CONTENT.value)
SCALE = 10_000  # money on SQLite is summed exactly in ten-thousandths
# pg_advisory_xact_lock(key, tenant): a tenant's folds and builds take turns.
_LOCK = 0x72657375  # "resu"
# Accounts recomputed per statement (SQLite's bound parameters are limited).
CHUNK = 5_000
_SUM: dict[str, Any] = {"postgresql": sa.Numeric(28, 4), "sqlite": sa.BigInteger()}
_KEY = ("kind", "segment", "arm", "k1", "k2")
_NS = ("n1", "n2", "n3", "n4", "n5", "n6")


def month_of(day: date) -> date:
    return day.replace(day=1)


def is_month(start: date, end: date) -> bool:
    """Whether [``start``, ``end``) is exactly one calendar month."""
    return start.day == 1 and end == next_month(start)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _marked(tenant_id: int, month: date) -> sa.ColumnElement[bool]:
    """Whether a mark not yet folded names the tenant's ``month``."""
    return sa.exists().where(
        ResultsMark.tenant_id == tenant_id,
        sa.or_(
            ResultsMark.month == month,
            sa.and_(ResultsMark.onward, ResultsMark.month <= month),
        ),
    )


def is_kept(conn: Connection, tenant_id: int, month: date) -> bool:
    """Whether the tenant's ``month`` is kept and no write since has moved it (its totals
    are its figures as they stand)."""
    built = sa.exists().where(ResultsMonth.tenant_id == tenant_id, ResultsMonth.month == month)
    return bool(
        conn.execute(sa.select(sa.and_(built, sa.not_(_marked(tenant_id, month))))).scalar()
    )


# --- reading --------------------------------------------------------------------------------


def month_rows(store: Store, tenant_id: int, month: date, now: datetime) -> list[tuple[Any, ...]]:
    """The tenant's figures for ``month`` as
    :func:`orchestrator.reporting.results.figure_rows` gives them: read from the totals when
    nothing since moved them; else after a fold (and, the first time, a build) in one
    transaction."""
    with store.snapshot() as conn:
        if is_kept(conn, tenant_id, month):
            return totals(conn, tenant_id, month)
    with store.transaction() as conn:
        _begin(conn, tenant_id)
        fold(conn, tenant_id)
        if (
            conn.execute(
                sa.select(ResultsMonth.month).where(
                    ResultsMonth.tenant_id == tenant_id, ResultsMonth.month == month
                )
            ).first()
            is None
        ):
            build(conn, tenant_id, month, now)
        return totals(conn, tenant_id, month)


def totals(conn: Connection, tenant_id: int, month: date) -> list[tuple[Any, ...]]:
    """The kept month's totals as figure rows (``kind``, segment, arm, k1, k2, n1..n6,
    money)."""
    dialect = conn.dialect.name
    t = ResultsTotal
    return [
        (
            row.kind,
            row.segment,
            row.arm,
            row.k1,
            row.k2,
            *(int(n) for n in (row.n1, row.n2, row.n3, row.n4, row.n5, row.n6)),
            decoded(row.money, dialect) if row.kind == "collected" else None,
        )
        for row in conn.execute(
            sa.select(*t.__table__.c).where(t.tenant_id == tenant_id, t.month == month, t.n1 > 0)
        )
    ]


def decoded(total: Any, dialect: str) -> Decimal:
    """A money sum as :func:`scaled` amounts add up, as a :class:`~decimal.Decimal`."""
    if total is None:
        return Decimal(0)
    if dialect == "postgresql":
        return Decimal(total)
    return Decimal(int(total)) / SCALE


def scaled(amount: Any, dialect: str) -> Any:
    """Money as something SQL adds exactly: NUMERIC on PostgreSQL, ten-thousandths as an
    integer on SQLite (which stores it as text)."""
    if dialect == "postgresql":
        return sa.cast(amount, sa.Numeric(20, 4))
    return sa.cast(sa.func.round(sa.cast(amount, sa.Float) * SCALE), sa.Integer)


# --- folding and building -------------------------------------------------------------------


def _begin(conn: Connection, tenant_id: int) -> None:
    """In a fold's or build's transaction, first: wait for the tenant's other folds; keep
    PostgreSQL from compiling its statements (its estimates over a few accounts are far
    off, and JIT takes seconds where the statement takes milliseconds)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(CAST(:k AS integer), CAST(:t AS integer))"),
            {"k": _LOCK, "t": tenant_id},
        )
        conn.execute(sa.text("SET LOCAL jit = off"))
        conn.execute(sa.text("SET LOCAL work_mem = '128MB'"))
    # SQLite: the transaction holds the database's write lock (Store.transaction).


def fold(conn: Connection, tenant_id: int) -> int:
    """In the caller's transaction, after :func:`_begin`: fold the tenant's marks into its
    kept months; how many marks were folded."""
    if conn.dialect.name == "postgresql":
        found = conn.execute(
            sa.text(
                """
                WITH gone AS (
                    DELETE FROM results_marks WHERE tenant_id = :t
                    RETURNING account_id, month, onward),
                moved AS (
                    SELECT DISTINCT k.month, g.account_id FROM gone g
                    JOIN results_months k ON k.tenant_id = :t
                     AND (k.month = g.month OR (g.onward AND k.month >= g.month)))
                SELECT NULL::date, NULL::bigint, count(*) FROM gone
                UNION ALL SELECT month, account_id, NULL FROM moved"""
            ),
            {"t": tenant_id},
        ).all()
        folded = int(next(n for month, _, n in found if month is None))
        pairs = [(month, account) for month, account, n in found if month is not None]
    else:
        last = conn.execute(
            sa.select(sa.func.max(ResultsMark.id)).where(ResultsMark.tenant_id == tenant_id)
        ).scalar()
        if last is None:
            return 0
        mine = (ResultsMark.tenant_id == tenant_id, ResultsMark.id <= last)
        pairs = [
            (month, account)
            for month, account in conn.execute(
                sa.select(ResultsMonth.month, ResultsMark.account_id)
                .distinct()
                .join(
                    ResultsMonth,
                    sa.and_(
                        ResultsMonth.tenant_id == tenant_id,
                        sa.or_(
                            ResultsMonth.month == ResultsMark.month,
                            sa.and_(ResultsMark.onward, ResultsMonth.month >= ResultsMark.month),
                        ),
                    ),
                )
                .where(*mine)
            )
        ]
        folded = int(conn.execute(sa.delete(ResultsMark).where(*mine)).rowcount)
    by_month: dict[date, list[int]] = defaultdict(list)
    for month, account in pairs:
        by_month[month].append(int(account))
    for month, accounts in sorted(by_month.items()):
        if len(accounts) > CHUNK and len(accounts) * 4 > _accounts_in(conn, tenant_id, month):
            # A quarter of the month written to (a planning run, a bulk load): counting the
            # whole month once is cheaper than recounting those accounts chunk by chunk.
            for table in (ResultsAccount, ResultsTotal):
                conn.execute(
                    sa.delete(table).where(table.tenant_id == tenant_id, table.month == month)
                )
            _insert_rows(conn, tenant_id, month, None)
            _add(conn, tenant_id, month, None, 1)
            _analyze(conn)
            continue
        accounts.sort()
        for at in range(0, len(accounts), CHUNK):
            recompute(conn, tenant_id, month, accounts[at : at + CHUNK])
    if by_month:
        conn.execute(
            sa.delete(ResultsTotal).where(
                ResultsTotal.tenant_id == tenant_id,
                ResultsTotal.month.in_(list(by_month)),
                ResultsTotal.n1 == 0,
            )
        )
    return folded


def _accounts_in(conn: Connection, tenant_id: int, month: date) -> int:
    """The accounts of the kept month's cohorts."""
    t = ResultsTotal
    return int(
        conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(t.n1), 0)).where(
                t.tenant_id == tenant_id, t.month == month, t.kind == "arm"
            )
        ).scalar_one()
    )


def recompute(conn: Connection, tenant_id: int, month: date, accounts: Sequence[int]) -> None:
    """The ``accounts``' rows of the kept ``month`` recounted from the store's rows, and
    the totals moved by the difference (old sums off, new sums on)."""
    _add(conn, tenant_id, month, accounts, -1)
    conn.execute(
        sa.delete(ResultsAccount).where(
            ResultsAccount.tenant_id == tenant_id,
            ResultsAccount.month == month,
            id_in(conn, ResultsAccount.account_id, accounts),
        )
    )
    _insert_rows(conn, tenant_id, month, accounts)
    _add(conn, tenant_id, month, accounts, 1)


def build(conn: Connection, tenant_id: int, month: date, now: datetime) -> None:
    """In the caller's transaction, after :func:`_begin` and :func:`fold`: keep ``month``,
    counting every account's rows (the whole month's count, once)."""
    _insert_rows(conn, tenant_id, month, None)
    _add(conn, tenant_id, month, None, 1)
    conn.execute(sa.insert(ResultsMonth).values(tenant_id=tenant_id, month=month, built_at=now))
    _analyze(conn)


def _analyze(conn: Connection) -> None:
    """After a month's rows went in at once: PostgreSQL's statistics of the table, so that
    the next fold looks its few accounts up by the primary key (with none, the planner can
    scan millions of rows, testing each against the fold's list of accounts: a minute at a
    million accounts, measured)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("ANALYZE results_accounts"))


def fold_all(store: Store) -> int:
    """Fold every tenant's marks written since the last pass (the scheduler, every sweep);
    takes no write lock when there are none; how many marks were folded."""
    with store.snapshot() as conn:
        tenants = list(conn.execute(sa.select(ResultsMark.tenant_id).distinct()).scalars())
    folded = 0
    for tenant_id in tenants:
        with store.transaction() as conn:
            _begin(conn, tenant_id)
            folded += fold(conn, tenant_id)
    return folded


def keep_current(store: Store, now: datetime) -> int:
    """Keep every tenant's current calendar month (UTC), building the ones not kept yet (the
    scheduler, every sweep, after :func:`fold_all`): the console's results page opens on
    this month, so its first read is never the whole month's count. A month is built on
    its first day, when it holds little; only the first pass after this feature is deployed
    (or after ``db rollups --rebuild``) counts a month's worth, here, not in a page.
    How many months were built."""
    month = month_of(now.date())
    with store.snapshot() as conn:
        kept = sa.select(ResultsMonth.tenant_id).where(ResultsMonth.month == month)
        missing = list(
            conn.execute(
                sa.select(Tenant.id).where(Tenant.id.not_in(kept)).order_by(Tenant.id)
            ).scalars()
        )
    for tenant_id in missing:
        month_rows(store, tenant_id, month, now)
    return len(missing)


def forget(store: Store, tenant_ids: Iterable[int] | None = None) -> int:
    """Drop the kept months of ``tenant_ids`` (every tenant: ``None``); each is built again
    from the rows when next read. How many months were dropped."""
    with store.snapshot() as conn:
        found = sa.select(ResultsMonth.tenant_id).distinct()
        tenants = list(conn.execute(found).scalars())
    if tenant_ids is not None:
        wanted = set(tenant_ids)
        tenants = [t for t in tenants if t in wanted]
    dropped = 0
    for tenant_id in tenants:
        with store.transaction() as conn:
            _begin(conn, tenant_id)
            for table in (ResultsAccount, ResultsTotal):
                conn.execute(sa.delete(table).where(table.tenant_id == tenant_id))
            dropped += int(
                conn.execute(
                    sa.delete(ResultsMonth).where(ResultsMonth.tenant_id == tenant_id)
                ).rowcount
            )
    return dropped


def _add(
    conn: Connection, tenant_id: int, month: date, accounts: Sequence[int] | None, sign: int
) -> None:
    """Add (``sign`` 1) or take off (-1) the sums of the ``accounts``' rows (all: ``None``)
    to the month's totals."""
    r = ResultsAccount
    where = [r.tenant_id == tenant_id, r.month == month]
    if accounts is not None:
        where.append(id_in(conn, r.account_id, accounts))
    dialect = conn.dialect.name
    sums = (
        sa.select(
            sa.literal(tenant_id, sa.Integer).label("tenant_id"),
            sa.literal(month, sa.Date).label("month"),
            r.kind,
            r.segment,
            r.arm,
            r.k1,
            r.k2,
            *(sa.cast(sa.func.sum(getattr(r, n)) * sign, sa.BigInteger).label(n) for n in _NS),
            sa.cast(sa.func.sum(r.money) * sign, _SUM[dialect]).label("money"),
        )
        .where(*where)
        .group_by(r.kind, r.segment, r.arm, r.k1, r.k2)
    )
    insert = dialect_insert(conn, ResultsTotal).from_select(
        ["tenant_id", "month", *_KEY, *_NS, "money"], sums
    )
    t = ResultsTotal
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["tenant_id", "month", *_KEY],
            set_={
                name: getattr(t, name) + getattr(insert.excluded, name) for name in (*_NS, "money")
            },
        )
    )


def _insert_rows(
    conn: Connection, tenant_id: int, month: date, accounts: Sequence[int] | None
) -> None:
    rows = account_rows(conn, tenant_id, month, accounts)
    conn.execute(
        sa.insert(ResultsAccount).from_select([c.name for c in rows.selected_columns], rows)
    )


# --- the per-account query ------------------------------------------------------------------


def account_rows(
    conn: Connection, tenant_id: int, month: date, accounts: Sequence[int] | None
) -> Any:
    """Each account's part of the tenant's ``month`` (``accounts`` only, unless ``None``),
    as ``results_accounts`` rows told apart by ``kind`` (key columns ``k1``, ``k2`` are ``''``
    where unused, counts 0, money 0):

    - ``arm``: one per account of the month's cohort (it has a task in the month): its
      segment and arm, the step date and id of its first task; n1 1, n2 attempts, n3
      reached, n4 right party, n5 promised, n6 paying;
    - ``collected``: k1 the account's currency; n1 its payments with an amount, money their
      sum;
    - ``promises``: n1 its promises due in the month, n2 those kept;
    - ``billed``: k1 a channel, k2 a provider; n1 the messages it accepted.

    The figures of :mod:`orchestrator.reporting.results` are these rows' sums per segment
    and arm (``n1 > 0``: the groups the count would give)."""
    dialect = conn.dialect.name
    since = datetime.combine(month, time(0), UTC)
    until = datetime.combine(next_month(month), time(0), UTC)

    def only(column: Any) -> list[Any]:
        return [] if accounts is None else [id_in(conn, column, accounts)]

    text: Any = sa.String()
    cohort = _cohort(tenant_id, month, next_month(month), dialect, only(Task.account_id))
    head = (
        sa.literal(tenant_id, sa.Integer).label("tenant_id"),
        sa.literal(month, sa.Date).label("month"),
        cohort.c.account_id,
    )

    def tail(kind: str, k1: Any, k2: Any, first: bool) -> list[Any]:
        return [
            sa.literal(kind, text).label("kind"),
            sa.cast(k1, text).label("k1"),
            sa.cast(k2, text).label("k2"),
            cohort.c.segment,
            cohort.c.arm,
            (cohort.c.first_date if first else sa.cast(sa.null(), sa.Date)).label("first_date"),
            (cohort.c.first_task if first else sa.cast(sa.null(), sa.BigInteger)).label(
                "first_task"
            ),
        ]

    def counts(*values: Any) -> list[Any]:
        padded = [*values, *[0] * (6 - len(values))]
        return [sa.cast(v, sa.BigInteger).label(f"n{i}") for i, v in enumerate(padded, start=1)]

    def money(value: Any) -> Any:
        return sa.cast(value, _SUM[dialect]).label("money")

    call = Attempt.channel == Channel.CALL.value
    reached = sa.or_(
        sa.and_(call, Attempt.contact_kind.in_(ANSWERED)),
        sa.and_(sa.not_(call), Attempt.status.in_(REACHED)),
    )
    in_month = (Attempt.tenant_id == tenant_id, Attempt.at >= since, Attempt.at < until)
    contacts = (
        sa.select(
            Attempt.account_id,
            sa.func.sum(_flag(Attempt.contact_kind != ContactKind.FAILED.value)).label("made"),
            sa.func.max(_flag(reached)).label("reached"),
            sa.func.max(_flag(Attempt.contact_kind == ContactKind.CONVERSATION.value)).label("rpc"),
        )
        .where(*in_month, *only(Attempt.account_id))
        .group_by(Attempt.account_id)
        .subquery("contacts")
    )
    outcomes = (
        sa.select(
            AccountEvent.account_id,
            sa.func.max(_flag(AccountEvent.type == EventType.PROMISE_TO_PAY.value)).label(
                "promised"
            ),
            sa.func.max(_flag(AccountEvent.type == EventType.PAYMENT.value)).label("paid"),
        )
        .where(
            AccountEvent.tenant_id == tenant_id,
            AccountEvent.type.in_((EventType.PROMISE_TO_PAY.value, EventType.PAYMENT.value)),
            AccountEvent.at >= since,
            AccountEvent.at < until,
            *only(AccountEvent.account_id),
        )
        .group_by(AccountEvent.account_id)
        .subquery("outcomes")
    )
    arm = sa.select(
        *head,
        *tail("arm", sa.literal(""), sa.literal(""), True),
        *counts(
            1,
            sa.func.coalesce(contacts.c.made, 0),
            sa.func.coalesce(contacts.c.reached, 0),
            sa.func.coalesce(contacts.c.rpc, 0),
            sa.func.coalesce(outcomes.c.promised, 0),
            sa.func.coalesce(outcomes.c.paid, 0),
        ),
        money(0),
    ).select_from(
        cohort.outerjoin(contacts, contacts.c.account_id == cohort.c.account_id).outerjoin(
            outcomes, outcomes.c.account_id == cohort.c.account_id
        )
    )
    collected = (
        sa.select(
            *head,
            *tail("collected", Account.currency, sa.literal(""), False),
            *counts(sa.func.count()),
            money(sa.func.sum(scaled(AccountEvent.amount, dialect))),
        )
        .join(cohort, cohort.c.account_id == AccountEvent.account_id)
        .join(Account, Account.id == AccountEvent.account_id)
        .where(
            AccountEvent.tenant_id == tenant_id,
            AccountEvent.type == EventType.PAYMENT.value,
            AccountEvent.at >= since,
            AccountEvent.at < until,
            AccountEvent.amount.is_not(None),
            *only(AccountEvent.account_id),
        )
        .group_by(cohort.c.account_id, cohort.c.segment, cohort.c.arm, Account.currency)
    )
    promise = aliased(AccountEvent, name="promise")
    kept = promise_kept(promise, dialect)
    promises = (
        sa.select(
            *head,
            *tail("promises", sa.literal(""), sa.literal(""), False),
            *counts(sa.func.count(), sa.func.sum(kept)),
            money(0),
        )
        .join(cohort, cohort.c.account_id == promise.account_id)
        .where(
            promise.tenant_id == tenant_id,
            promise.type == EventType.PROMISE_TO_PAY.value,
            promise.until >= since,
            promise.until < until,
            *only(promise.account_id),
        )
        .group_by(cohort.c.account_id, cohort.c.segment, cohort.c.arm)
    )
    billed = (
        sa.select(
            *head,
            *tail("billed", Attempt.channel, Attempt.provider, False),
            *counts(sa.func.count()),
            money(0),
        )
        .join(cohort, cohort.c.account_id == Attempt.account_id)
        .where(*in_month, Attempt.status.in_(BILLED), *only(Attempt.account_id))
        .group_by(
            cohort.c.account_id, cohort.c.segment, cohort.c.arm, Attempt.channel, Attempt.provider
        )
    )
    return sa.union_all(arm, collected, promises, billed)


def _flag(condition: Any) -> Any:
    return sa.case((condition, 1), else_=0)


def promise_kept(promise: Any, dialect: str) -> Any:
    """1 when the promise (an alias of ``account_events``) was kept, else 0: the account's
    payments from the promise to its date add up to the promised amount (any payment, for a
    promise without one). The one statement of the rule, for the kept rows and the count
    alike."""
    payment = aliased(AccountEvent, name="payment")
    paid = (
        sa.select(sa.func.coalesce(sa.func.sum(scaled(payment.amount, dialect)), 0))
        .where(
            payment.account_id == promise.account_id,
            payment.type == EventType.PAYMENT.value,
            payment.at >= promise.at,
            payment.at <= promise.until,
        )
        .scalar_subquery()
    )
    return sa.case(
        (promise.amount.is_(None), _flag(paid > 0)),
        else_=_flag(paid >= scaled(promise.amount, dialect)),
    )


def segment_of(step: Any, dialect: str) -> Any:
    """The segment id of a task's ``segment.step`` (ids hold no dots)."""
    if dialect == "postgresql":
        return sa.func.split_part(step, ".", 1)
    return sa.func.substr(step, 1, sa.func.instr(step, ".") - 1)


def _cohort(tenant_id: int, start: date, end: date, dialect: str, only: list[Any]) -> Any:
    """(account_id, segment, arm, first_date, first_task) of each account's first task in
    [``start``, ``end``)."""
    where = (Task.tenant_id == tenant_id, Task.local_date >= start, Task.local_date < end, *only)
    segment = segment_of(Task.step, dialect).label("segment")
    columns = (
        Task.account_id,
        segment,
        Task.variant.label("arm"),
        Task.local_date.label("first_date"),
        Task.id.label("first_task"),
    )
    if dialect == "postgresql":
        return (
            sa.select(*columns)
            .where(*where)
            .ext(distinct_on(Task.account_id))
            .order_by(Task.account_id, Task.local_date, Task.id)
            .cte("cohort")
        )
    ranked = (
        sa.select(
            *columns,
            sa.func.row_number()
            .over(partition_by=Task.account_id, order_by=(Task.local_date, Task.id))
            .label("n"),
        )
        .where(*where)
        .subquery()
    )
    return sa.select(*(c for c in ranked.c if c.name != "n")).where(ranked.c.n == 1).cte("cohort")
