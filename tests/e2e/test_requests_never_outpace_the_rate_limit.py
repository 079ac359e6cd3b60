"""Each request to a provider waits for its own turn on the provider's rate limit just before
it goes out. However many batches race, and even after the sends were held up (here the
provider stalls for a moment and the sending threads wait on it; on a loaded machine, threads
starved of CPU), the provider never receives more than its rate plus the burst in any one
second: a request that could not go out at its turn takes another instead of going late
with the rest.

Both sides are timed: when each request left the worker (the HTTP client stamps it just
before it goes out, ``channels.sandbox.stamps``), which is what the rate limit controls and
is bounded by construction; and when the sandbox handled it (on a clock running at real
speed), as the provider would count them, which the sandbox's own scheduling also shapes."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from datetime import UTC, datetime

import pytest

from channels.sandbox.stamps import stamp_requests
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
    stamp_requests(stack.dispatcher.pool.http)
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
    messages = stack.sandbox_messages("twilio_sms")
    arrivals = [datetime.fromisoformat(m["received_at"]).timestamp() for m in messages]
    assert len(arrivals) == TASKS  # each task once
    # Sent: the rate and the burst, by construction.
    assert most_in_one_second([m["sent_at"] for m in messages]) <= RATE + BURST
    # Received: one more for the jitter of timing arrivals in the sandbox's thread, which
    # shares this process with the senders.
    assert most_in_one_second(arrivals) <= RATE + BURST + 1


STALLED_RATE = 20
STALLED_BURST = 1  # at most 21 in any second
STALLED_TASKS = 80
STALL_EVERY = 1.3  # seconds
STALL_FOR = 0.099  # just inside the late slack (0.1 s): a thread woken at its end still goes


def test_threads_woken_late_never_send_more_than_the_rate_and_burst_in_a_second(stack):
    """Every so often the sending threads are starved for a moment (as on a loaded machine):
    those whose turn came during the stall all wake at its end, late but within the slack, and
    go out together with the requests due then. However they bunch, no second holds more
    requests leaving the worker than the rate and the burst (with only a slack on lateness,
    it held one more for every request woken late within the slack)."""
    stack.use_platform_channels(
        lambda document: document["channels"]["sms"]["providers"][0].update(
            rate_limit={"per_second": STALLED_RATE, "burst": STALLED_BURST}
        )
    )
    tasks = [
        stack.queue_tasks(stack.add_account(f"loan-{i}"), 1, batch_size=0)[0]
        for i in range(STALLED_TASKS)
    ]
    stamp_requests(stack.dispatcher.pool.http)
    # Enough sending threads that every request booked within the horizon waits for its
    # turn in a thread of its own: only the stalls make them late.
    dispatcher = Dispatcher(
        stack.services,
        stack.dispatcher.pool,
        stack.dispatcher.limiter,
        lambda task_id: None,
        concurrency=64,
    )
    began = time.monotonic()

    def stalled_pause(seconds: float) -> None:
        wake = time.monotonic() + seconds
        into_stall = (wake - began) % STALL_EVERY
        if into_stall < STALL_FOR:
            wake += STALL_FOR - into_stall  # woken when the stall ends
        time.sleep(max(0.0, wake - time.monotonic()))

    dispatcher.pause = stalled_pause
    results: dict[int, object] = {}
    lock = threading.Lock()

    def send(batch: list[int]) -> None:
        while batch:
            outcome = dispatcher.send_batch(batch)
            with lock:
                results.update(outcome)
            batch = [t for t, r in outcome.items() if isinstance(r, RetryLater)]

    racers = [threading.Thread(target=send, args=(tasks[i::4],)) for i in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(120)
    dispatcher.close()

    assert results == {task_id: Outcome.SENT for task_id in tasks}
    messages = stack.sandbox_messages("twilio_sms")
    assert len(messages) == STALLED_TASKS  # each task once
    sent = [m["sent_at"] for m in messages]
    assert most_in_one_second(sent) <= STALLED_RATE + STALLED_BURST
