"""The send actor, declared on a given broker (the worker's, or a test's own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dramatiq

from orchestrator.broker import SEND_ACTOR, SEND_QUEUE
from orchestrator.dispatch.sending import Dispatcher, RetryLater
from orchestrator.logs import get_logger

log = get_logger(__name__)


def _retry_when(retries: int, exception: Exception) -> bool:
    # The store bounds attempts per task (channels.yaml dispatch.max_attempts); this only
    # keeps a message from retrying forever if the store cannot be reached.
    return isinstance(exception, RetryLater) and retries < 100


def declare_send_actor(
    broker: dramatiq.Broker,
    dispatcher: Callable[[], Dispatcher],
    *,
    min_backoff_ms: int = 5_000,
    max_backoff_ms: int = 300_000,
) -> dramatiq.Actor[Any, Any]:
    """Declare ``send_task(task_id)`` on ``broker``; ``dispatcher`` is called in the worker
    process (after any fork) to get the process's dispatcher."""

    def send_task(task_id: int) -> None:
        outcome = dispatcher().send(task_id)
        log.info("task handled", outcome=outcome.value)

    declare = dramatiq.actor(
        broker=broker,
        actor_name=SEND_ACTOR,
        queue_name=SEND_QUEUE,
        retry_when=_retry_when,
        min_backoff=min_backoff_ms,
        max_backoff=max_backoff_ms,
        time_limit=600_000,
    )
    return declare(send_task)
