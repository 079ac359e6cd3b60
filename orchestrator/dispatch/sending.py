"""Sending one task: claim it, check and reserve the contact atomically, render, send, record.

In order (invariants 2 and 4 of DESIGN.md):

1. **One transaction** locks the account row (every send to the account waits its turn, on
   PostgreSQL a row lock, on SQLite the database write lock), claims the task with a
   compare-and-set (``queued → sending``: a duplicate or redelivered message finds nothing to
   do), re-checks holds and every rule against the contacts made so far, picks the route and
   the provider, renders the message, and inserts the attempt that *reserves* the contact.
   When it commits, the cap counts this contact; when it does not, nothing happened.
2. **The send**, with quick in-call retries of errors that certainly left nothing behind
   (tenacity), each retry first checking that the window is still open and no event arrived.
3. **The outcome**, recorded: sent; or failed and retried later by Dramatiq (the retry
   re-checks everything, and waits for the next window when it would land in quiet hours);
   or refused for good and failed over to the next provider or fallback channel; or, when the
   provider may have acted without answering, left for the reconciler, never resent blindly.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
import tenacity
from sqlalchemy.engine import Connection

from channels.base import OutboundMessage, Receipt
from orchestrator import ledger
from orchestrator.accounts import record_provider_event
from orchestrator.compliance import RulePack
from orchestrator.dispatch.context import message_context
from orchestrator.dispatch.limits import RateLimiter
from orchestrator.dispatch.pool import Provider, ProviderPool
from orchestrator.domain import Channel, ContactKind, DeliveryStatus, EventType, Purpose, TaskStatus
from orchestrator.errors import PermanentError, TemplateError, TransientError
from orchestrator.facts import ACCOUNT_COLUMNS, load
from orchestrator.logs import get_logger, mask_text
from orchestrator.messages.library import RenderedMessage
from orchestrator.metrics import BLOCKS, DECISIONS, SENDS
from orchestrator.providers import DispatchPolicy
from orchestrator.routing import choose_route
from orchestrator.services import Services
from orchestrator.store.tables import Account, AccountEvent, Attempt, ContactPoint, Task, Tenant

log = get_logger(__name__)

LIMITED_CONTENT_TEMPLATE = "voicemail_limited"
_COUNTED = (
    ContactKind.ATTEMPT.value,
    ContactKind.CONVERSATION.value,
    ContactKind.LIMITED_CONTENT.value,
)
_RATE_LIMIT_WAIT = 5.0


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


class RetryLater(Exception):
    """Raised by the actor so Dramatiq retries the task after its backoff."""


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


class Dispatcher:
    """Sends tasks. One per worker process; thread-safe.

    Parameters:
      services: store, clock, configuration.
      pool: the providers.
      limiter: the shared per-provider rate limits.
      enqueue: puts a task id back on the send queue (failover to the next route).
      sleep: how to wait between in-call retries (tests inject a fake).
    """

    def __init__(
        self,
        services: Services,
        pool: ProviderPool,
        limiter: RateLimiter,
        enqueue: Callable[[int], None],
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.services = services
        self.store = services.store
        self.clock = services.clock
        self.pool = pool
        self.limiter = limiter
        self.enqueue = enqueue
        self.sleep = sleep

    # --- 1. claim, check and reserve -------------------------------------------------------

    def send(self, task_id: int) -> Outcome:
        """Send task ``task_id`` if it is still to be sent. Raises :class:`RetryLater` when a
        transient failure should be retried after a backoff."""
        claimed = self._claim(task_id)
        if isinstance(claimed, Outcome):
            return claimed
        return self._deliver(claimed)

    def _claim(self, task_id: int) -> Claim | Outcome:
        config = self.services.config.get()
        with self.store.snapshot() as conn:
            account_id = conn.execute(sa.select(Task.account_id).where(Task.id == task_id)).scalar()
        if account_id is None:
            return Outcome.SKIPPED
        with self.store.locking_transaction() as conn:
            # The account first, always: the API takes the account before its tasks too.
            account = conn.execute(
                _lockable(
                    self.store,
                    sa.select(*ACCOUNT_COLUMNS, Tenant.slug, Tenant.profile)
                    .join(Tenant, Tenant.id == Account.tenant_id)
                    .where(Account.id == account_id),
                    of=Account,
                )
            ).one()
            task = conn.execute(
                _lockable(self.store, sa.select(Task).where(Task.id == task_id), of=Task)
            ).one()
            if task.status != TaskStatus.QUEUED.value:
                return Outcome.SKIPPED
            now = self.clock.now()
            policy = config.channels_for(account.slug).dispatch
            if now >= task.expires_at:
                return self._close(
                    conn, task, TaskStatus.EXPIRED, now, "expired before it could be sent", []
                )
            if task.attempt_count >= policy.max_attempts:
                return self._close(
                    conn,
                    task,
                    TaskStatus.FAILED,
                    now,
                    f"gave up after {task.attempt_count} attempts",
                    ["dispatch.max_attempts"],
                )
            pack = config.pack_for(account.jurisdiction, account.slug)
            loaded = load(conn, [account], since=now - config.lookback, include_pending=False)[
                account.id
            ]
            routes = [(Channel(task.channel), task.template)] + [
                (Channel(c), t) for c, t in task.fallback
            ]
            choice = choose_route(
                loaded.facts,
                loaded.history,
                routes,
                now,
                task.expires_at,
                pack,
                purpose=Purpose(task.purpose),
            )
            if choice.route is None or choice.decision is None or choice.send_at is None:
                for reason in choice.reasons:
                    BLOCKS.labels(reason.rule_id).inc()
                DECISIONS.labels("send", task.channel, "blocked").inc()
                return self._close(
                    conn,
                    task,
                    TaskStatus.BLOCKED,
                    now,
                    f"blocked at send time: {choice.explain()}",
                    [r.rule_id for r in choice.reasons],
                )
            route = choice.route
            if choice.send_at > now:
                return self._hold(conn, task, choice, now)
            DECISIONS.labels("send", route.channel.value, "allowed").inc()
            avoid = frozenset(
                conn.execute(
                    sa.select(Attempt.provider).where(
                        Attempt.task_id == task.id, Attempt.contact_kind == ContactKind.FAILED.value
                    )
                ).scalars()
            )
            providers = self.pool.available(account.slug, route.channel, avoid=avoid)
            if not providers:
                conn.execute(sa.update(Task).where(Task.id == task.id).values(updated_at=now))
                ledger.append(
                    conn,
                    [
                        _entry(
                            task,
                            now,
                            "task.retry",
                            f"no {route.channel} provider is available (all circuits open); "
                            "retrying later",
                            route.channel.value,
                        )
                    ],
                )
                raise RetryLater(f"no {route.channel} provider available")
            provider = providers[0]
            try:
                rendered = self._render(
                    conn, account, loaded.facts, pack, route.channel, route.template, provider, now
                )
            except TemplateError as exc:
                return self._close(
                    conn,
                    task,
                    TaskStatus.FAILED,
                    now,
                    f"could not render: {exc}",
                    ["template.error"],
                )
            ref = f"att_{secrets.token_hex(12)}"
            attempt_id = conn.execute(
                sa.insert(Attempt)
                .values(
                    ref=ref,
                    task_id=task.id,
                    tenant_id=task.tenant_id,
                    account_id=account.id,
                    channel=route.channel.value,
                    provider=provider.name,
                    address=route.contact_point.address,
                    at=now,
                    status=DeliveryStatus.SENDING.value,
                    contact_kind=ContactKind.RESERVED.value,
                    segments=rendered.sms.segments if rendered.sms else None,
                    subject=rendered.subject,
                    body=rendered.body,
                    lease_until=now + timedelta(seconds=policy.lease_seconds),
                    updated_at=now,
                )
                .returning(Attempt.id)
            ).scalar_one()
            conn.execute(
                sa.update(Task)
                .where(Task.id == task.id)
                .values(
                    status=TaskStatus.SENDING.value,
                    channel=route.channel.value,
                    template=route.template,
                    fallback=[[c.value, t] for c, t in choice.remaining],
                    attempt_count=Task.attempt_count + 1,
                    lease_until=now + timedelta(seconds=policy.lease_seconds),
                    updated_at=now,
                )
            )
        closes = choice.decision.window_closes_at or task.expires_at
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
            template_params=_template_params(account, rendered),
            callback_url=f"{self.services.settings.public_url.rstrip('/')}/v1/webhooks/{provider.name}",
            limited_content=rendered.limited_content,
            tags={
                "tenant": account.slug,
                "account_ref": account.external_id,
                "task": str(task.id),
                "window_opens_at": now.isoformat(),
                "window_closes_at": min(closes, task.expires_at).isoformat(),
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
            min(closes, task.expires_at),
            policy,
        )

    def _render(
        self,
        conn: Connection,
        account: Any,
        facts: Any,
        pack: RulePack,
        channel: Channel,
        template: str,
        provider: Provider,
        now: datetime,
    ) -> RenderedMessage:
        limited = channel is Channel.CALL and provider.limited_content_only
        contacted = conn.execute(
            sa.select(
                sa.exists().where(
                    Attempt.account_id == account.id, Attempt.contact_kind.in_(_COUNTED)
                )
            )
        ).scalar()
        disclosures = pack.required_disclosures(
            channel, initial=not contacted, limited_content=limited
        )
        context = message_context(account, facts, account.profile or {}, now=now)
        return self.services.config.get().templates.render(
            LIMITED_CONTENT_TEMPLATE if limited else template,
            channel,
            account.locale,
            context,
            disclosures=disclosures,
        )

    def _hold(self, conn: Connection, task: Any, choice: Any, now: datetime) -> Outcome:
        """Not now: back to the store until the next allowed instant (the sweeper re-queues
        it then), never sent early."""
        decision = choice.decision
        not_after = min(decision.window_closes_at or task.expires_at, task.expires_at)
        changed = conn.execute(
            sa.update(Task)
            .where(Task.id == task.id, Task.status == TaskStatus.QUEUED.value)
            .values(
                status=TaskStatus.PLANNED.value,
                not_before=choice.send_at,
                not_after=not_after,
                channel=choice.route.channel.value,
                template=choice.route.template,
                fallback=[[c.value, t] for c, t in choice.remaining],
                reasons=[r.rule_id for r in (*choice.reasons, *decision.reasons)],
                updated_at=now,
            )
        ).rowcount
        if changed:
            DECISIONS.labels("send", choice.route.channel.value, "held").inc()
            ledger.append(
                conn,
                [
                    _entry(
                        task,
                        now,
                        "task.held",
                        f"held until {choice.send_at:%Y-%m-%dT%H:%MZ}: {choice.explain()}",
                        choice.route.channel.value,
                        [r.rule_id for r in decision.reasons],
                    )
                ],
            )
        return Outcome.HELD

    def _close(
        self,
        conn: Connection,
        task: Any,
        status: TaskStatus,
        now: datetime,
        message: str,
        rules: list[str],
    ) -> Outcome:
        changed = conn.execute(
            sa.update(Task)
            .where(Task.id == task.id, Task.status == TaskStatus.QUEUED.value)
            .values(status=status.value, reasons=rules, updated_at=now)
        ).rowcount
        if changed:
            ledger.append(
                conn, [_entry(task, now, f"task.{status.value}", message, task.channel, rules)]
            )
        return {
            TaskStatus.BLOCKED: Outcome.BLOCKED,
            TaskStatus.EXPIRED: Outcome.EXPIRED,
            TaskStatus.FAILED: Outcome.FAILED,
        }[status]

    # --- 2. send ------------------------------------------------------------------------------

    def _deliver(self, claim: Claim) -> Outcome:
        provider = claim.provider
        if not self.limiter.acquire(
            provider.name, provider.config.rate_limit, max_wait=_RATE_LIMIT_WAIT
        ):
            return self._retry_later(
                claim,
                TransientError(
                    provider.name, "rate_limited", "the provider's rate limit is used up"
                ),
            )
        retry = provider.config.retry
        try:
            for attempt in tenacity.Retrying(
                stop=tenacity.stop_after_attempt(retry.attempts),
                wait=_backoff(retry.base_seconds, retry.max_seconds),
                retry=tenacity.retry_if_exception(_safe_to_retry),
                before_sleep=lambda state: SENDS.labels(provider.name, "transient").inc(),
                sleep=self._sleep_unless_closed(claim),
                reraise=True,
            ):
                with attempt:
                    receipt = provider.adapter.send(claim.message)
        except TransientError as exc:
            SENDS.labels(provider.name, "transient").inc()
            if exc.maybe_delivered:
                return self._ambiguous(claim, exc)
            self.pool.breaker.failure(provider.name, provider.config.breaker)
            return self._retry_later(claim, exc)
        except PermanentError as exc:
            SENDS.labels(provider.name, "permanent").inc()
            return self._refused(claim, exc)
        except _WindowClosed as exc:
            return self._retry_later(claim, exc.error)
        SENDS.labels(provider.name, "accepted").inc()
        self.pool.breaker.success(provider.name)
        return self._sent(claim, receipt)

    def _sleep_unless_closed(self, claim: Claim) -> Callable[[float], None]:
        def sleep(seconds: float) -> None:
            if self.clock.now() + timedelta(seconds=seconds) >= claim.window_closes_at:
                raise _WindowClosed(
                    TransientError(
                        claim.provider.name,
                        "window_closing",
                        "the send window closes before a retry",
                    )
                )
            self.sleep(seconds)
            with self.store.snapshot() as conn:
                arrived = conn.execute(
                    sa.select(
                        sa.exists().where(
                            AccountEvent.account_id == claim.account_id,
                            AccountEvent.recorded_at > claim.reserved_at,
                        )
                    )
                ).scalar()
            if arrived:
                raise _WindowClosed(
                    TransientError(
                        claim.provider.name,
                        "account_changed",
                        "an account event arrived; checking again",
                    )
                )

        return sleep

    # --- 3. record ----------------------------------------------------------------------------

    def _sent(self, claim: Claim, receipt: Receipt) -> Outcome:
        now = self.clock.now()
        with self.store.transaction() as conn:
            conn.execute(
                sa.update(Attempt)
                .where(
                    Attempt.id == claim.attempt_id, Attempt.status == DeliveryStatus.SENDING.value
                )
                .values(
                    status=receipt.status.value,
                    provider_message_id=receipt.provider_message_id,
                    contact_kind=ContactKind.ATTEMPT.value,
                    lease_until=None,
                    updated_at=now,
                )
            )
            conn.execute(
                sa.update(Task)
                .where(Task.id == claim.task_id, Task.status == TaskStatus.SENDING.value)
                .values(status=TaskStatus.SENT.value, lease_until=None, updated_at=now)
            )
            message = claim.message
            extra = []
            if claim.rendered.sms:
                extra.append(
                    f"{claim.rendered.sms.segments} segment(s) {claim.rendered.sms.encoding}"
                )
            if claim.rendered.disclosures:
                extra.append(
                    "with "
                    + ", ".join(
                        d.value if hasattr(d, "value") else str(d)
                        for d in claim.rendered.disclosures
                    )
                )
            ledger.append(
                conn,
                [
                    ledger.entry(
                        tenant_id=claim.tenant_id,
                        account_id=claim.account_id,
                        at=claim.reserved_at,
                        kind="attempt.sent",
                        message=(
                            f"sent {message.channel} {claim.rendered.template} "
                            f"via {claim.provider.name} "
                            f"to {mask_text(message.to)} ({receipt.provider_message_id})"
                            + (f"; {'; '.join(extra)}" if extra else "")
                        ),
                        channel=message.channel.value,
                        task_id=claim.task_id,
                        attempt_id=claim.attempt_id,
                    )
                ],
            )
        return Outcome.SENT

    def _retry_later(self, claim: Claim, error: TransientError) -> Outcome:
        """Nothing left the building: release the reservation and let Dramatiq retry (the retry
        re-checks every rule and waits for the next window if needed)."""
        now = self.clock.now()
        with self.store.transaction() as conn:
            self._fail_attempt(conn, claim, error, now)
            conn.execute(
                sa.update(Task)
                .where(Task.id == claim.task_id, Task.status == TaskStatus.SENDING.value)
                .values(status=TaskStatus.QUEUED.value, lease_until=None, updated_at=now)
            )
            ledger.append(
                conn,
                [
                    self._attempt_entry(
                        claim,
                        now,
                        "attempt.failed",
                        f"{claim.provider.name} failed: {error.code} ({error.message[:120]}); "
                        "retrying later",
                    )
                ],
            )
        raise RetryLater(str(error))

    def _refused(self, claim: Claim, error: PermanentError) -> Outcome:
        """Refused for good: mark what the refusal means, then fail over — to the next
        provider when the provider is the problem, to the next route when the address is."""
        now = self.clock.now()
        message = claim.message
        with self.store.transaction() as conn:
            self._fail_attempt(conn, claim, error, now)
            notes = [f"{claim.provider.name} refused: {error.code} ({error.message[:120]})"]
            if error.invalid_address:
                conn.execute(
                    sa.update(ContactPoint)
                    .where(
                        ContactPoint.account_id == claim.account_id,
                        ContactPoint.channel == message.channel.value,
                        ContactPoint.address == message.to,
                    )
                    .values(invalid_at=now, invalid_reason=f"{claim.provider.name} {error.code}")
                )
                notes.append(f"{mask_text(message.to)} marked invalid")
            if error.opted_out:
                record_provider_event(
                    conn,
                    claim.account_id,
                    EventType.OPT_OUT,
                    message.channel,
                    now,
                    source="provider",
                )
                notes.append(f"opt-out on {message.channel} recorded")
            if not (error.invalid_address or error.opted_out):
                # The provider itself refuses (credentials, sender, configuration).
                self.pool.breaker.failure(claim.provider.name, claim.provider.config.breaker)
            conn.execute(
                sa.update(Task)
                .where(Task.id == claim.task_id, Task.status == TaskStatus.SENDING.value)
                .values(status=TaskStatus.QUEUED.value, lease_until=None, updated_at=now)
            )
            notes.append("trying the next provider or channel")
            ledger.append(
                conn, [self._attempt_entry(claim, now, "attempt.refused", "; ".join(notes))]
            )
        self.enqueue(claim.task_id)
        return Outcome.FAILED_OVER

    def _ambiguous(self, claim: Claim, error: TransientError) -> Outcome:
        now = self.clock.now()
        with self.store.transaction() as conn:
            conn.execute(
                sa.update(Attempt)
                .where(Attempt.id == claim.attempt_id)
                .values(error_code=error.code, error_message=error.message[:500], updated_at=now)
            )
            ledger.append(
                conn,
                [
                    self._attempt_entry(
                        claim,
                        now,
                        "attempt.unconfirmed",
                        f"no answer from {claim.provider.name} ({error.code}); it may have been "
                        "sent, so it is reconciled, never resent blindly",
                    )
                ],
            )
        return Outcome.AMBIGUOUS

    def _fail_attempt(
        self, conn: Connection, claim: Claim, error: Exception, now: datetime
    ) -> None:
        code = getattr(error, "code", type(error).__name__)
        conn.execute(
            sa.update(Attempt)
            .where(Attempt.id == claim.attempt_id, Attempt.status == DeliveryStatus.SENDING.value)
            .values(
                status=DeliveryStatus.FAILED.value,
                contact_kind=ContactKind.FAILED.value,  # never reached anyone: not a contact
                error_code=str(code)[:64],
                error_message=str(getattr(error, "message", error))[:500],
                lease_until=None,
                updated_at=now,
            )
        )

    def _attempt_entry(
        self, claim: Claim, now: datetime, kind: str, message: str
    ) -> dict[str, Any]:
        return ledger.entry(
            tenant_id=claim.tenant_id,
            account_id=claim.account_id,
            at=now,
            kind=kind,
            message=message,
            channel=claim.message.channel.value,
            task_id=claim.task_id,
            attempt_id=claim.attempt_id,
        )


class _WindowClosed(Exception):
    def __init__(self, error: TransientError) -> None:
        self.error = error


def _safe_to_retry(error: BaseException) -> bool:
    return isinstance(error, TransientError) and not error.maybe_delivered


def _backoff(base: float, cap: float) -> Callable[[tenacity.RetryCallState], float]:
    jitter = tenacity.wait_exponential_jitter(initial=base, max=cap)

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = getattr(error, "retry_after", None)
        return min(cap, max(jitter(state), asked or 0.0))

    return wait


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


def _template_params(account: Any, rendered: RenderedMessage) -> dict[str, str]:
    """Variables for providers that send pre-approved templates (Aliyun)."""
    return {
        "name": account.borrower_name,
        "amount": f"{account.amount_due:.2f}",
        "currency": account.currency,
        "due_date": account.due_date.isoformat(),
        "reference": account.external_id,
    }
