"""Cross-cutting behaviour of the send actors, as Dramatiq middleware: every log line of a
message carries its task id or ids (and no personal data), processing time is measured per
task (a batch's time shared among its tasks), and each worker process keeps a heartbeat for
``orchestrator alive worker``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import dramatiq
import structlog
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware
from prometheus_client import Histogram

from orchestrator.liveness import Heartbeat

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


class Liveness(Middleware):
    """A heartbeat file per worker process (:mod:`orchestrator.liveness`), from its boot
    until its threads have finished their messages on shutdown; ``state`` says
    ``stopping`` while a SIGTERM'd worker finishes its in-flight sends."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.stopping = False
        self._heartbeat: Heartbeat | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._heartbeat = Heartbeat(
            self.folder, "worker", state=lambda: {"stopping": self.stopping}
        ).start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.stopping = True
        if self._heartbeat is not None:
            self._heartbeat.beat()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
