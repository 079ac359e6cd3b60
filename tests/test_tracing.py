"""Tracing's pieces: the exporter only when an OTLP endpoint is configured, trace ids in log
lines, and the trace context carried in a Dramatiq message from enqueue to the worker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from orchestrator import logs, tracing
from orchestrator.dispatch.middleware import TRACE_OPTION, add_trace_context


def _reset() -> None:
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _reset()
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()
    _reset()


def test_without_an_endpoint_nothing_is_exported_and_spans_are_no_ops(monkeypatch):
    for name in tracing.ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    _reset()
    assert tracing.configure("orchestrator-test") is False
    with tracing.tracer().start_as_current_span("work"):
        assert tracing.current_ids() is None  # no trace id to log or record


def test_an_otlp_endpoint_installs_the_sdk_with_the_otlp_exporter(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # nothing listens
    _reset()
    try:
        assert tracing.configure("orchestrator-test") is True
        provider = trace.get_tracer_provider()
        assert isinstance(provider, TracerProvider)
        assert provider.resource.attributes["service.name"] == "orchestrator-test"
        [processor] = provider._active_span_processor._span_processors  # type: ignore[attr-defined]
        assert type(processor.span_exporter).__name__ == "OTLPSpanExporter"
        # Recording (not ended, so nothing is sent to the address where nothing listens).
        assert tracing.tracer().start_span("work").is_recording()
        provider.shutdown()
    finally:
        _reset()


def test_a_log_line_in_a_span_carries_its_trace_and_span_ids(spans, capsys):
    logs.configure(level="INFO", fmt="json")
    log = logs.get_logger("test")
    with tracing.tracer().start_as_current_span("work") as span:
        log.info("inside", to="+12125550123")
    log.info("outside")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    inside = next(line for line in lines if line["event"] == "inside")
    context = span.get_span_context()
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")
    assert inside["to"] != "+12125550123"  # still masked
    outside = next(line for line in lines if line["event"] == "outside")
    assert "trace_id" not in outside


def test_a_message_carries_the_trace_from_enqueue_to_the_worker(spans):
    broker = StubBroker()
    add_trace_context(broker)
    add_trace_context(broker)  # once only
    seen: list[str | None] = []

    @dramatiq.actor(broker=broker, queue_name="send")
    def work() -> None:
        seen.append(tracing.current_trace_id())

    with tracing.tracer().start_as_current_span("request") as request:
        message = work.send()
    assert "traceparent" in message.options[TRACE_OPTION]
    worker = dramatiq.Worker(broker, worker_timeout=50)
    worker.start()
    try:
        broker.join("send")
        worker.join()
    finally:
        worker.stop()
    trace_id = format(request.get_span_context().trace_id, "032x")
    assert seen == [trace_id]
    [consumer] = [s for s in spans.get_finished_spans() if s.name == "dispatch.send"]
    assert consumer.kind is trace.SpanKind.CONSUMER
    assert consumer.parent is not None
    assert consumer.parent.span_id == request.get_span_context().span_id
