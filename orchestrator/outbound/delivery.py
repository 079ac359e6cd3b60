"""Posting lender events to endpoints: at least once, in order per account, then dead-letter.

A pass (the scheduler's, every couple of seconds) takes the deliveries that are due and are
the *head* of their line (no earlier event of the same account still pending for the same
endpoint), leases each with a compare-and-set, posts it signed, and records the answer:
a 2xx delivers it; anything else (an error status, a redirect, a timeout, a refused
connection) schedules the next attempt after :data:`RETRY_SCHEDULE`'s delay, with jitter,
until the schedule runs out (about a day) and the delivery is dead. A dead delivery, like a
delivered one, lets the next event of its account go; the API lists and replays them.

A crash between the POST and its record leaves the lease to expire and the event is posted
again: at least once, never at most once, so receivers deduplicate by ``webhook-id``.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from channels.egress import Egress, EgressRefused, guarded_client
from orchestrator.clock import Clock
from orchestrator.logs import get_logger
from orchestrator.metrics import LENDER_EVENT_ATTEMPTS
from orchestrator.outbound.endpoints import secrets_in_force
from orchestrator.outbound.signing import headers as signed_headers
from orchestrator.store.db import Store
from orchestrator.store.tables import (
    Account,
    LenderEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

log = get_logger(__name__)

# The wait after each failed attempt: roughly exponential, ten attempts over about 24 hours
# (23 h 36 min 5 s before jitter), like Svix's and Stripe's schedules.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=8),
)
JITTER = 0.1  # each wait is stretched or shortened by up to 10 %
PENDING, DELIVERED, DEAD, CANCELLED = "pending", "delivered", "dead", "cancelled"


def retry_delay(failed_attempts: int, rng: random.Random) -> timedelta | None:
    """The wait after the ``failed_attempts``-th failure, jittered; ``None`` when the
    schedule has run out (the delivery is dead)."""
    if failed_attempts > len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[failed_attempts - 1]
    return base * (1 + rng.uniform(-JITTER, JITTER))


def body_of(event: Any) -> bytes:
    """The JSON body posted for a lender event (the same bytes on every attempt)."""
    return orjson.dumps(
        {
            "id": event.ref,
            "type": event.type,
            "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
            "account": {"external_id": event.external_id},
            "data": event.data,
        }
    )


@dataclass(frozen=True, slots=True)
class Answer:
    """What one POST got back: a status code, or the error that stopped it."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(slots=True)
class PassResult:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    refs: list[str] = field(default_factory=list)  # the deliveries attempted, in order


class Deliverer:
    """Posts due deliveries (see the module's docstring).

    Parameters:
      store: the store.
      clock: the clock every instant here is read from (signatures' timestamps too).
      client: the HTTP client; by default one whose connections go through ``egress``
        (no redirects followed, no proxies from the environment).
      egress: where endpoints may be; public addresses only unless development allows
        loopback.
      timeout: seconds a POST may take, connection included.
      lease: how long a taken delivery is ours before another pass may take it (longer than
        ``timeout``).
      batch: deliveries taken per round; a pass runs rounds until none is due.
      concurrency: POSTs in flight at once.
      rng: jitter's source (tests pass a seeded one).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        client: httpx.Client | None = None,
        egress: Egress | None = None,
        timeout: float = 15.0,
        lease: timedelta = timedelta(minutes=2),
        batch: int = 100,
        concurrency: int = 8,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.client = client or guarded_client(egress or Egress.from_environment())
        self.timeout = timeout
        self.lease = lease
        self.batch = batch
        self.concurrency = concurrency
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret

    def close(self) -> None:
        self.client.close()

    def run(self, _now: datetime | None = None, *, max_rounds: int = 50) -> PassResult:
        """One pass: rounds of due heads until none is left (or ``max_rounds``). The
        scheduler calls it with its tick's instant; the clock is read afresh each round."""
        result = PassResult()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="lender-events") as pool:
            for _ in range(max_rounds):
                taken = self._take(self.clock.now())
                if not taken:
                    break
                answers = list(pool.map(self._post, taken))
                for item, answer in zip(taken, answers, strict=True):
                    self._record(item, answer, result)
        return result

    # --- 1. take ------------------------------------------------------------------------------

    def _take(self, now: datetime) -> list[dict[str, Any]]:
        """Lease the due heads of their lines; each with what its POST needs."""
        earlier = aliased(WebhookDelivery)
        blocked = sa.exists().where(
            earlier.endpoint_id == WebhookDelivery.endpoint_id,
            earlier.account_id == WebhookDelivery.account_id,
            earlier.status == PENDING,
            earlier.event_id < WebhookDelivery.event_id,
        )
        with self.store.transaction() as conn:
            due = conn.execute(
                sa.select(WebhookDelivery.id)
                .where(
                    WebhookDelivery.status == PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                    sa.or_(
                        WebhookDelivery.lease_until.is_(None),
                        WebhookDelivery.lease_until < now,
                    ),
                    ~blocked,
                )
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(self.batch)
            ).scalars()
            lease_until = now + self.lease
            taken_ids = [
                delivery_id
                for delivery_id in list(due)
                if conn.execute(
                    sa.update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id == delivery_id,
                        WebhookDelivery.status == PENDING,
                        sa.or_(
                            WebhookDelivery.lease_until.is_(None),
                            WebhookDelivery.lease_until < now,
                        ),
                    )
                    .values(lease_until=lease_until)
                ).rowcount
            ]
            if not taken_ids:
                return []
            rows = conn.execute(
                sa.select(
                    WebhookDelivery.id,
                    WebhookDelivery.ref,
                    WebhookDelivery.attempts,
                    LenderEvent.ref.label("event_ref"),
                    LenderEvent.type,
                    LenderEvent.data,
                    LenderEvent.created_at,
                    Account.external_id,
                    WebhookEndpoint.url,
                    WebhookEndpoint.secret,
                    WebhookEndpoint.previous_secret,
                    WebhookEndpoint.previous_expires_at,
                )
                .join(LenderEvent, LenderEvent.id == WebhookDelivery.event_id)
                .join(Account, Account.id == LenderEvent.account_id)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(WebhookDelivery.id.in_(taken_ids))
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            ).all()
        return [
            {
                "id": row.id,
                "ref": row.ref,
                "attempts": row.attempts,
                "lease_until": lease_until,
                "url": row.url,
                "body": body_of(
                    _Event(row.event_ref, row.type, row.data, row.created_at, row.external_id)
                ),
                "event_ref": row.event_ref,
                "secrets": secrets_in_force(row, now),
            }
            for row in rows
        ]

    # --- 2. post ------------------------------------------------------------------------------

    def _post(self, item: dict[str, Any]) -> Answer:
        now = self.clock.now()
        request_headers = {
            "content-type": "application/json",
            "user-agent": "contact-orchestrator-webhooks/1",
            **signed_headers(item["secrets"], item["event_ref"], now, item["body"]),
        }
        started = time.perf_counter()
        try:
            response = self.client.post(
                item["url"], content=item["body"], headers=request_headers, timeout=self.timeout
            )
        except (httpx.HTTPError, httpx.InvalidURL, EgressRefused, OSError) as exc:
            return Answer(None, f"{type(exc).__name__}: {exc}"[:500], _ms(started))
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        return Answer(response.status_code, error, _ms(started))

    # --- 3. record ----------------------------------------------------------------------------

    def _record(self, item: dict[str, Any], answer: Answer, result: PassResult) -> None:
        now = self.clock.now()
        attempts = item["attempts"] + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "lease_until": None,
            "last_status_code": answer.status_code,
            "last_error": answer.error,
            "updated_at": now,
        }
        if answer.delivered:
            values.update(status=DELIVERED, delivered_at=now, next_attempt_at=None)
        else:
            delay = retry_delay(attempts, self.rng)
            if delay is None:
                values.update(status=DEAD, next_attempt_at=None)
            else:
                values.update(next_attempt_at=now + delay)
        with self.store.transaction() as conn:
            moved = conn.execute(
                sa.update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == item["id"],
                    WebhookDelivery.status == PENDING,
                    WebhookDelivery.lease_until == item["lease_until"],
                )
                .values(**values)
            ).rowcount
            conn.execute(
                sa.insert(WebhookAttempt).values(
                    delivery_id=item["id"],
                    at=now,
                    status_code=answer.status_code,
                    error=answer.error,
                    duration_ms=answer.duration_ms,
                )
            )
        result.refs.append(item["ref"])
        if not moved:
            return  # our lease ran out and another pass took it: its record stands
        if answer.delivered:
            result.delivered += 1
            LENDER_EVENT_ATTEMPTS.labels("delivered").inc()
        elif values.get("status") == DEAD:
            result.dead += 1
            LENDER_EVENT_ATTEMPTS.labels("dead").inc()
            log.warning(
                "lender event dead after every retry",
                delivery=item["ref"],
                lender_event=item["event_ref"],
                attempts=attempts,
                last=answer.error,
            )
        else:
            result.failed += 1
            LENDER_EVENT_ATTEMPTS.labels("failed").inc()
            log.info(
                "lender event not delivered; retrying later",
                delivery=item["ref"],
                attempt=attempts,
                next_attempt_at=values["next_attempt_at"].isoformat(timespec="seconds"),
                error=answer.error,
            )


@dataclass(frozen=True, slots=True)
class _Event:
    ref: str
    type: str
    data: dict[str, Any]
    created_at: datetime
    external_id: str


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
