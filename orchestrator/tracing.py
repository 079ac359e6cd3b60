"""OpenTelemetry tracing: one trace from an API request through planning, the worker's send
and the provider's HTTP call, to the webhook that reports on it.

Spans are made with OpenTelemetry's API everywhere; whether they go anywhere is decided once
per process by :func:`configure`. With ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) set, the SDK exports them over OTLP/HTTP in batches;
without, the API's own no-op tracer is left in place and a span costs next to nothing.
The exporter reads the other standard ``OTEL_*`` variables itself (headers, timeout).

The W3C trace context (``traceparent``) crosses process boundaries in an HTTP request's
headers and in a Dramatiq message's options (:mod:`orchestrator.dispatch.middleware`).
Spans carry ids and names only, never personal data (no numbers, no message text).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import propagate, trace

TRACER = "orchestrator"
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def tracer() -> trace.Tracer:
    """The project's tracer (the no-op one until a provider is configured)."""
    return trace.get_tracer(TRACER)


def configure(service: str) -> bool:
    """Export this process's spans over OTLP/HTTP when an endpoint is configured.

    Parameters:
      service: the ``service.name`` resource attribute (``orchestrator-api``,
        ``orchestrator-worker``, ``orchestrator-scheduler``).

    Returns whether an exporter was set up (``False``: no endpoint, spans are no-ops).
    """
    if not any(os.environ.get(name) for name in ENDPOINT_VARIABLES):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True


def current_ids() -> tuple[str, str] | None:
    """The active span's trace id and span id in hex (32 and 16 characters), or ``None``
    when no recording span is active."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def current_trace_id() -> str | None:
    """The active span's trace id in hex, or ``None``."""
    ids = current_ids()
    return ids[0] if ids else None


def inject(carrier: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Write the current trace context (``traceparent``, ``tracestate``) into ``carrier``."""
    propagate.inject(carrier)
    return carrier


def extract(carrier: Mapping[str, str]) -> Any:
    """The trace context a carrier (HTTP headers, a message's options) brings."""
    return propagate.extract(carrier)


def add_trace_ids(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: ``trace_id`` and ``span_id`` on every line logged in a span."""
    ids = current_ids()
    if ids is not None:
        event.setdefault("trace_id", ids[0])
        event.setdefault("span_id", ids[1])
    return event
