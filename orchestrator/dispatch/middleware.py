"""Cross-cutting behaviour of the send actor, as Dramatiq middleware: every log line of a
message carries its task id (and no personal data), and processing time is measured."""

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
    "Time a worker spends on one send message, by result",
    ["result"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


class TaskContext(Middleware):
    """Binds ``task`` and ``message_id`` to the log context for the message's lifetime."""

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        structlog.contextvars.bind_contextvars(
            task=message.args[0] if message.args else None, message_id=message.message_id
        )
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
            PROCESSING.labels(outcome).observe(time.perf_counter() - started)
        structlog.contextvars.clear_contextvars()

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        message.options.pop("orchestrator_started", None)
        structlog.contextvars.clear_contextvars()
