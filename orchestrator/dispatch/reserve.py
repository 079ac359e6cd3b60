"""Step 1 of a send: claim the task, check every rule and reserve the contact — atomically.

One transaction locks the account row (every send to the account waits its turn: on
PostgreSQL a row lock, on SQLite the database write lock), claims the task with a
compare-and-set (``queued → sending``: a duplicate or redelivered message finds nothing to
do), re-checks holds and every rule against the contacts made so far, picks the route and
the provider, renders the message, and inserts the attempt that *reserves* the contact. When
it commits, the caps count this contact; when it does not, nothing happened.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import dramatiq
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channels.base import OutboundMessage
from orchestrator import ledger, links
from orchestrator.compliance import RulePack
from orchestrator.configuration.channel_config import DispatchPolicy
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
from orchestrator.metrics import BLOCKS, DECISIONS
from orchestrator.planning.facts import ACCOUNT_COLUMNS, load
from orchestrator.planning.routing import choose_route
from orchestrator.store.tables import Account, Attempt, Task, Tenant

LIMITED_CONTENT_TEMPLATE = "voicemail_limited"
ABANDONED = "abandoned"  # error code of a send released by the reconciler
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
    """The chosen provider's rate limit is used up: nothing was written; try again after
    ``wait`` seconds (our own throttling is not a provider failure and costs no attempt)."""

    provider: str
    wait: float


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
      retry_after: seconds the provider asked us to wait, if it said.
    """

    def __init__(
        self,
        reason: str,
        *,
        provider: str | None = None,
        throttled: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.provider = provider
        self.throttled = throttled
        self.retry_after = retry_after


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


class Reserver:
    """Claims and reserves tasks.

    Parameters:
      services: the store, the clock, the configuration and the public URL.
      pool: the providers.
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
        """The claim to send, or the outcome when there is nothing to send now.

        A failure that is not one of dispatch's own outcomes (a tenant's broken config or
        data) is logged and alerted with the tenant before it propagates: the message is
        retried on its own, and no other tenant's task waits on it."""
        try:
            return self._claim(task_id)
        except RetryLater:
            raise
        except Exception as exc:
            tenant_failed("dispatch", self._tenant_of(task_id), exc)
            raise

    def _tenant_of(self, task_id: int) -> str:
        with self.store.snapshot() as conn:
            slug = conn.execute(
                sa.select(Tenant.slug)
                .join(Task, Task.tenant_id == Tenant.id)
                .where(Task.id == task_id)
            ).scalar()
        return str(slug or "unknown")

    def _claim(self, task_id: int) -> Claim | Outcome | Throttled:
        # One read of the configuration for the whole claim: a reload meanwhile must not pair
        # one version's rule pack and providers with another's templates.
        config = self.config.get()
        with self.store.locking_transaction() as conn:
            # Which account (a task never changes account), read without a lock: the account
            # is locked first, always, as the API takes the account before its tasks too.
            account_id = conn.execute(sa.select(Task.account_id).where(Task.id == task_id)).scalar()
            if account_id is None:
                return Outcome.SKIPPED
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
            if account.slug in config.suspended:
                # Its configuration is refused: nothing is sent for it until it is fixed; the
                # task stays queued (the sweep re-queues it) or expires.
                tenant_failed("dispatch", account.slug, config.suspended[account.slug])
                raise RetryLater(f"tenant {account.slug} is suspended")
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
            loaded = load(
                conn,
                [account],
                since=now - config.lookback_for(account.slug),
                include_pending=False,
            )[account.id]
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
            # Providers that failed this task go last; a send we abandoned ourselves (a crash,
            # reconciled) says nothing against the provider. Every attempt is counted on its
            # task in the transaction that inserts it: a task never tried has none to read.
            avoid = frozenset(
                conn.execute(
                    sa.select(Attempt.provider).where(
                        Attempt.task_id == task.id,
                        Attempt.contact_kind == ContactKind.FAILED.value,
                        Attempt.error_code != ABANDONED,
                    )
                ).scalars()
                if task.attempt_count
                else ()
            )
            provider = self.pool.first_available(
                account.slug, route.channel, avoid=avoid, config=config
            )
            if provider is None:
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
                raise RetryLater(f"no {route.channel} provider available (all circuits open)")
            wait = self.limiter.take(provider.limits_key, provider.config.rate_limit)
            if wait > 0:
                return Throttled(provider.limits_key, wait)
            try:
                rendered, params = self._render(
                    conn,
                    config,
                    account,
                    loaded.facts,
                    pack,
                    route.channel,
                    route.template,
                    provider,
                    now,
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
            template_params=params,
            callback_url=_callback_url(self.public_url, provider.name, account.slug, config),
            limited_content=rendered.limited_content,
            disclosures=tuple(d.value for d in rendered.disclosures),
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
        config: ConfigSet,
        account: Any,
        facts: Any,
        pack: RulePack,
        channel: Channel,
        template: str,
        provider: Provider,
        now: datetime,
    ) -> tuple[RenderedMessage, dict[str, str]]:
        """The message, and the parameters a provider of pre-approved templates sends
        instead of its words (both from one context)."""
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
        link = None
        if self.link_secret:
            token = links.issue(
                conn,
                tenant_id=account.tenant_id,
                account_id=account.id,
                secret=self.link_secret,
                now=now,
                ttl=self.link_ttl,
            )
            link = f"{self.self_service_base}/s/{token}"
        context = message_context(
            account, facts, account.profile or {}, now=now, self_service_url=link
        )
        rendered = config.templates.render(
            LIMITED_CONTENT_TEMPLATE if limited else template,
            channel,
            account.locale,
            context,
            disclosures=disclosures,
        )
        return rendered, template_params(context)

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
