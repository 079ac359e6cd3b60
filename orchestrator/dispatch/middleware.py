"""Cross-cutting behaviour of the send actors, as Dramatiq middleware: every log line of a
message carries its task id or ids (and no personal data), processing time is measured per
task (a batch's time shared among its tasks), and each worker process keeps a heartbeat for
``orchestrator alive worker``, and a message carries its trace context from the process that
enqueued it to the worker (:class:`TraceContext`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import dramatiq
import structlog
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware
from opentelemetry import context as otel_context
from opentelemetry import trace
from prometheus_client import Histogram

from orchestrator import tracing
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


TRACE_OPTION = "trace_context"


class TraceContext(Middleware):
    """Carries the W3C trace context from whoever enqueues a send message (an API request,
    the scheduler's sweep) to the worker that processes it, where the message runs in a
    ``dispatch.send`` span of the same trace.

    On enqueue the current context (``traceparent``, ``tracestate``) goes into the message's
    options; in the worker it is read back, and the span is open, and current, from just
    before the actor runs until just after (before and after run on the worker's thread).
    Without a configured tracer both are no-ops.
    """

    def __init__(self) -> None:
        self._open: dict[str, tuple[Any, object]] = {}

    def before_enqueue(self, broker: dramatiq.Broker, message: Any, delay: int | None) -> None:
        if TRACE_OPTION in message.options:
            return  # a retry keeps the trace it began in
        carrier = tracing.inject({})
        if carrier:
            message.options[TRACE_OPTION] = dict(carrier)

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        parent = tracing.extract(message.options.get(TRACE_OPTION) or {})
        first = message.args[0] if message.args else None
        span = tracing.tracer().start_span(
            "dispatch.send",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "dramatiq",
                "messaging.destination.name": message.queue_name,
                "messaging.message.id": message.message_id,
                "orchestrator.tasks": len(first) if isinstance(first, list) else 1,
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        self._open[message.message_id] = (span, token)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        opened = self._open.pop(message.message_id, None)
        if opened is None:
            return
        span, token = opened
        if exception is not None:
            span.record_exception(exception)
            span.set_status(trace.Status(trace.StatusCode.ERROR, type(exception).__name__))
        span.end()
        otel_context.detach(token)  # type: ignore[arg-type]

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self.after_process_message(broker, message)


def add_trace_context(broker: dramatiq.Broker) -> None:
    """Add :class:`TraceContext` to ``broker`` unless it has it (on both sides: the
    enqueuing process injects, the worker extracts)."""
    if not any(isinstance(m, TraceContext) for m in broker.middleware):
        broker.add_middleware(TraceContext())
