"""Prometheus metrics. Labels never carry personal data (no numbers, no account ids).

In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set by the CLI, see
:mod:`orchestrator.metrics_dir`) every process writes its metrics to a shared folder and
:func:`exposition` adds up all of them.
"""

from __future__ import annotations

import atexit
import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

from orchestrator.metrics_dir import ENV as MULTIPROCESS_ENV

ACCOUNTS_INGESTED = Counter(
    "orchestrator_accounts_ingested_total",
    "Account documents received, by outcome",
    ["outcome"],  # created | updated | unchanged | rejected
)
EVENTS_RECORDED = Counter("orchestrator_account_events_total", "Account events recorded", ["type"])
HTTP_REQUESTS = Histogram(
    "orchestrator_http_request_seconds",
    "API request latency, by route template and status class",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DECISIONS = Counter(
    "orchestrator_contact_decisions_total",
    "Compliance decisions at plan and send time",
    ["stage", "channel", "outcome"],  # stage: plan | send; outcome: allowed | blocked
)
BLOCKS = Counter("orchestrator_contact_blocks_total", "Contacts blocked, by rule", ["rule"])
SENDS = Counter(
    "orchestrator_sends_total",
    "Provider calls, by provider and result",
    ["provider", "result"],  # accepted | transient | permanent
)
DELIVERY_REPORTS = Counter(
    "orchestrator_delivery_reports_total", "Provider reports received", ["provider", "kind"]
)
LENDER_EVENT_ATTEMPTS = Counter(
    "orchestrator_lender_event_attempts_total",
    "POSTs of lender events to lenders' endpoints, by result",
    ["result"],  # delivered | failed (retried) | dead (the schedule ran out)
)
TENANT_FAILURES = Counter(
    "orchestrator_tenant_failures_total",
    "One tenant's work that failed and was skipped so every other tenant's went on (alert)",
    ["stage", "tenant"],  # stage: plan | dispatch | reconcile
)


def exposition() -> bytes:
    """The metrics in Prometheus' text format: of every process sharing the multiprocess
    folder when there is one, else of this process."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


def track_process_exit() -> None:
    """In multiprocess mode, mark this process dead when it exits (its live gauges are
    dropped; its counters stay counted)."""
    if os.environ.get(MULTIPROCESS_ENV):
        atexit.register(multiprocess.mark_process_dead, os.getpid())
