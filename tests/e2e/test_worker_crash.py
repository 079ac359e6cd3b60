"""Invariant 4 under crashes: a worker SIGKILLed while sending neither loses a task nor sends
one twice. The provider's own record (the sandbox's journal) is the witness."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest

from channels.sandbox import OutcomeRates
from tests.e2e.brokers import BOTH_BROKERS

pytestmark = pytest.mark.slow


@BOTH_BROKERS
def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(stack_factory):
    stack = stack_factory(OutcomeRates(delivered=1.0, bounced=0.0))
    numbers = [f"+1212555{1000 + i:04d}" for i in range(24)]
    tasks = []
    for i, number in enumerate(numbers):
        account = stack.add_account(
            f"loan-{i}", contact_points=[{"channel": "sms", "address": number, "consent": True}]
        )
        tasks += stack.queue_tasks(account, 1)
    # Slow answers, so sends are in flight when the worker dies.
    stack.fault("twilio_sms", latency_ms=400)
    first = stack.worker_process(threads=4)
    deadline = time.monotonic() + 60
    while not any(a.status != "sending" for a in stack.attempts()):
        assert time.monotonic() < deadline, "the first worker never sent anything"
        time.sleep(0.05)
    time.sleep(0.3)  # let a few more reach the provider
    stack.crash(first)
    in_flight = [a for a in stack.attempts() if a.status == "sending"]

    stack.fault("twilio_sms", latency_ms=0)
    # Later: leases expire, queued messages count as lost; the scheduler's pass reconciles.
    stack.clock.advance(timedelta(minutes=6))
    stack.worker_process(threads=4)
    stack.wait_until(
        lambda: all(t.status in ("sent", "delivered") for t in stack.tasks()),
        timeout=60,
        what="every task sent after the crash",
    )

    by_ref = {a.ref: a.task_id for a in stack.attempts()}
    # Every provider's record, whichever carried each message.
    received = Counter(by_ref[m["attempt_ref"]] for m in stack.sandbox_messages())
    assert set(received) == set(tasks)  # nothing lost
    assert max(received.values()) == 1  # nothing sent twice
    assert in_flight, "the crash should have caught sends in flight"
    entries = [
        e
        for n in range(24)
        for e in stack.http.get(f"/v1/accounts/loan-{n}/timeline").json()["entries"]
    ]
    assert any(e["kind"] in ("attempt.released", "attempt.sent") for e in entries)
