"""Cross-cutting behaviour of the send actors, as Dramatiq middleware: every log line of a
message carries its task id or ids (and no personal data), and processing time is measured
per task (a batch's time shared among its tasks)."""

from __future__ import annotations

import time
from typing import Any

import dramatiq
import structlog
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware
from prometheus_client import Histogram

PROCESSING = Histogram(
    "orchestrator_send_seconds",
    "Time a worker spends on one task's send message, by result (a batch message's time "
    "is shared among its tasks)",
    ["result"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


class TaskContext(Middleware):
    """Binds ``task`` and ``message_id`` to the log context for the message's lifetime."""

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        first = message.args[0] if message.args else None
        if isinstance(first, list):
            structlog.contextvars.bind_contextvars(tasks=first, message_id=message.message_id)
        else:
            structlog.contextvars.bind_contextvars(task=first, message_id=message.message_id)
        message.options["orchestrator_started"] = time.perf_counter()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        started = message.options.pop("orchestrator_started", None)
        if started is not None:
            outcome = type(exception).__name__ if exception else str(result or "done")
            first = message.args[0] if message.args else None
            tasks = max(1, len(first)) if isinstance(first, list) else 1
            share = (time.perf_counter() - started) / tasks
            for _ in range(tasks):
                PROCESSING.labels(outcome).observe(share)
        structlog.contextvars.clear_contextvars()

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        message.options.pop("orchestrator_started", None)
        structlog.contextvars.clear_contextvars()
