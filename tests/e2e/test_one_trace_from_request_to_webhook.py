"""Tracing end to end, in process, with the SDK's in-memory exporter: an account PUT through
the API is planned in the request's trace; the worker's send of that task, the provider's
HTTP call and the delivery report's webhook join the same trace, and every ledger entry
of the task carries its id."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from orchestrator.store.tables import LedgerEntry
from tests.e2e.brokers import BOTH_BROKERS
from tests.factories import account_document

TODAY = "2026-11-02"  # the stack's clock


def _reset_global_tracer_provider() -> None:
    # OpenTelemetry sets its global provider once per process; its own test helpers reset
    # these two globals the same way, so other tests keep the no-op tracer.
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _reset_global_tracer_provider()
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()
    _reset_global_tracer_provider()


def _hex(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    found = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        found.append(span)
    return found


@BOTH_BROKERS
def test_an_account_put_is_one_trace_through_planning_send_provider_and_webhook(spans, stack):
    doc = account_document("loan-1")
    doc["debt"]["due_date"] = TODAY
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = stack.http.put("/v1/accounts/loan-1", json=doc, headers={"traceparent": traceparent})
    assert response.status_code == 201
    stack.start_worker()
    stack.wait_until(
        lambda: any(a.status == "delivered" for a in stack.attempts()), what="a delivered SMS"
    )

    finished = spans.get_finished_spans()
    [request] = [
        s
        for s in finished
        if s.name == "PUT /accounts/{external_id}" or s.name == "PUT /v1/accounts/{external_id}"
    ]
    trace_id = _hex(request)
    assert trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"  # the caller's trace, continued
    in_trace = [s for s in finished if _hex(s) == trace_id]
    names = {s.name for s in in_trace}
    assert {"planning.accounts", "dispatch.task", "provider.send", "webhook.apply"} <= names

    by_id = {s.context.span_id: s for s in finished if s.context is not None}
    [planning] = [s for s in in_trace if s.name == "planning.accounts"]
    assert request in _ancestors(planning, by_id)  # planned inside the request
    [task] = [s for s in in_trace if s.name == "dispatch.task"]
    [call] = [s for s in in_trace if s.name == "provider.send"]
    assert call.parent is not None
    assert call.parent.span_id == task.context.span_id
    assert call.attributes is not None
    assert call.attributes["orchestrator.provider"] == "twilio_sms"
    # The send ran in the worker's message span (enqueued by the sweep), linked to it.
    [link] = task.links
    message = by_id[link.context.span_id]
    assert message.name == "dispatch.send"
    assert message.kind is trace.SpanKind.CONSUMER

    with stack.store.snapshot() as conn:
        entries = conn.execute(
            sa.select(LedgerEntry.kind, LedgerEntry.trace_id)
            .where(LedgerEntry.task_id.is_not(None))
            .order_by(LedgerEntry.id)
        ).all()
    kinds = [kind for kind, _ in entries]
    assert "task.planned" in kinds
    assert "attempt.sent" in kinds
    assert any(kind.startswith("delivery.") for kind in kinds)
    assert {trace for _, trace in entries} == {trace_id}, entries


def test_without_a_tracer_provider_the_ledger_has_no_trace_ids(stack):
    doc = account_document("loan-2")
    doc["debt"]["due_date"] = TODAY
    assert stack.http.put("/v1/accounts/loan-2", json=doc).status_code == 201
    with stack.store.snapshot() as conn:
        traces = conn.execute(sa.select(LedgerEntry.trace_id)).scalars().all()
    assert traces
    assert set(traces) == {None}
