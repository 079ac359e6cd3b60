"""Each request to a provider waits for its own turn on the provider's rate limit just before
it goes out. However many batches race, and even after the sends were held up (here the
provider stalls for a moment and the sending threads wait on it; on a loaded machine, threads
starved of CPU), the provider never receives more than its rate plus the burst in any one
second: a request that could not go out at its turn takes another instead of going late
with the rest.

Arrivals are timed by the sandbox (on a clock running at real speed), as the provider would
count them."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from datetime import UTC, datetime

import pytest

from orchestrator.clock import ScaledClock
from orchestrator.dispatch import Dispatcher, Outcome, RetryLater

RATE = 3  # well under what even a loaded machine reserves
BURST = 1
TASKS = 15


@pytest.fixture
def clock():
    return ScaledClock(datetime(2026, 11, 2, 15, 0, tzinfo=UTC), 1.0)


def most_in_one_second(times: list[float]) -> int:
    ordered = sorted(times)
    return max(bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered))


def limited(document) -> None:
    document["channels"]["sms"]["providers"][0]["rate_limit"] = {
        "per_second": RATE,
        "burst": BURST,
    }


def test_racing_batches_after_a_stall_never_exceed_the_rate_and_burst(stack):
    stack.use_platform_channels(limited)
    tasks = [
        stack.queue_tasks(stack.add_account(f"loan-{i}"), 1, batch_size=0)[0] for i in range(TASKS)
    ]
    # Two sending threads, held up for three seconds by the provider's first answers while
    # five batches keep reserving: the sends queued behind them must still be paced.
    dispatcher = Dispatcher(
        stack.services,
        stack.dispatcher.pool,
        stack.dispatcher.limiter,
        lambda task_id: None,
        concurrency=2,
    )
    stack.fault("twilio_sms", late_answer_rate=1.0, hang_seconds=3)
    results: dict[int, object] = {}
    lock = threading.Lock()

    def send(batch: list[int]) -> None:
        while batch:
            outcome = dispatcher.send_batch(batch)
            with lock:
                results.update(outcome)
            batch = [t for t, r in outcome.items() if isinstance(r, RetryLater)]

    racers = [threading.Thread(target=send, args=(tasks[i::5],)) for i in range(5)]
    for racer in racers:
        racer.start()
    deadline = time.monotonic() + 30
    while len(stack.sandbox_messages("twilio_sms")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stack.fault("twilio_sms")  # both sending threads wait on an answer; the next are prompt
    for racer in racers:
        racer.join(60)
    dispatcher.close()

    assert results == {task_id: Outcome.SENT for task_id in tasks}
    arrivals = [
        datetime.fromisoformat(m["received_at"]).timestamp()
        for m in stack.sandbox_messages("twilio_sms")
    ]
    assert len(arrivals) == TASKS  # each task once
    # The rate and the burst; one more for the jitter of timing arrivals in the sandbox's
    # thread, which shares this process with the senders.
    assert most_in_one_second(arrivals) <= RATE + BURST + 1
