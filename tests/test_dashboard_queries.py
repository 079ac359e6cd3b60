"""The example Grafana dashboard and the alert rules query only metrics the code exports.

Exported names come from prometheus-client's registry after importing every module that
defines a metric, plus the gauges read at the scrape (``QueueCollector.describe``), each with
the sample suffixes of its type (a counter's ``_total``, a histogram's ``_bucket``, ``_count``
and ``_sum``). Each PromQL expression is stripped of strings, label matchers, durations and
groupings; what is left is functions (followed by ``(``), PromQL keywords, numbers and
metric names, and every metric name must be exported.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

import orchestrator.dispatch.middleware
import orchestrator.metrics  # noqa: F401 - defines the metrics
from orchestrator.dispatch import gauges

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "docs" / "grafana" / "orchestrator.json"
ALERTS = ROOT / "docs" / "grafana" / "alerts.yml"

KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
}
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum", ""),
    "gauge": ("",),
}


def exported() -> set[str]:
    names: set[str] = set()
    families = [*REGISTRY.collect(), *gauges.describe()]
    for family in families:
        if not family.name.startswith("orchestrator_"):
            continue  # the client's own process and platform metrics
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"(?<![\w:])\d+(?:\.\d+)?(?:ms|[smhdwy])?(?![\w:])", " ", text)  # numbers
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        following = text[match.end() :].lstrip()
        if following.startswith("(") or word.lower() in KEYWORDS:
            continue  # a function or a keyword
        names.add(word)
    return names


def dashboard_queries() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [
        (panel["title"], target["expr"])
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]


def alert_queries() -> list[tuple[str, str]]:
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [
        (rule["alert"], str(rule["expr"])) for group in rules["groups"] for rule in group["rules"]
    ]


def test_the_extractor_finds_metric_names_and_nothing_else():
    expr = (
        'histogram_quantile(0.95, sum by (le, provider) (rate(a_bucket{x="b c"}[5m]))) '
        "/ on (provider) group_left sum(b_total offset 1h) > bool 2"
    )
    assert metric_names(expr) == {"a_bucket", "b_total"}


def test_exported_names_carry_their_type_suffixes():
    names = exported()
    assert "orchestrator_sends_total" in names
    assert "orchestrator_provider_request_seconds_bucket" in names
    assert "orchestrator_queue_messages" in names
    assert "orchestrator_provider_request_seconds" not in names


@pytest.mark.parametrize(("where", "expr"), dashboard_queries() + alert_queries())
def test_every_query_uses_only_exported_metrics(where, expr):
    used = metric_names(expr)
    assert used, f"{where}: no metric in {expr!r}"
    unknown = used - exported()
    assert not unknown, f"{where}: {sorted(unknown)} not exported by the code"


def test_the_dashboard_and_the_alerts_cover_what_operations_watch():
    used = set().union(*(metric_names(e) for _, e in dashboard_queries()))
    for name in (
        "orchestrator_queue_messages",
        "orchestrator_queue_oldest_message_age_seconds",
        "orchestrator_tasks_oldest_queued_age_seconds",
        "orchestrator_contact_blocks_total",
        "orchestrator_contact_deferrals_total",
        "orchestrator_provider_request_seconds_bucket",
        "orchestrator_circuit_state",
        "orchestrator_planning_run_seconds_bucket",
        "orchestrator_webhook_lag_seconds_bucket",
    ):
        assert name in used, f"the dashboard has no panel on {name}"
    alerts = {name for name, _ in alert_queries()}
    assert {"ProviderCircuitOpen", "SendQueueStuck", "PlanningStopped", "TenantWorkFailing"} <= (
        alerts
    )
