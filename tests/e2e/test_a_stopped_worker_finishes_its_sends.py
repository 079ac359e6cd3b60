"""Graceful shutdown: a worker told to stop (SIGTERM, what every orchestrator sends first)
mid-send finishes the sends in flight and records them, hands the messages it held back to
the broker, and exits. Nothing is lost, nothing sent twice, and nothing waits for the
reconciler: the clock never moves, so no lease expires."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest

from channels.sandbox import OutcomeRates
from tests.e2e.brokers import BOTH_BROKERS

pytestmark = pytest.mark.slow


@BOTH_BROKERS
def test_sigterm_mid_send_completes_and_records_the_sends_in_flight(stack_factory):
    stack = stack_factory(OutcomeRates(delivered=1.0, bounced=0.0))
    tasks = []
    for i in range(12):
        number = f"+1212555{2000 + i:04d}"
        account = stack.add_account(
            f"loan-{i}", contact_points=[{"channel": "sms", "address": number, "consent": True}]
        )
        tasks += stack.queue_tasks(account, 1)
    # Slow answers: sends are in flight when the signal comes, and last a while after it.
    stack.fault("twilio_sms", latency_ms=1500)
    worker = stack.worker_process(threads=3)
    deadline = time.monotonic() + 90
    while not any(a.status == "sending" for a in stack.attempts()):
        assert worker.poll() is None, "the worker died"
        assert time.monotonic() < deadline, "the worker never started a send"
        time.sleep(0.05)

    os.killpg(worker.pid, signal.SIGTERM)
    in_flight = {a.id for a in stack.attempts() if a.status == "sending"}
    assert worker.wait(timeout=60) == 0  # it stopped by itself, in time

    after = {a.id: a for a in stack.attempts()}
    assert in_flight
    # Each send in flight finished and was recorded; none left for the reconciler.
    assert {after[i].status for i in in_flight} <= {"sent", "delivered"}
    assert not any(a.status == "sending" for a in after.values())
    by_task = {t.id: t.status for t in stack.tasks()}
    # Sent (and perhaps delivered already), or handed back untouched.
    assert set(by_task.values()) <= {"sent", "delivered", "queued"}
    assert "queued" in by_task.values(), "it should have stopped before the last tasks"

    stack.fault("twilio_sms", latency_ms=0)
    stack.worker_process(threads=3)
    stack.wait_until(
        lambda: all(t.status in ("sent", "delivered") for t in stack.tasks()),
        timeout=90,
        what="the tasks the first worker handed back, sent by the next",
    )
    by_ref = {a.ref: a.task_id for a in stack.attempts()}
    received = Counter(by_ref[m["attempt_ref"]] for m in stack.sandbox_messages())
    assert set(received) == set(tasks)  # nothing lost
    assert max(received.values()) == 1  # nothing sent twice
    assert len(stack.attempts()) == len(tasks)  # no send was abandoned and retried
