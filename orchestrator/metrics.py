"""Prometheus metrics. Labels never carry personal data (no numbers, no account ids).

In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set by the CLI, see
:mod:`orchestrator.metrics_dir`) every process writes its metrics to a shared folder and
:func:`exposition` adds up all of them.
"""

from __future__ import annotations

import atexit
import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.registry import Collector

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
DEFERRALS = Counter(
    "orchestrator_contact_deferrals_total",
    "Sends held back to a later window at send time, by the rule that moved them",
    ["rule"],
)
SENDS = Counter(
    "orchestrator_sends_total",
    "Provider calls, by provider and result",
    ["provider", "result"],  # accepted | transient | permanent
)
PROVIDER_LATENCY = Histogram(
    "orchestrator_provider_request_seconds",
    "One HTTP call to a provider's API (each quick retry is its own call), by result",
    ["provider", "result"],  # accepted | transient | permanent | error (a fault of ours)
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PLANNING_RUNS = Histogram(
    "orchestrator_planning_run_seconds",
    "One planning run over every tenant, by result (failed: a tenant's work was skipped)",
    ["result"],  # ok | failed
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800),
)
WEBHOOK_LAG = Histogram(
    "orchestrator_webhook_lag_seconds",
    "From a provider's event to its report applied here, by provider and what the lag is "
    "measured from: the event's own time when the payload has one, else our receipt of it",
    ["provider", "since"],  # since: event | received
    buckets=(0.1, 0.5, 1, 2.5, 5, 15, 30, 60, 300, 900, 3600),
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


def exposition(*collectors: Collector) -> bytes:
    """The metrics in Prometheus' text format: of every process sharing the multiprocess
    folder when there is one, else of this process; then what ``collectors`` read now
    (shared state: queues, circuits)."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest()
    if collectors:
        extra = CollectorRegistry(auto_describe=False)
        for collector in collectors:
            extra.register(collector)
        text += generate_latest(extra)
    return text


def track_process_exit() -> None:
    """In multiprocess mode, mark this process dead when it exits (its live gauges are
    dropped; its counters stay counted)."""
    if os.environ.get(MULTIPROCESS_ENV):
        atexit.register(multiprocess.mark_process_dead, os.getpid())
