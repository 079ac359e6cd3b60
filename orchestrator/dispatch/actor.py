"""The send actors, declared on a given broker (the worker's, or a test's own):
``send_tasks(task_ids)`` sends a batch; ``send_task(task_id)`` one task, and is how a task
of a batch is retried after a backoff (Dramatiq's retries then count that task's own tries).

A retry is ordinary work, not an error: operators alert on ERROR, so a 429, a provider's
5xx or our own rate limit being used up is one INFO (throttling) or WARNING (a failure) line
naming the task, the provider and when the next attempt is due. ERROR is kept for what needs
a human: a task given up after every retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import dramatiq
from dramatiq.common import compute_backoff
from dramatiq.middleware import CurrentMessage

from orchestrator.clock import SystemClock
from orchestrator.dispatch.broker import (
    SEND_ACTOR,
    SEND_BATCH_ACTOR,
    SEND_QUEUE,
    batch_message,
    send_message,
)
from orchestrator.dispatch.middleware import add_trace_context
from orchestrator.dispatch.sending import Dispatcher, RetryLater
from orchestrator.logs import get_logger

log = get_logger(__name__)

# The store bounds attempts per task (channels.yaml dispatch.max_attempts); this only keeps a
# message from retrying forever if the store cannot be reached.
MAX_RETRIES = 100


def _retry_when(retries: int, exception: Exception) -> bool:
    return isinstance(exception, RetryLater) and retries < MAX_RETRIES


def declare_send_actor(
    broker: dramatiq.Broker,
    dispatcher: Callable[[], Dispatcher],
    *,
    min_backoff_ms: int = 5_000,
    max_backoff_ms: int = 300_000,
    queue_name: str = SEND_QUEUE,
) -> dramatiq.Actor[Any, Any]:
    """Declare ``send_task(task_id)`` and ``send_tasks(task_ids)`` on ``broker``;
    ``dispatcher`` is called in the worker process (after any fork) to get the process's
    dispatcher. Returns ``send_task``.

    Parameters:
      broker: the broker to declare on; the middleware the actor reads (Dramatiq's
        ``CurrentMessage``, for the retry count) is added to it if missing.
      dispatcher: returns the process's dispatcher.
      min_backoff_ms / max_backoff_ms: the exponential backoff between retries (a provider's
        ``Retry-After`` lengthens it).
      queue_name: the send queue (see ``broker.send_queue``).
    """
    if not any(isinstance(m, CurrentMessage) for m in broker.middleware):
        broker.add_middleware(CurrentMessage())
    add_trace_context(broker)
    # The actor logs each retry itself, with the task and provider; Dramatiq's own line
    # ("Retrying message ... in N milliseconds") would be a second one saying less.
    logging.getLogger("dramatiq.middleware.retries.Retries").setLevel(logging.WARNING)

    def send_task(task_id: int) -> None:
        try:
            outcome = dispatcher().send(task_id)
        except RetryLater as retry:
            if retry.deferred:
                # Our own rate limit had no room for it yet: not a failed try (no backoff,
                # no retry counted), a fresh message when it could have room.
                delay = int((retry.retry_after or 0.0) * 1000)
                broker.enqueue(send_message(task_id, queue_name), delay=delay or None)
                log.info("send deferred by our rate limit", task=task_id, delay_ms=delay)
                return
            _schedule(retry, task_id, min_backoff_ms, max_backoff_ms)
            raise
        log.info("task handled", outcome=outcome.value)

    def send_tasks(task_ids: list[int]) -> None:
        results = dispatcher().send_batch(task_ids)
        counts: dict[str, int] = {}
        deferred = [
            task_id
            for task_id, result in results.items()
            if isinstance(result, RetryLater) and result.deferred
        ]
        if deferred:
            # Our own rate limit had no room for them yet: no attempt was made, so no
            # backoff either; back together, as soon as it could have room.
            waits = [getattr(results[t], "retry_after", None) or 0.0 for t in deferred]
            delay = int(min(waits) * 1000)
            broker.enqueue(batch_message(deferred, queue_name), delay=delay or None)
            counts["deferred"] = len(deferred)
            log.info("batch deferred by our rate limit", tasks=len(deferred), delay_ms=delay)
        for task_id, result in results.items():
            if isinstance(result, RetryLater) and result.deferred:
                continue
            if isinstance(result, RetryLater):
                # Alone from now on, after its backoff: its own retries are counted.
                _schedule(result, task_id, min_backoff_ms, max_backoff_ms)
                broker.enqueue(send_message(task_id, queue_name), delay=result.delay)
                counts["retry"] = counts.get("retry", 0) + 1
            elif isinstance(result, Exception):
                # Reported where it happened (with its tenant); the task stays queued, and
                # the sweep queues it again, or its send is reconciled.
                log.warning(
                    "send failed; left to the sweep or the reconciler",
                    task=task_id,
                    error=type(result).__name__,
                )
                counts["error"] = counts.get("error", 0) + 1
            else:
                counts[result.value] = counts.get(result.value, 0) + 1
        log.info("batch handled", tasks=len(task_ids), **counts)

    def declare(name: str) -> Any:
        return dramatiq.actor(
            broker=broker,
            actor_name=name,
            queue_name=queue_name,
            retry_when=_retry_when,
            min_backoff=min_backoff_ms,
            max_backoff=max_backoff_ms,
            time_limit=600_000,
        )

    declare(SEND_BATCH_ACTOR)(send_tasks)
    actor: dramatiq.Actor[Any, Any] = declare(SEND_ACTOR)(send_task)
    return actor


def _schedule(retry: RetryLater, task_id: int, min_backoff_ms: int, max_backoff_ms: int) -> None:
    """Choose when ``retry`` is next attempted (``retry.delay``) and log it in one line."""
    message = CurrentMessage.get_current_message()
    retries = int(message.options.get("retries", 0)) if message is not None else 0
    if message is not None and message.actor_name == SEND_BATCH_ACTOR:
        retries = 0  # a batch's retries are not this task's
    fields: dict[str, Any] = {"task": task_id, "provider": retry.provider, "reason": retry.reason}
    if retries >= MAX_RETRIES:
        log.error("send given up after every retry", retries=retries, **fields)
        return
    _, delay = compute_backoff(retries, factor=min_backoff_ms, max_backoff=max_backoff_ms)
    if retry.retry_after:
        delay = max(delay, int(retry.retry_after * 1000))
    retry.delay = int(delay)
    # Dramatiq schedules on the wall clock, so the next attempt is a wall-clock instant.
    next_attempt = SystemClock().now() + timedelta(milliseconds=retry.delay)
    line = log.info if retry.throttled else log.warning
    line(
        "send throttled; retrying later" if retry.throttled else "send failed; retrying later",
        attempt=retries + 1,
        next_attempt_at=next_attempt.isoformat(timespec="seconds"),
        **fields,
    )
