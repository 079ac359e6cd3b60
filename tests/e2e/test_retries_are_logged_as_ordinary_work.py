"""Operators alert on ERROR, so an ordinary retry is not one: a real ``orchestrator worker``
meeting a throttling provider logs one INFO line, and a failing one one WARNING line, each
naming the task, the provider and when the next attempt is due, with no traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from channels.sandbox import OutcomeRates

pytestmark = pytest.mark.slow


def sms_through_twilio_only(document):
    providers = document["channels"]["sms"]["providers"]
    [twilio] = [p for p in providers if p["adapter"] == "twilio_sms"]
    twilio["retry"] = {"attempts": 1, "base_seconds": 0.05, "max_seconds": 0.1}
    document["channels"]["sms"]["providers"] = [twilio]


def worker_lines(stack, tmp_path, until, timeout: float = 60) -> list[dict]:
    """Run a real worker until a log line satisfies ``until``; its JSON log lines."""
    settings = stack.services.settings
    env = {
        **os.environ,
        "DATABASE_URL": stack.store.engine.url.render_as_string(hide_password=False),
        "REDIS_URL": settings.redis_url,
        "ORCHESTRATOR_QUEUE_NAMESPACE": settings.queue_namespace,
        "ORCHESTRATOR_PUBLIC_URL": stack.api_url,
        "ORCHESTRATOR_CLOCK": stack.clock.now().isoformat(),
        "ORCHESTRATOR_LOG_LEVEL": "INFO",
        "ORCHESTRATOR_LOG_FORMAT": "json",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "orchestrator", "worker", "--processes", "1", "--threads", "1"],
            env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while True:
            lines = [
                json.loads(line) if line.startswith("{") else {"raw": line}
                for line in log.read_text(encoding="utf-8").splitlines()
            ]
            if any(until(line) for line in lines):
                return lines
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.parametrize(
    ("fault", "level", "event"),
    [
        ({"throttle_rate": 1, "retry_after_seconds": 1}, "info", "send throttled; retrying later"),
        ({"error_rate": 1}, "warning", "send failed; retrying later"),
    ],
    ids=["throttled", "failing"],
)
def test_a_retry_is_one_line_with_the_task_provider_and_next_attempt(
    stack_factory, tmp_path, fault, level, event
):
    stack = stack_factory(OutcomeRates(delivered=1.0, bounced=0.0))
    stack.use_channels(sms_through_twilio_only)
    stack.fault("twilio_sms", **fault)
    [task_id] = stack.queue_tasks(stack.add_account("loan-1"), 1)

    lines = worker_lines(
        stack,
        tmp_path,
        # The second retry's line: everything logged about the first is written by then.
        lambda line: (
            (line.get("event") == event and line.get("attempt") == 2)
            or line.get("level") in ("error", "critical")
        ),
    )

    assert not [line for line in lines if line.get("level") in ("error", "critical")], lines
    retry = next(line for line in lines if line.get("event") == event)
    assert retry["level"] == level
    assert retry["task"] == task_id
    assert retry["provider"] == "twilio_sms"
    assert retry["next_attempt_at"]
    assert not [line for line in lines if "exception" in line or "Traceback" in str(line)]
    # One line per retry: Dramatiq's own "Retrying message ..." would be a second.
    assert not [line for line in lines if "Retrying message" in str(line)]
