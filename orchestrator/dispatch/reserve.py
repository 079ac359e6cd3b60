"""Step 1 of a send: claim a batch of tasks, check every rule and reserve the contacts —
atomically.

One transaction for the whole batch locks the accounts' rows in id order (every send to an
account waits its turn: on PostgreSQL row locks, on SQLite the database write lock), then the
tasks still ``queued`` (a duplicate or redelivered message finds nothing to do), reads every
account's facts and contact history with one query per table, and makes the send-time
decision (:func:`orchestrator.tasks.decide_task`) for each task in memory, counting the
contacts the batch itself reserves. Sends are given a provider (circuit breaker) and an
instant on its rate limit (booked for the batch in one step, no further ahead than
:data:`HORIZON`; the request waits for it just before it goes out, see
:mod:`orchestrator.dispatch.sending`), rendered, and *reserved*: their attempts inserted in
one statement, their tasks moved ``queued → sending`` in another. When it commits, the caps
count these contacts; when it does not, nothing happened. A send whose instant would come
too late for its window is held for the next window instead.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

import dramatiq
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channels.base import OutboundMessage
from orchestrator import ledger, links, outbox
from orchestrator.channel_types import ChannelKind
from orchestrator.clock import speed_of
from orchestrator.compliance import PastContact, RulePack
from orchestrator.configuration.channel_config import DispatchPolicy, RateLimit
from orchestrator.configuration.source import ConfigSet
from orchestrator.dispatch.limits import RateLimiter
from orchestrator.dispatch.needs import CurrentConfig, DispatchNeeds
from orchestrator.dispatch.pool import Provider, ProviderPool
from orchestrator.domain import Channel, ContactKind, DeliveryStatus, Purpose, TaskStatus
from orchestrator.errors import TemplateError
from orchestrator.isolation import tenant_failed
from orchestrator.messages.account_context import message_context
from orchestrator.messages.approved_texts import template_params
from orchestrator.messages.library import RenderedMessage
from orchestrator.metrics import BLOCKS, DECISIONS, DEFERRALS
from orchestrator.planning.facts import RENDER_COLUMNS, load
from orchestrator.planning.routing import choose_route
from orchestrator.store.db import id_in
from orchestrator.store.tables import Account, Attempt, Task, Tenant
from orchestrator.tasks import TaskDecision, Verdict, decide_task, routes_of, transitions

LIMITED_CONTENT_TEMPLATE = "voicemail_limited"
ABANDONED = "abandoned"  # error code of a send released by the reconciler
HORIZON = 2.0
"""How far ahead (real seconds) a reservation books its sends' instants on a provider's
rate limit: long enough that a batch is rarely split, short enough that a reserved send
soon goes (the caps count it from its reservation)."""
LEAD = 0.25
"""The soonest (real seconds) a reservation books a send's instant: the rest of its
transaction and the hand-over to a sending thread come first, and a request that misses its
instant must book another."""
CHUNK_SECONDS = 0.5
"""Throttled tasks come back for about this many seconds' worth of sends at once: one
reserving transaction for a token would cost a transaction a send when the rate limit is
the bottleneck."""
_COUNTED = (
    ContactKind.ATTEMPT.value,
    ContactKind.CONVERSATION.value,
    ContactKind.LIMITED_CONTENT.value,
)


class Outcome(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"  # not ours to send (already claimed, cancelled, done)
    BLOCKED = "blocked"
    HELD = "held"  # not now: back to the store until its next allowed instant
    EXPIRED = "expired"
    RETRY = "retry"  # a transient failure: Dramatiq tries again after its backoff
    FAILED_OVER = "failed_over"  # refused for good here: the next provider or channel is queued
    FAILED = "failed"
    AMBIGUOUS = "ambiguous"  # the provider may have acted: the reconciler finds out


@dataclass(frozen=True, slots=True)
class Throttled:
    """The chosen provider's rate limit has no instant for it within :data:`HORIZON`:
    nothing was written; try again after ``wait`` seconds, when about ``room`` sends could
    be booked (our own throttling is not a provider failure and costs no attempt)."""

    provider: str
    wait: float
    room: int = 1
    limit: RateLimit | None = None


class RetryLater(dramatiq.Retry):
    """The task is to be tried again later: an ordinary event, not an error.

    Raised through the actor to Dramatiq's Retries middleware, which schedules the retry
    (``delay``, milliseconds, when the actor sets one; its backoff otherwise). Being a
    :class:`dramatiq.Retry`, it is never logged as a failure with a traceback; the actor logs
    one line for it instead.

    Parameters:
      reason: what stood in the way, in words.
      provider: the provider concerned, when there is one.
      throttled: a rate limit (ours, or the provider's 429) rather than a failure.
      retry_after: seconds the provider (or our rate limit) asks us to wait, if known.
      deferred: our own rate limit had no room for it soon enough: no attempt was made or
        counted, so it is tried again after ``retry_after``, without a backoff.
    """

    def __init__(
        self,
        reason: str,
        *,
        provider: str | None = None,
        throttled: bool = False,
        retry_after: float | None = None,
        deferred: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.provider = provider
        self.throttled = throttled or deferred
        self.retry_after = retry_after
        self.deferred = deferred


@dataclass(frozen=True, slots=True)
class Claim:
    """What the reserving transaction hands to the send."""

    task_id: int
    tenant_id: int
    account_id: int
    attempt_id: int
    provider: Provider
    message: OutboundMessage
    rendered: RenderedMessage
    reserved_at: datetime
    window_closes_at: datetime
    policy: DispatchPolicy
    lease_until: datetime
    """When the reconciler may take the send over (the clock's time): no try may start that
    could still be with the provider then."""
    send_at: float = 0.0
    """The instant booked for it on the provider's rate limit (``time.monotonic()``): its
    first request waits for it, and books a new one if it could not go out on time."""


Reserved = Claim | Outcome | Throttled | RetryLater
"""What reserving one task came to: a claim to send, an outcome (nothing to send now), our
rate limit used up, or a retry later (no provider available, its tenant suspended)."""


@dataclass(slots=True)
class _Send:
    """A task the decision allows now, on its way to a claim."""

    task: Any
    account: Any
    loaded: Any
    decision: TaskDecision
    pack: RulePack
    policy: DispatchPolicy
    provider: Provider | None = None
    send_at: float = 0.0  # its instant on the rate limit (time.monotonic())


class Reserver:
    """Claims and reserves tasks, a batch at a time.

    Parameters:
      services: the store, the clock, the configuration and the public URL.
      pool: the providers.
      limiter: the shared per-provider rate limits.
    """

    def __init__(self, services: DispatchNeeds, pool: ProviderPool, limiter: RateLimiter) -> None:
        self.store = services.store
        self.clock = services.clock
        self.config: CurrentConfig = services.config
        self.public_url = services.settings.public_url
        self.link_secret = services.settings.link_secret
        self.self_service_base = services.settings.self_service_base
        self.link_ttl = timedelta(days=services.settings.link_ttl_days)
        self.pool = pool
        self.limiter = limiter

    def reserve(self, task_id: int) -> Claim | Outcome | Throttled:
        """The claim to send, or the outcome when there is nothing to send now; raises
        :class:`RetryLater` when it is to be tried again later.

        A failure that is not one of dispatch's own outcomes (a tenant's broken config or
        data) is logged and alerted with the tenant before it propagates: the message is
        retried on its own, and no other tenant's task waits on it."""
        try:
            result = self._claim([task_id])[task_id]
        except RetryLater:
            raise
        except Exception as exc:
            tenant_failed("dispatch", self._tenant_of(task_id), exc)
            raise
        if isinstance(result, RetryLater):
            raise result
        return result

    def reserve_batch(self, task_ids: Sequence[int]) -> dict[int, Reserved | Exception]:
        """Each task's result, reserved together in one transaction.

        When the batch fails as a whole (one tenant's broken config or data), each task is
        reserved alone, so the failure stays with the task that caused it (returned as its
        exception, alerted with its tenant) and every other task goes on."""
        ids = list(dict.fromkeys(task_ids))
        try:
            return dict(self._claim(ids))
        except Exception:  # noqa: BLE001 - retried task by task below, where it is reported
            if len(ids) == 1:
                try:
                    return {ids[0]: self.reserve(ids[0])}
                except Exception as exc:  # noqa: BLE001 - the task's own failure
                    return {ids[0]: exc}
        results: dict[int, Reserved | Exception] = {}
        for task_id in ids:
            try:
                results[task_id] = self.reserve(task_id)
            except Exception as exc:  # noqa: BLE001 - the task's own failure, reported
                results[task_id] = exc
        return results

    def _tenant_of(self, task_id: int) -> str:
        with self.store.snapshot() as conn:
            slug = conn.execute(
                sa.select(Tenant.slug)
                .join(Task, Task.tenant_id == Tenant.id)
                .where(Task.id == task_id)
            ).scalar()
        return str(slug or "unknown")

    def _claim(self, task_ids: Sequence[int]) -> dict[int, Reserved]:
        # One read of the configuration for the whole batch: a reload meanwhile must not pair
        # one version's rule pack and providers with another's templates.
        config = self.config.get()
        results: dict[int, Reserved] = {task_id: Outcome.SKIPPED for task_id in task_ids}
        with self.store.locking_transaction() as conn:
            # Which accounts (a task never changes account), read without a lock: accounts
            # are locked first, always, in id order, as the API takes the account before its
            # tasks too; two batches sharing accounts then wait for each other, never deadlock.
            owners = conn.execute(
                sa.select(Task.account_id).where(id_in(conn, Task.id, task_ids)).distinct()
            ).scalars()
            account_ids = sorted(set(owners))
            if not account_ids:
                return results
            accounts = {
                row.id: row
                for row in conn.execute(
                    _lockable(
                        self.store,
                        sa.select(*RENDER_COLUMNS, Tenant.slug, Tenant.profile)
                        .join(Tenant, Tenant.id == Account.tenant_id)
                        .where(id_in(conn, Account.id, account_ids))
                        .order_by(Account.id),
                        of=Account,
                    )
                )
            }
            tasks = transitions.lock_queued(conn, task_ids, lock=not self.store.is_sqlite)
            now = self.clock.now()
            sendable = []
            for task in tasks:
                slug = accounts[task.account_id].slug
                if slug in config.suspended:
                    # Its configuration is refused: nothing is sent for it until it is
                    # fixed; the task stays queued (the sweep re-queues it) or expires.
                    tenant_failed("dispatch", slug, config.suspended[slug])
                    results[task.id] = RetryLater(f"tenant {slug} is suspended")
                else:
                    sendable.append(task)
            loaded = self._load(conn, config, accounts, sendable, now)
            sends: list[_Send] = []
            for task in sendable:
                account = accounts[task.account_id]
                outcome = self._decide(conn, config, task, account, loaded[account.id], now)
                if isinstance(outcome, _Send):
                    sends.append(outcome)
                    # The batch's own reservations count against the caps of what follows.
                    loaded[account.id].history.append(
                        PastContact(now, _channel_of(outcome), ContactKind.RESERVED)
                    )
                else:
                    results[task.id] = outcome
            results.update(self._reserve(conn, config, sends, now))
        return results

    def _load(
        self,
        conn: Connection,
        config: ConfigSet,
        accounts: dict[int, Any],
        tasks: Sequence[Any],
        now: datetime,
    ) -> dict[int, Any]:
        """Facts and contact history of the tasks' accounts: one read per table for each
        lookback the tenants' rule packs ask for."""
        by_lookback: dict[timedelta, list[Any]] = {}
        seen: set[int] = set()
        for task in tasks:
            account = accounts[task.account_id]
            if account.id not in seen:
                seen.add(account.id)
                by_lookback.setdefault(config.lookback_for(account.slug), []).append(account)
        loaded: dict[int, Any] = {}
        for lookback, rows in by_lookback.items():
            loaded.update(load(conn, rows, since=now - lookback, include_pending=False))
        return loaded

    def _decide(
        self,
        conn: Connection,
        config: ConfigSet,
        task: Any,
        account: Any,
        loaded: Any,
        now: datetime,
    ) -> _Send | Outcome:
        """The send-time decision for one task: a send, or the task closed or held."""
        policy = config.channels_for(account.slug).dispatch
        pack = config.pack_for(account.jurisdiction, account.slug)
        decision = decide_task(
            now=now,
            expires_at=task.expires_at,
            attempts=task.attempt_count,
            max_attempts=policy.max_attempts,
            route=partial(
                choose_route,
                loaded.facts,
                loaded.history,
                routes_of(task),
                now,
                task.expires_at,
                pack,
                purpose=Purpose(task.purpose),
            ),
        )
        verdict = decision.verdict
        if verdict is Verdict.EXPIRE:
            return _close(
                conn, task, TaskStatus.EXPIRED, now, "expired before it could be sent", []
            )
        if verdict is Verdict.GIVE_UP:
            return _close(
                conn,
                task,
                TaskStatus.FAILED,
                now,
                f"gave up after {task.attempt_count} attempts",
                decision.rules,
            )
        if verdict is Verdict.BLOCK:
            for reason in decision.reasons:
                BLOCKS.labels(reason.rule_id).inc()
            DECISIONS.labels("send", task.channel, "blocked").inc()
            return _close(
                conn,
                task,
                TaskStatus.BLOCKED,
                now,
                f"blocked at send time: {decision.explain()}",
                decision.rules,
            )
        if verdict is Verdict.HOLD:
            return _hold(conn, task, decision, now)
        send = _Send(task, account, loaded, decision, pack, policy)
        if _closes(send) - now < margin_of(policy, self.clock):
            return self._too_late(conn, send, now, "")
        return send

    def _too_late(self, conn: Connection, send: _Send, now: datetime, why: str) -> Outcome:
        """The send could not reach the provider before its window closes (less
        ``dispatch.window_margin_seconds``): held for the next allowed instant after the
        close, or expired when there is none; never a send that lands after it."""
        task, loaded, pack, policy = send.task, send.loaded, send.pack, send.policy
        closes = _closes(send)
        later = decide_task(
            now=now,
            expires_at=task.expires_at,
            route=partial(
                choose_route,
                loaded.facts,
                loaded.history,
                routes_of(task),
                closes,
                task.expires_at,
                pack,
                purpose=Purpose(task.purpose),
            ),
        )
        if later.verdict is Verdict.HOLD and later.send_at and later.send_at > now:
            return _hold(conn, task, later, now, why)
        return _close(
            conn,
            task,
            TaskStatus.EXPIRED,
            now,
            f"its last window closes within {policy.window_margin_seconds:g}s "
            f"(dispatch.window_margin_seconds){why}, too late to send safely",
            send.decision.rules,
        )

    def _reserve(
        self, conn: Connection, config: ConfigSet, sends: list[_Send], now: datetime
    ) -> dict[int, Reserved]:
        """Providers, rate-limit tokens, rendering and the reservations for the sends."""
        results: dict[int, Reserved] = {}
        if not sends:
            return results
        # Providers that failed a task go last; a send we abandoned ourselves (a crash,
        # reconciled) says nothing against the provider. Every attempt is counted on its
        # task in the transaction that inserts it: a task never tried has none to read.
        tried = [s.task.id for s in sends if s.task.attempt_count]
        failed: dict[int, set[str]] = {}
        if tried:
            for failure in conn.execute(
                sa.select(Attempt.task_id, Attempt.provider).where(
                    id_in(conn, Attempt.task_id, tried),
                    Attempt.contact_kind == ContactKind.FAILED.value,
                    Attempt.error_code != ABANDONED,
                )
            ):
                failed.setdefault(failure.task_id, set()).add(failure.provider)
        closed: set[str] = set()
        by_limit: dict[str, list[_Send]] = {}
        for send in sends:
            channel = _channel_of(send)
            send.provider = self.pool.choose(
                send.account.slug,
                channel,
                avoid=frozenset(failed.get(send.task.id, ())),
                config=config,
                closed=closed,
            )
            if send.provider is None:
                transitions.touch(conn, send.task.id, now)
                ledger.append(
                    conn,
                    [
                        _entry(
                            send.task,
                            now,
                            "task.retry",
                            f"no {channel} provider is available (all circuits open); "
                            "retrying later",
                            channel.value,
                        )
                    ],
                )
                results[send.task.id] = RetryLater(
                    f"no {channel} provider available (all circuits open)"
                )
                continue
            by_limit.setdefault(send.provider.limits_key, []).append(send)
        granted: list[_Send] = []
        for key, waiting in by_limit.items():
            limit = waiting[0].provider.config.rate_limit if waiting[0].provider else None
            booking = self.limiter.book(key, limit, len(waiting), within=HORIZON, lead=LEAD)
            booked_at = time.monotonic()
            speed = speed_of(self.clock)
            for send, delay in zip(waiting, booking.delays, strict=False):
                send.send_at = booked_at + delay
                margin = margin_of(send.policy, self.clock)
                if _closes(send) - now - timedelta(seconds=delay * speed) < margin:
                    # Its turn on the rate limit comes too late for its window: held for
                    # the next one (the instant booked for it goes unused).
                    results[send.task.id] = self._too_late(
                        conn, send, now, f" (the rate limit of {key} has no room before)"
                    )
                else:
                    granted.append(send)
            left = waiting[len(booking.delays) :]
            if left and limit is not None:
                # Come back when about half a second's sends (at least a burst) could be
                # booked, not for each instant: one claim a token would cost a transaction
                # a send while the rate limit is the bottleneck.
                room = min(
                    len(left),
                    max(limit.capacity, math.ceil(limit.per_second * CHUNK_SECONDS)),
                )
                wait = booking.wait + (room - 1) / limit.per_second
                for send in left:
                    # Nothing is written for it: it stays queued, and is tried again after
                    # ``wait`` with every check made again.
                    results[send.task.id] = Throttled(key, wait, room, limit)
        contacted = _contacted(conn, [s.account.id for s in granted])
        # The borrowers' self-service links, for the batch at once (none without a secret).
        tokens = (
            links.issue_many(
                conn,
                [(s.account.tenant_id, s.account.id) for s in granted],
                secret=self.link_secret,
                now=now,
                ttl=self.link_ttl,
            )
            if self.link_secret
            else {}
        )
        itemized = _itemizations(
            conn,
            [s.account.id for s in granted if s.task.purpose == Purpose.VALIDATION_NOTICE.value],
        )
        rows: list[dict[str, Any]] = []
        ready = []
        for send in granted:
            DECISIONS.labels("send", _channel_of(send).value, "allowed").inc()
            try:
                rendered, params = self._render(
                    tokens,
                    config,
                    send,
                    now,
                    send.account.id in contacted,
                    itemized.get(send.account.id),
                )
            except TemplateError as exc:
                results[send.task.id] = _close(
                    conn,
                    send.task,
                    TaskStatus.FAILED,
                    now,
                    f"could not render: {exc}",
                    ["template.error"],
                )
                continue
            route = _route_of(send)
            assert send.provider is not None
            rows.append(
                {
                    "ref": f"att_{secrets.token_hex(12)}",
                    "task_id": send.task.id,
                    "tenant_id": send.task.tenant_id,
                    "account_id": send.account.id,
                    "channel": route.channel.value,
                    "provider": send.provider.name,
                    "address": route.contact_point.address,
                    "at": now,
                    "status": DeliveryStatus.SENDING.value,
                    "contact_kind": ContactKind.RESERVED.value,
                    "segments": rendered.sms.segments if rendered.sms else None,
                    "subject": rendered.subject,
                    "body": rendered.body,
                    "lease_until": now + lease_of(send.policy, self.clock),
                    "updated_at": now,
                }
            )
            ready.append((send, rendered, params))
        if not rows:
            return results
        ids = {
            ref: attempt_id
            for ref, attempt_id in conn.execute(
                sa.insert(Attempt).returning(Attempt.ref, Attempt.id), rows
            )
        }
        transitions.claim(
            conn,
            [
                {
                    "id": send.task.id,
                    "channel": row["channel"],
                    "template": _route_of(send).template,
                    "fallback": send.decision.remaining,
                    "lease_until": row["lease_until"],
                }
                for (send, _, _), row in zip(ready, rows, strict=True)
            ],
            now,
        )
        for (send, rendered, params), row in zip(ready, rows, strict=True):
            results[send.task.id] = self._claim_of(
                config, send, rendered, params, row["ref"], ids[row["ref"]], now
            )
        return results

    def _claim_of(
        self,
        config: ConfigSet,
        send: _Send,
        rendered: RenderedMessage,
        params: dict[str, str],
        ref: str,
        attempt_id: int,
        now: datetime,
    ) -> Claim:
        task, account, provider = send.task, send.account, send.provider
        assert provider is not None
        route = _route_of(send)
        closes = min(send.decision.not_after or task.expires_at, task.expires_at)
        message = OutboundMessage(
            attempt_ref=ref,
            idempotency_key=f"task-{task.id}",
            channel=route.channel,
            to=route.contact_point.address,
            body=rendered.body,
            locale=rendered.locale,
            subject=rendered.subject,
            html=rendered.html,
            title=rendered.title,
            template=rendered.template,
            template_params=params,
            callback_url=_callback_url(self.public_url, provider.name, account.slug, config),
            limited_content=rendered.limited_content,
            disclosures=tuple(d.value for d in rendered.disclosures),
            tags={
                "tenant": account.slug,
                "account_ref": account.external_id,
                "task": str(task.id),
                "window_opens_at": now.isoformat(),
                "window_closes_at": closes.isoformat(),
            },
        )
        return Claim(
            task.id,
            task.tenant_id,
            account.id,
            attempt_id,
            provider,
            message,
            rendered,
            now,
            closes,
            send.policy,
            now + lease_of(send.policy, self.clock),
            send.send_at,
        )

    def _render(
        self,
        tokens: dict[int, str],
        config: ConfigSet,
        send: _Send,
        now: datetime,
        contacted: bool,
        itemization: dict[str, Any] | None = None,
    ) -> tuple[RenderedMessage, dict[str, str]]:
        """The message, and the parameters a provider of pre-approved templates sends
        instead of its words (both from one context). A letter's dates count from its
        posting day (today)."""
        route = _route_of(send)
        provider = send.provider
        assert provider is not None
        limited = route.channel is Channel.CALL and provider.limited_content_only
        disclosures = send.pack.required_disclosures(
            route.channel, initial=not contacted, limited_content=limited
        )
        account = send.account
        token = tokens.get(account.id)
        link = f"{self.self_service_base}/s/{token}" if token else None
        context = message_context(
            account,
            send.loaded.facts,
            account.profile or {},
            now=now,
            self_service_url=link,
            itemization=itemization,
            mailed=route.channel.type.kind is ChannelKind.MAIL,
        )
        rendered = config.templates_for(account.slug).render(
            LIMITED_CONTENT_TEMPLATE if limited else route.template,
            route.channel,
            account.locale,
            context,
            disclosures=disclosures,
        )
        return rendered, template_params(context)


def lease_of(policy: DispatchPolicy, clock: Any) -> timedelta:
    """A send's lease on ``clock``: ``dispatch.lease_seconds`` of real time, since what it
    must outlast is real (HTTP requests, their timeouts), however fast the clock runs."""
    return timedelta(seconds=policy.lease_seconds * speed_of(clock))


def margin_of(policy: DispatchPolicy, clock: Any) -> timedelta:
    """The window margin on ``clock``: ``dispatch.window_margin_seconds`` of real time (the
    time between the check and the provider's receipt is real)."""
    return timedelta(seconds=policy.window_margin_seconds * speed_of(clock))


def _closes(send: _Send) -> datetime:
    """When the send's window closes (or the task expires, if sooner)."""
    expires: datetime = send.task.expires_at
    return min(send.decision.not_after or expires, expires)


def _route_of(send: _Send) -> Any:
    choice = send.decision.choice
    assert choice is not None
    assert choice.route is not None
    return choice.route


def _channel_of(send: _Send) -> Channel:
    return Channel(_route_of(send).channel)


def _itemizations(conn: Connection, account_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The lender's itemization (``debt.itemization`` of the sealed account document) for
    the accounts whose validation notice goes out now; read only for those."""
    if not account_ids:
        return {}
    found: dict[int, dict[str, Any]] = {}
    for row in conn.execute(
        sa.select(Account.id, Account.document).where(
            id_in(conn, Account.id, sorted(set(account_ids)))
        )
    ):
        itemization = ((row.document or {}).get("debt") or {}).get("itemization")
        if itemization:
            found[row.id] = itemization
    return found


def _contacted(conn: Connection, account_ids: Sequence[int]) -> set[int]:
    """The accounts with a contact counted already (the first contact carries the initial
    disclosures)."""
    if not account_ids:
        return set()
    return set(
        conn.execute(
            sa.select(Attempt.account_id)
            .where(
                id_in(conn, Attempt.account_id, sorted(set(account_ids))),
                Attempt.contact_kind.in_(_COUNTED),
            )
            .distinct()
        ).scalars()
    )


def _hold(
    conn: Connection, task: Any, decision: TaskDecision, now: datetime, why: str = ""
) -> Outcome:
    """Not now: back to the store until the next allowed instant (the sweeper re-queues it
    then), never sent early."""
    choice = decision.choice
    assert choice is not None
    assert choice.route is not None
    assert decision.send_at is not None
    held = transitions.hold(
        conn,
        task.id,
        {
            "not_before": decision.send_at,
            "not_after": decision.not_after,
            "channel": choice.route.channel.value,
            "template": choice.route.template,
            "fallback": decision.remaining,
            "reasons": decision.rules,
        },
        now,
    )
    if held:
        DECISIONS.labels("send", choice.route.channel.value, "held").inc()
        for rule in decision.rules:
            DEFERRALS.labels(rule).inc()
        assert choice.decision is not None
        ledger.append(
            conn,
            [
                _entry(
                    task,
                    now,
                    "task.held",
                    f"held until {decision.send_at:%Y-%m-%dT%H:%MZ}{why}: {choice.explain()}",
                    choice.route.channel.value,
                    [r.rule_id for r in choice.decision.reasons],
                )
            ],
        )
    return Outcome.HELD


def _close(
    conn: Connection,
    task: Any,
    status: TaskStatus,
    now: datetime,
    message: str,
    rules: list[str],
) -> Outcome:
    if transitions.close(conn, task.id, status, rules, now):
        ledger.append(
            conn, [_entry(task, now, f"task.{status.value}", message, task.channel, rules)]
        )
        if status is TaskStatus.FAILED:
            outbox.message_failed(conn, task.id, message, rules, now)
    return {
        TaskStatus.BLOCKED: Outcome.BLOCKED,
        TaskStatus.EXPIRED: Outcome.EXPIRED,
        TaskStatus.FAILED: Outcome.FAILED,
    }[status]


def _callback_url(public_url: str, provider: str, tenant: str, config: ConfigSet) -> str:
    """Where the provider reports on this message: a tenant with provider accounts of its
    own has its own route, which verifies with its own credentials."""
    url = f"{public_url.rstrip('/')}/v1/webhooks/{provider}"
    return f"{url}/{tenant}" if tenant in config.tenant_channels else url


def _lockable(store: Any, query: Any, *, of: Any) -> Any:
    return query if store.is_sqlite else query.with_for_update(of=of)


def _entry(
    task: Any,
    now: datetime,
    kind: str,
    message: str,
    channel: str | None,
    rules: list[str] | None = None,
) -> dict[str, Any]:
    return ledger.entry(
        tenant_id=task.tenant_id,
        account_id=task.account_id,
        at=now,
        kind=kind,
        message=f"{task.step}: {message}",
        channel=channel,
        rules=rules or [],
        task_id=task.id,
    )
