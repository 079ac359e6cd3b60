"""Metrics counted in worker processes are served (issue 11 §10): a send made by a real
``orchestrator worker`` process shows up in a scrape of a separate ``orchestrator api``
process, which runs with two workers of its own, every one of them counted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.e2e.conftest import free_port

pytestmark = pytest.mark.slow


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` with these labels, in Prometheus' text format."""
    total = 0.0
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            total += float(match.group(2))
    return total


def api_process(stack, port: int) -> subprocess.Popen[bytes]:
    settings = stack.services.settings
    env = {
        **os.environ,
        "DATABASE_URL": stack.store.engine.url.render_as_string(hide_password=False),
        "REDIS_URL": settings.redis_url,
        "ORCHESTRATOR_QUEUE_NAMESPACE": settings.queue_namespace,
        "ORCHESTRATOR_LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the CLI sets it from ORCHESTRATOR_METRICS_DIR
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "api", "--port", str(port), "--workers", "2"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_send_by_a_worker_process_shows_up_in_the_apis_metrics(stack, tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRATOR_METRICS_DIR", str(tmp_path / "metrics"))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    # A file left by a process that no longer runs: cleaned away when the API starts.
    (tmp_path / "metrics").mkdir()
    stale = tmp_path / "metrics" / "counter_999999999.db"
    stale.write_bytes(b"")
    stack.worker_process()
    account = stack.add_account("loan-1")
    stack.queue_tasks(account, 2)
    stack.wait_until(
        lambda: sum(a.provider == "twilio_sms" for a in stack.attempts()) == 2 and stack.settled(),
        timeout=60,
        what="two sends by the worker process",
    )

    port = free_port()
    api = api_process(stack, port)
    try:
        url = f"http://127.0.0.1:{port}"
        health_calls = 0
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, "the API process never answered"
            try:
                health_calls += 1
                if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                health_calls -= 1  # never reached a process
            time.sleep(0.1)
        for _ in range(8):  # spread over both API processes
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        health_calls += 8

        text = httpx.get(f"{url}/metrics", timeout=10).text
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=30)

    assert sample(text, "orchestrator_sends_total", provider="twilio_sms", result="accepted") == 2
    assert sample(text, "orchestrator_send_seconds_count") == 2
    # Every request, whichever of the API's two processes answered it.
    assert (
        sample(
            text,
            "orchestrator_http_request_seconds_count",
            route="/healthz",
            method="GET",
            status="2xx",
        )
        == health_calls
    )
    assert not stale.exists()
