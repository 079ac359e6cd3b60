"""Sending tasks, a batch at a time: reserve them, send them, record what happened.

1. **Reserve** (:mod:`orchestrator.dispatch.reserve`): claim, check every rule and reserve the
   contacts of the whole batch in one transaction.
2. **Send** the batch's messages concurrently over the shared HTTP connection pool, each with
   quick in-call retries of errors that certainly left nothing behind
   (tenacity), each retry first checking that the window is still open and no event arrived.
   Each request waits for its own instant on the provider's rate limit just before it goes
   out (:meth:`Dispatcher._pace`): one that cannot go out on time books another rather than
   go late, and at the moment of sending it goes only if the rate limit's log of requests
   let go has room in the last second, so requests never bunch up after a stall; a send
   whose turn would not come in time (its window, its lease, :data:`PACE_WAIT`) is
   withdrawn and deferred, not sent.
3. **Record** the outcome: sent; or failed and retried later by Dramatiq (the retry re-checks
   everything, and waits for the next window when it would land in quiet hours); or refused
   for good and failed over to the next provider or fallback channel; or, when the provider
   may have acted without answering, left for the reconciler, never resent blindly.
"""

from __future__ import annotations

import contextvars
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import tenacity
from opentelemetry import trace
from sqlalchemy.engine import Connection

from channels import transport
from channels.base import Receipt
from orchestrator import ledger, outbox, tracing
from orchestrator.clock import speed_of
from orchestrator.dispatch.limits import RateLimiter
from orchestrator.dispatch.needs import DispatchNeeds
from orchestrator.dispatch.pool import ProviderPool
from orchestrator.dispatch.reserve import (
    CHUNK_SECONDS,
    HORIZON,
    Claim,
    Outcome,
    Reserver,
    RetryLater,
    Throttled,
)
from orchestrator.domain import ContactKind, DeliveryStatus, EventType
from orchestrator.errors import ConfigError, PermanentError, ProviderError, TransientError
from orchestrator.intake.accounts import record_provider_event
from orchestrator.logs import get_logger, mask_text
from orchestrator.metrics import DEFERRALS, PROVIDER_LATENCY, SENDS
from orchestrator.store.db import id_in
from orchestrator.store.tables import AccountEvent, Attempt, ContactPoint
from orchestrator.store.types import address_lookup
from orchestrator.tasks import transitions

log = get_logger(__name__)

_RATE_LIMIT_WAIT = 5.0
LEASE_MARGIN = 1.0
"""Real seconds between the end of a send's last possible try and the end of its lease: the
provider's own time to act on a request we stopped waiting for, before the reconciler may
ask it about the message."""
PACE_WAIT = 5.0
"""The longest a reserved send waits for a new turn on its rate limit (when it could not go
out at the instant its reservation booked) before it is withdrawn and deferred."""
LATE_SLACK = 0.1
"""How late (real seconds) a request may go out after its instant before it books another
instead: at least this, else half an interval. It smooths (a late request does not go out
with the ones due now); the bound of ``per_second + burst`` in any second is the log's
(:meth:`RateLimiter.admit <orchestrator.dispatch.limits.RateLimiter.admit>`). On a loaded
machine a thread often wakes tens of milliseconds late, and a stricter slack wastes
instants (each miss books anew)."""

__all__ = ["Dispatcher", "Outcome", "RetryLater"]


class Dispatcher:
    """Sends tasks. One per worker process; thread-safe.

    Parameters:
      services: the store, the clock, the configuration and the public URL.
      pool: the providers.
      limiter: the shared per-provider rate limits.
      enqueue: puts a task id back on the send queue (failover to the next route).
      sleep: how to wait between in-call retries (tests inject a fake).
      concurrency: a batch's sends in flight at once, over the shared HTTP connection pool
        (per process, for all of its worker threads).
    """

    def __init__(
        self,
        services: DispatchNeeds,
        pool: ProviderPool,
        limiter: RateLimiter,
        enqueue: Callable[[int], None],
        *,
        sleep: Callable[[float], None] = time.sleep,
        concurrency: int = 32,
    ) -> None:
        self.store = services.store
        self.clock = services.clock
        self.pool = pool
        self.limiter = limiter
        self.enqueue = enqueue
        self.sleep = sleep
        self.reserver = Reserver(services, pool, limiter)
        self.pause = time.sleep  # the pacing waits are real, whatever ``sleep`` is
        self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="dispatch-send")
        # Tracing only (empty otherwise): the trace each task was planned in, found before
        # its send, and the trace its send ran in, until its ledger entries are written.
        self._traces_lock = threading.Lock()
        self._planned_in: dict[int, str] = {}
        self._sent_in: dict[int, str] = {}

    def close(self) -> None:
        """Let the sends in flight finish, then stop the sending threads."""
        self._executor.shutdown(wait=True)

    def send(self, task_id: int) -> Outcome:
        """Send task ``task_id`` if it is still to be sent. Raises :class:`RetryLater` when a
        transient failure should be retried after a backoff."""
        waited = 0.0
        while True:
            claimed = self.reserver.reserve(task_id)
            if not isinstance(claimed, Throttled):
                break
            # Our own rate limit: wait outside any transaction until it has room, then
            # check everything again.
            waited += self._await_room([claimed], _RATE_LIMIT_WAIT - waited)
            if waited >= _RATE_LIMIT_WAIT:
                raise RetryLater(
                    "our rate limit for it is used up",
                    provider=claimed.provider,
                    deferred=True,
                    retry_after=claimed.wait,
                )
        if isinstance(claimed, Outcome):
            return claimed
        self._find_traces([claimed])
        result = self._record([self._transmit(claimed)])[task_id]
        if isinstance(result, Exception):
            raise result
        return result

    def send_batch(self, task_ids: Sequence[int]) -> dict[int, Outcome | Exception]:
        """Send the tasks still to be sent, reserved together, sent concurrently and
        recorded together. Each task's outcome; a :class:`RetryLater` for those to be tried
        again after a backoff (our rate limit used up for longer than a brief wait, a
        provider's transient failure), another exception for a task that failed on its own.
        """
        results: dict[int, Outcome | Exception] = {}
        sending: list[tuple[Claim, Future[_Sent]]] = []
        pending = list(dict.fromkeys(task_ids))
        later: list[int] = []  # throttled, and not asked again until the bucket has room
        waited = 0.0
        while pending:
            throttled: list[tuple[int, Throttled]] = []
            reserved_now = self.reserver.reserve_batch(pending)
            self._find_traces([r for r in reserved_now.values() if isinstance(r, Claim)])
            for task_id, reserved in reserved_now.items():
                if isinstance(reserved, Claim):
                    sending.append(
                        (
                            reserved,
                            self._executor.submit(
                                contextvars.copy_context().run, self._transmit, reserved
                            ),
                        )
                    )
                elif isinstance(reserved, Throttled):
                    throttled.append((task_id, reserved))
                else:
                    results[task_id] = reserved
            if not throttled and not later:
                break
            # Our own rate limit: the granted sends are on their way; wait outside any
            # transaction until the rate limit has room for a chunk of the rest, then check
            # everything again for as many as it has room for (the others wait unclaimed).
            waited += self._await_room([t for _, t in throttled], _RATE_LIMIT_WAIT - waited)
            if waited >= _RATE_LIMIT_WAIT:
                wait = min((t.wait for _, t in throttled), default=0.0)
                for task_id, t in throttled:
                    results[task_id] = RetryLater(
                        "our rate limit for it is used up",
                        provider=t.provider,
                        deferred=True,
                        retry_after=t.wait,
                    )
                for task_id in later:
                    results[task_id] = RetryLater(
                        "our rate limit is used up", deferred=True, retry_after=wait
                    )
                break
            room = max((t.room for _, t in throttled), default=len(later))
            waiting = [task_id for task_id, _ in throttled] + later
            pending, later = waiting[:room], waiting[room:]
        if sending:
            results.update(self._record([future.result() for _, future in sending]))
        return results

    def _await_room(self, throttled: Sequence[Throttled], most: float) -> float:
        """Wait (at most ``most`` seconds) until the rate limit that throttled these has
        room for a chunk of them within the booking horizon, asking it (a cheap look, no
        transaction) rather than claiming again to find out; the seconds waited."""
        if not throttled:
            return 0.0
        first = min(throttled, key=lambda t: t.wait)
        waited = 0.0
        wait = first.wait
        while True:
            # Jitter over a quarter of a chunk's time: the threads throttled together come
            # back one after another, and the first to find room books it (the others
            # then see none) instead of all claiming their tasks only to find none.
            spread = random.uniform(0, CHUNK_SECONDS / 2)  # noqa: S311 - not security
            wait = min(max(wait, 0.0) + spread, most - waited)
            if wait > 0:
                self.pause(wait)
                waited += wait
            if waited >= most:
                return waited
            look = self.limiter.book(
                first.provider, first.limit, first.room, within=HORIZON, dry=True
            )
            if len(look.delays) >= first.room:
                return waited
            wait = look.wait

    # --- 2. send ------------------------------------------------------------------------------

    def _find_traces(self, claims: Sequence[Claim]) -> None:
        """When tracing, the trace each claimed task was planned in (from its ledger
        entries): its send joins that trace, whatever process enqueued the message."""
        if not claims or not trace.get_current_span().is_recording():
            return
        with self.store.snapshot() as conn:
            found = ledger.task_trace_ids(conn, [(c.account_id, c.task_id) for c in claims])
        with self._traces_lock:
            self._planned_in.update(found)

    def _transmit(self, claim: Claim) -> _Sent:
        """The provider's answer to ``claim``'s message, in a ``dispatch.task`` span of the
        trace the task was planned in (linked to the message's span)."""
        message_span = trace.get_current_span()
        if not message_span.is_recording():
            return self._transmit_once(claim)
        with self._traces_lock:
            planned_in = self._planned_in.pop(claim.task_id, None)
        parent = None
        if planned_in is not None:
            parent = trace.set_span_in_context(trace.NonRecordingSpan(_remote(planned_in)))
        with tracing.tracer().start_as_current_span(
            "dispatch.task",
            context=parent,
            links=[trace.Link(message_span.get_span_context())],
            attributes={"orchestrator.task_id": claim.task_id},
        ) as span:
            with self._traces_lock:
                self._sent_in[claim.task_id] = format(span.get_span_context().trace_id, "032x")
            return self._transmit_once(claim)

    def _trace_of(self, claim: Claim) -> str | None:
        """The trace id the task's ledger entries carry: its send's (its planning's)."""
        with self._traces_lock:
            found = self._sent_in.get(claim.task_id)
        return found or tracing.current_trace_id()

    def _transmit_once(self, claim: Claim) -> _Sent:
        """The provider's answer to ``claim``'s message (a receipt, or the error it ended
        with after the quick retries)."""
        provider = claim.provider
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
                    self._pace(claim, first=attempt.retry_state.attempt_number == 1)
                    self._lease_left(claim)
                    self._window_left(claim)
                    with transport.deadline(lambda: self._seconds_left(claim)):
                        receipt = _call_in_time(provider, claim)
        except Exception as exc:  # noqa: BLE001 - each kind is recorded by _record
            return _Sent(claim, None, exc)
        return _Sent(claim, receipt, None)

    def _record(self, answers: Sequence[_Sent]) -> dict[int, Outcome | Exception]:
        """Record what each send came to: the accepted ones together in one transaction,
        the rest (rare) one by one."""
        results: dict[int, Outcome | Exception] = {}
        accepted = []
        deferred: list[tuple[Claim, _Deferred]] = []
        for answer in answers:
            claim, provider = answer.claim, answer.claim.provider
            error = answer.error
            if answer.receipt is not None:
                SENDS.labels(provider.name, "accepted").inc()
                accepted.append((claim, answer.receipt))
            elif isinstance(error, TransientError):
                SENDS.labels(provider.name, "transient").inc()
                if error.maybe_delivered:
                    results[claim.task_id] = self._ambiguous(claim, error)
                else:
                    self.pool.breaker.failure(provider.limits_key, provider.config.breaker)
                    results[claim.task_id] = self._retry_later(claim, error)
            elif isinstance(error, PermanentError):
                SENDS.labels(provider.name, "permanent").inc()
                results[claim.task_id] = self._refused(claim, error)
            elif isinstance(error, _WindowClosed):
                results[claim.task_id] = self._retry_later(claim, error.error)
            elif isinstance(error, _Deferred):
                deferred.append((claim, error))
            elif isinstance(error, ConfigError):
                # Ours, and raised before a byte went out (a credential, a letter's font):
                # this worker cannot make the message, so it fails over as a refusal would,
                # with the problem named, instead of waiting for a reconciler that would
                # hear "no record" and hand it back to fail the same way for ever.
                SENDS.labels(provider.name, "permanent").inc()
                refusal = PermanentError(provider.name, "config_error", _problems(error))
                results[claim.task_id] = self._refused(claim, refusal)
            else:
                # Not a provider's answer (a fault of ours): the attempt stays ``sending``
                # and the reconciler resolves it; never resent blindly.
                assert error is not None
                results[claim.task_id] = error
        # One success closes a provider's circuit: said once per provider for the batch.
        for key in {claim.provider.limits_key for claim, _ in accepted}:
            self.pool.breaker.success(key)
        if accepted:
            results.update(self._sent_all(accepted))
        if deferred:
            results.update(self._withdraw(deferred))
        with self._traces_lock:
            for answer in answers:
                self._sent_in.pop(answer.claim.task_id, None)
        return results

    def _lease_left(self, claim: Claim) -> None:
        """Raise :class:`_WindowClosed` unless a try started now is over (answered or given
        up, with a second to spare) before the lease ends. A claim can wait for a sending
        thread, or for retries, past its lease; by then the reconciler may have asked the
        provider, heard it has no such message, and released the task to be sent again:
        handing this one over too would send it twice."""
        provider = claim.provider
        timeout = float(provider.config.settings.get("timeout_seconds", 10.0))
        if self._seconds_left(claim) <= timeout:
            raise _WindowClosed(
                TransientError(
                    provider.name,
                    "lease_ending",
                    "the send's lease ends before a try could be over; reserving it again",
                )
            )

    def _seconds_left(self, claim: Claim) -> float:
        """Real seconds until a try of ``claim`` must be over: its lease less
        :data:`LEASE_MARGIN`. The adapter's requests are bounded by it too
        (:func:`channels.transport.deadline`): checked again when the request is written to
        the wire, and every phase of it (the wait for a pooled connection included) ends by
        then, since a try's timeout bounds each phase, not the whole."""
        lease = (claim.lease_until - self.clock.now()).total_seconds() / speed_of(self.clock)
        return lease - LEASE_MARGIN

    def _window_left(self, claim: Claim) -> None:
        """Raise :class:`_WindowClosed` when the window closes within the margin
        (``dispatch.window_margin_seconds``) of now, before any try, the first included. The
        window was checked when the claim was reserved, but a claim can then wait for a
        sending thread behind a batch's slow requests: the chaos run at load 30 saw claims
        reserved 26 virtual minutes before 21:00 reach the provider at 21:00:03."""
        margin = claim.policy.window_margin_seconds * speed_of(self.clock)
        if self.clock.now() + timedelta(seconds=margin) >= claim.window_closes_at:
            raise _WindowClosed(
                TransientError(
                    claim.provider.name,
                    "window_closing",
                    "the send window closes before the send could start",
                )
            )

    def _pace(self, claim: Claim, *, first: bool) -> None:
        """Wait for this request's turn on its provider's rate limit, immediately before it
        goes out: the instant its reservation booked (first try), or a new one; then let it
        go only if the rate limit's log of requests let go has room (:meth:`RateLimiter.admit
        <orchestrator.dispatch.limits.RateLimiter.admit>`).

        The turn smooths: a request goes out only within a slack of its instant (half an
        interval, at least :data:`LATE_SLACK`); one that could not (its thread was starved of
        CPU, the reservation took long) books a new instant instead of going late. The log
        bounds: at the moment of sending, a request goes only if fewer than
        ``per_second + burst`` went in the last second; one that finds no room waits until
        there is. So over any second at most ``per_second + burst`` of our requests leave
        for the provider, however the sends of many batches and processes interleave and
        however late their threads wake.

        Raises :class:`_Deferred` (first try: nothing has reached the provider; the
        reservation is withdrawn) or :class:`_WindowClosed` (a retry) when no turn comes
        before the window closes (less ``dispatch.window_margin_seconds``), the lease
        would end, or within :data:`PACE_WAIT`; and when an account event arrived while it
        waited (it is checked again from the start)."""
        provider = claim.provider
        limit = provider.config.rate_limit
        if limit is None:
            return
        slack = max(min(0.5 / limit.per_second, 0.25), LATE_SLACK)
        started = time.monotonic()
        turn: float | None = claim.send_at if first else None
        while True:
            if turn is not None:
                if turn > time.monotonic():
                    self.pause(turn - time.monotonic())
                if time.monotonic() - turn <= slack:
                    break
                # Too late for its instant: going now could bunch up with the sends due
                # now; its instant goes unused, and it books another.
            within = min(PACE_WAIT - (time.monotonic() - started), self._room_left(claim))
            delay = self.limiter.book_one(provider.limits_key, limit, within=within)
            if delay is None:
                self._no_turn(claim, first, within, started)
            turn = time.monotonic() + (delay or 0.0)
        # Its turn: it goes if the last second has room for it. When it has not (requests
        # woken late went out together), it waits for room rather than take a new instant:
        # its own is spent either way, and a new one would leave another unused.
        token = f"{claim.attempt_id}:{secrets.token_hex(6)}"
        while True:
            if time.monotonic() - started > 0.001 and self._account_changed(claim):
                self._not_now(claim, first, "account_changed", "an account event arrived")
            wait = self.limiter.admit(provider.limits_key, limit, token)
            if not wait:
                return
            within = min(PACE_WAIT - (time.monotonic() - started), self._room_left(claim))
            if wait > within:
                self._no_turn(claim, first, within, started)
            self.pause(wait)

    def _no_turn(self, claim: Claim, first: bool, within: float, started: float) -> None:
        """Raise as :meth:`_not_now` does: no turn on the rate limit ``within`` the time the
        request may still wait."""
        closes = within < PACE_WAIT - (time.monotonic() - started)
        reason = (
            "its window (less dispatch.window_margin_seconds) or lease ends before "
            "its turn on the rate limit"
            if closes
            else f"no turn on the rate limit within {PACE_WAIT:g}s"
        )
        self._not_now(claim, first, "rate_limited", reason)

    def _room_left(self, claim: Claim) -> float:
        """Real seconds a request of ``claim`` may still wait before it goes out: its window
        less the margin, and its lease less a try's timeout and a second."""
        speed = speed_of(self.clock)
        now = self.clock.now()
        timeout = float(claim.provider.config.settings.get("timeout_seconds", 10.0))
        window = (claim.window_closes_at - now).total_seconds() / speed
        lease = (claim.lease_until - now).total_seconds() / speed
        return min(window - claim.policy.window_margin_seconds, lease - timeout - LEASE_MARGIN)

    def _not_now(self, claim: Claim, first: bool, code: str, reason: str) -> None:
        if first:
            raise _Deferred(reason)
        raise _WindowClosed(TransientError(claim.provider.name, code, reason))

    def _account_changed(self, claim: Claim) -> bool:
        """Whether an event arrived for the account since the send was reserved."""
        with self.store.snapshot() as conn:
            return bool(
                conn.execute(
                    sa.select(
                        sa.exists().where(
                            AccountEvent.account_id == claim.account_id,
                            AccountEvent.recorded_at > claim.reserved_at,
                        )
                    )
                ).scalar()
            )

    def _sleep_unless_closed(self, claim: Claim) -> Callable[[float], None]:
        def sleep(seconds: float) -> None:
            # ``seconds`` are real; the window's close is on the clock, which may run fast.
            margin = seconds + claim.policy.window_margin_seconds
            if (
                self.clock.now() + timedelta(seconds=margin * speed_of(self.clock))
                >= claim.window_closes_at
            ):
                raise _WindowClosed(
                    TransientError(
                        claim.provider.name,
                        "window_closing",
                        "the send window closes before a retry",
                    )
                )
            self.sleep(seconds)
            if self._account_changed(claim):
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
        """One accepted send recorded (see :meth:`_sent_all`)."""
        return self._sent_all([(claim, receipt)])[claim.task_id]

    def _sent_all(self, accepted: Sequence[tuple[Claim, Receipt]]) -> dict[int, Outcome]:
        """Accepted by their providers: attempts, tasks and ledger entries, each in one
        statement for the batch (the attempts one per receipt status, nearly always one)."""
        now = self.clock.now()
        with self.store.transaction() as conn:
            moved: set[int] = set()
            by_status: dict[str, list[tuple[Claim, Receipt]]] = {}
            for claim, receipt in accepted:
                by_status.setdefault(receipt.status.value, []).append((claim, receipt))
            for status, group in by_status.items():
                message_ids = {c.attempt_id: r.provider_message_id for c, r in group}
                moved.update(
                    conn.execute(
                        sa.update(Attempt)
                        .where(
                            id_in(conn, Attempt.id, list(message_ids)),
                            Attempt.status == DeliveryStatus.SENDING.value,
                        )
                        .values(
                            status=status,
                            provider_message_id=sa.case(message_ids, value=Attempt.id),
                            contact_kind=ContactKind.ATTEMPT.value,
                            lease_until=None,
                            updated_at=now,
                        )
                        .returning(Attempt.id)
                    ).scalars()
                )
            recorded = [
                (claim, receipt)
                for claim, receipt in accepted
                if claim.attempt_id in moved
                # A fast report (or the reconciler) may have got there first and recorded it.
                or not ledger.sent_recorded(conn, claim.account_id, claim.attempt_id)
            ]
            transitions.mark_sent(conn, [claim.task_id for claim, _ in recorded], now)
            ledger.append(
                conn,
                [
                    {**_sent_entry(claim, receipt), "trace_id": self._trace_of(claim)}
                    for claim, receipt in recorded
                ],
            )
            outbox.attempts_sent(conn, [(c.task_id, c.attempt_id) for c, _ in recorded], now)
        return {claim.task_id: Outcome.SENT for claim, _ in accepted}

    def _withdraw(self, deferred: Sequence[tuple[Claim, _Deferred]]) -> dict[int, RetryLater]:
        """Reservations whose request never went out (no turn on the rate limit in time, or
        an event arrived while it waited): nothing reached the provider, so the attempt is
        withdrawn (not counted, no provider blamed) and the task goes back to ``queued``,
        its deferral in the ledger; it is reserved again with every check made again (held
        for its next window if this one is closing)."""
        now = self.clock.now()
        results: dict[int, RetryLater] = {}
        with self.store.transaction() as conn:
            withdrawn = set(
                conn.execute(
                    sa.delete(Attempt)
                    .where(
                        id_in(conn, Attempt.id, [claim.attempt_id for claim, _ in deferred]),
                        Attempt.status == DeliveryStatus.SENDING.value,
                    )
                    .returning(Attempt.id)
                ).scalars()
            )
            entries = []
            for claim, why in deferred:
                if claim.attempt_id not in withdrawn or not transitions.withdraw(
                    conn, claim.task_id, now
                ):
                    # The reconciler resolved it meanwhile: no longer this send's.
                    results[claim.task_id] = RetryLater(
                        "rate limited: resolved meanwhile", provider=claim.provider.name
                    )
                    continue
                DEFERRALS.labels("dispatch.rate_limit").inc()
                entries.append(
                    {
                        **ledger.entry(
                            tenant_id=claim.tenant_id,
                            account_id=claim.account_id,
                            at=now,
                            kind="task.deferred",
                            message=f"not sent via {claim.provider.name}: {why.reason}; "
                            "nothing was sent, checking again",
                            channel=claim.message.channel.value,
                            rules=["dispatch.rate_limit"],
                            task_id=claim.task_id,
                        ),
                        "trace_id": self._trace_of(claim),
                    }
                )
                results[claim.task_id] = RetryLater(
                    f"deferred: {why.reason}",
                    provider=claim.provider.name,
                    deferred=True,
                    retry_after=CHUNK_SECONDS,
                )
            ledger.append(conn, entries)
        return results

    def _retry_later(self, claim: Claim, error: TransientError) -> RetryLater:
        """Nothing left the building: release the reservation and let Dramatiq retry (the retry
        re-checks every rule and waits for the next window if needed)."""
        now = self.clock.now()
        with self.store.transaction() as conn:
            if not self._fail_attempt(conn, claim, error, now):
                # The reconciler resolved it meanwhile (and may have released the task to
                # another worker): the task is no longer this send's to release.
                return RetryLater(f"{error.code}: resolved meanwhile", provider=claim.provider.name)
            transitions.release(conn, claim.task_id, now)
            ledger.append(
                conn,
                [
                    self._attempt_entry(
                        claim,
                        now,
                        "attempt.failed",
                        f"{claim.provider.name} failed: {described(error)}; retrying later",
                    )
                ],
            )
        return RetryLater(
            f"{error.code}: {error.message[:120]}",
            provider=claim.provider.name,
            throttled=error.retry_after is not None or error.code == "429",
            retry_after=error.retry_after,
        )

    def _refused(self, claim: Claim, error: PermanentError) -> Outcome:
        """Refused for good: mark what the refusal means, then fail over — to the next
        provider when the provider is the problem, to the next route when the address is."""
        now = self.clock.now()
        message = claim.message
        with self.store.transaction() as conn:
            self._fail_attempt(conn, claim, error, now)
            notes = [f"{claim.provider.name} refused: {described(error)}"]
            if error.invalid_address:
                reason = f"{claim.provider.name} {error_code(error.code)}"
                marked = conn.execute(
                    sa.update(ContactPoint)
                    .where(
                        ContactPoint.account_id == claim.account_id,
                        ContactPoint.channel == message.channel.value,
                        address_lookup(ContactPoint.address_hash, message.to, conn.dialect),
                        ContactPoint.invalid_at.is_(None),
                    )
                    .values(invalid_at=now, invalid_reason=reason)
                    .returning(ContactPoint.channel)
                ).scalars()
                outbox.contact_point_invalid(
                    conn, claim.tenant_id, claim.account_id, list(marked), message.to, reason, now
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
            # A refusal never opens the circuit: it says this message (its sender, its
            # address, one tenant's configuration) is wrong, not that the provider is down;
            # counting it would let one tenant's bad sender stop every tenant on the account.
            transitions.release(conn, claim.task_id, now)
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
                .values(
                    error_code=error_code(error.code),
                    error_message=mask_text(error.message)[:500],
                    updated_at=now,
                )
            )
            ledger.append(
                conn,
                [
                    self._attempt_entry(
                        claim,
                        now,
                        "attempt.unconfirmed",
                        f"no answer from {claim.provider.name} ({error_code(error.code)}); it "
                        "may have been "
                        "sent, so it is reconciled, never resent blindly",
                    )
                ],
            )
        return Outcome.AMBIGUOUS

    def _fail_attempt(
        self, conn: Connection, claim: Claim, error: Exception, now: datetime
    ) -> bool:
        """Mark the attempt failed; ``False`` when it was no longer ``sending``."""
        code = error_code(str(getattr(error, "code", type(error).__name__)))
        _log_provider_error(claim, error)
        return bool(
            conn.execute(
                sa.update(Attempt)
                .where(
                    Attempt.id == claim.attempt_id, Attempt.status == DeliveryStatus.SENDING.value
                )
                .values(
                    status=DeliveryStatus.FAILED.value,
                    contact_kind=ContactKind.FAILED.value,  # never reached anyone: not a contact
                    error_code=code,
                    error_message=mask_text(str(getattr(error, "message", error)))[:500],
                    lease_until=None,
                    updated_at=now,
                )
            ).rowcount
        )

    def _attempt_entry(
        self, claim: Claim, now: datetime, kind: str, message: str
    ) -> dict[str, Any]:
        return {
            **ledger.entry(
                tenant_id=claim.tenant_id,
                account_id=claim.account_id,
                at=now,
                kind=kind,
                message=message,
                channel=claim.message.channel.value,
                task_id=claim.task_id,
                attempt_id=claim.attempt_id,
            ),
            "trace_id": self._trace_of(claim),
        }


def _sent_entry(claim: Claim, receipt: Receipt) -> dict[str, Any]:
    """The ``attempt.sent`` ledger entry: what went, how, to whom (masked)."""
    message = claim.message
    extra = []
    if claim.rendered.sms:
        extra.append(f"{claim.rendered.sms.segments} segment(s) {claim.rendered.sms.encoding}")
    if claim.rendered.disclosures:
        extra.append(
            "with "
            + ", ".join(
                d.value if hasattr(d, "value") else str(d) for d in claim.rendered.disclosures
            )
        )
    if claim.provider.adapter.delivery_note:
        extra.append(claim.provider.adapter.delivery_note)
    return ledger.entry(
        tenant_id=claim.tenant_id,
        account_id=claim.account_id,
        at=claim.reserved_at,
        kind=ledger.SENT,
        message=(
            f"sent {message.channel} {claim.rendered.template} via {claim.provider.name} "
            f"to {mask_text(message.to)} ({receipt.provider_message_id})"
            + (f"; {'; '.join(extra)}" if extra else "")
        ),
        channel=message.channel.value,
        task_id=claim.task_id,
        attempt_id=claim.attempt_id,
    )


@dataclass(frozen=True, slots=True)
class _Sent:
    """A provider's answer to one claim: its receipt, or the error the send ended with."""

    claim: Claim
    receipt: Receipt | None
    error: Exception | None


class _WindowClosed(Exception):
    def __init__(self, error: TransientError) -> None:
        self.error = error


class _Deferred(Exception):
    """A reserved send whose request did not go out (see :meth:`Dispatcher._pace`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,39}$")


def error_code(code: str) -> str:
    """A provider's error code as the ledger may show it: the provider's own short code
    (``21211``, ``isv.BUSINESS_LIMIT_CONTROL``), else ``unrecognised``: a tenant's endpoint
    could put anything in that field."""
    return code if _CODE.fullmatch(code) else "unrecognised"


def described(error: ProviderError) -> str:
    """What a provider error means, in our own words, for the tenant-visible ledger.

    The provider's own text (the body it answered with, an exception's text) never goes
    there: a tenant reads the ledger, and an endpoint of its choosing could answer with
    anything, including what an internal service says. It goes to the operators' log,
    masked."""
    code = error_code(error.code)
    if isinstance(error, TransientError):
        meaning = {
            "timeout": "no answer in time",
            "connection": "could not connect",
        }.get(error.code, "a temporary provider failure")
    elif isinstance(error, PermanentError):
        if error.code == "endpoint_refused":
            meaning = "its endpoint is not a public address"
        elif error.code == "config_error":
            # Our own words (a ConfigError's problems: a font, a variable's name), not the
            # provider's: nothing reached it.
            meaning = f"the message could not be made here ({error.message})"
        elif error.opted_out:
            meaning = "the recipient has opted out"
        elif error.invalid_address:
            meaning = "the address is not reachable"
        else:
            meaning = "the request was refused"
    else:
        meaning = "an error"
    return f"{meaning} ({code})"


def _remote(trace_id: str) -> trace.SpanContext:
    """A stand-in parent in trace ``trace_id`` (the ledger keeps trace ids, not span ids)."""
    return trace.SpanContext(
        trace_id=int(trace_id, 16),
        span_id=random.getrandbits(64) or 1,
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )


def _call(provider: Any, claim: Claim) -> Receipt:
    """One call to the provider's API, in a ``provider.send`` span (whose context the
    adapter's HTTP request carries as ``traceparent``), timed by result."""
    with tracing.tracer().start_as_current_span(
        "provider.send",
        kind=trace.SpanKind.CLIENT,
        attributes={
            "orchestrator.provider": provider.name,
            "orchestrator.task_id": claim.task_id,
            "orchestrator.attempt_id": claim.attempt_id,
        },
        record_exception=False,
    ) as span:
        started = time.perf_counter()
        result = "error"
        try:
            receipt: Receipt = provider.adapter.send(claim.message)
            result = "accepted"
            return receipt
        except TransientError as exc:
            result = "transient"
            span.set_status(trace.Status(trace.StatusCode.ERROR, exc.code))
            raise
        except PermanentError as exc:
            result = "permanent"
            span.set_status(trace.Status(trace.StatusCode.ERROR, exc.code))
            raise
        except Exception as exc:
            span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            PROVIDER_LATENCY.labels(provider.name, result).observe(time.perf_counter() - started)
            span.set_attribute("orchestrator.result", result)


def _call_in_time(provider: Any, claim: Claim) -> Receipt:
    """:func:`_call`, where a request the lease left no time for (it was not sent) ends the
    try like a window closing: released and reserved again, no provider blamed."""
    try:
        return _call(provider, claim)
    except TransientError as exc:
        if exc.code == transport.NO_TIME_LEFT and not exc.maybe_delivered:
            raise _WindowClosed(
                TransientError(
                    provider.name,
                    "lease_ending",
                    "the send's lease ends before its request could be over; reserving it again",
                )
            ) from None
        raise


def _problems(error: ConfigError) -> str:
    """A configuration error in one line: where, and what is wrong."""
    return f"{error.source}: " + "; ".join(str(problem) for problem in error.problems)


def _log_provider_error(claim: Claim, error: Exception) -> None:
    log.warning(
        "provider error",
        provider=claim.provider.name,
        tenant=claim.message.tags.get("tenant", ""),
        task=claim.task_id,
        code=str(getattr(error, "code", type(error).__name__)),
        detail=mask_text(str(getattr(error, "message", error)))[:500],
    )


def _safe_to_retry(error: BaseException) -> bool:
    return isinstance(error, TransientError) and not error.maybe_delivered


def _backoff(base: float, cap: float) -> Callable[[tenacity.RetryCallState], float]:
    jitter = tenacity.wait_exponential_jitter(multiplier=base, max=cap)

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = getattr(error, "retry_after", None)
        return min(cap, max(jitter(state), asked or 0.0))

    return wait
