"""Failover and limits: a provider down sends traffic to the next one, its circuit breaker
closes again once it recovers; a permanent refusal marks what it means and fails over."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

from channels.sandbox import OutcomeRates
from tests.e2e.brokers import BOTH_BROKERS


def fast_breakers(document):
    for channel in document["channels"].values():
        for provider in channel["providers"]:
            provider["breaker"] = {"failure_threshold": 2, "reset_seconds": 1}
            provider["retry"] = {"attempts": 2, "base_seconds": 0.05, "max_seconds": 0.1}
            provider["settings"]["timeout_seconds"] = 1


def providers_used(stack):
    return [m["provider"] for m in stack.sandbox_messages()]


@BOTH_BROKERS
def test_when_the_primary_is_down_the_secondary_takes_over_and_the_breaker_closes_again(stack):
    stack.use_platform_channels(fast_breakers)
    stack.fault("twilio_sms", down=True)
    stack.start_worker()
    first = [
        stack.add_account(
            f"loan-{i}",
            contact_points=[{"channel": "sms", "address": f"+1212555{2000 + i}", "consent": True}],
        )
        for i in range(6)
    ]
    for account in first:
        stack.queue_tasks(account, 1)
    # The circuit opens after the primary's second failure and rests for one second: watch
    # for it while the sends go on (asked after they are all done, on a slow machine its
    # rest may already be over).
    stack.wait_until(
        lambda: stack.dispatcher.pool.breaker.is_open("twilio_sms"),
        what="the primary's circuit to open",
    )
    stack.wait_until(
        lambda: all(t.status in ("sent", "delivered") for t in stack.tasks()),
        what="sends through the secondary",
    )
    assert set(providers_used(stack)) == {"aliyun_sms"}

    stack.fault("twilio_sms", down=False)
    time.sleep(1.2)  # the breaker's rest (reset_seconds: 1) is over: one trial goes through
    later = [
        stack.add_account(
            f"later-{i}",
            contact_points=[{"channel": "sms", "address": f"+1212555{3000 + i}", "consent": True}],
        )
        for i in range(4)
    ]
    for account in later:
        stack.queue_tasks(account, 1)
    stack.wait_until(
        lambda: all(t.status in ("sent", "delivered") for t in stack.tasks()),
        what="sends after recovery",
    )

    after = providers_used(stack)[6:]
    # Half-open, one trial goes to the primary while concurrent sends still use the
    # secondary; once the trial succeeds the circuit is closed and the primary is back.
    assert "twilio_sms" in after
    assert not stack.dispatcher.pool.breaker.is_open("twilio_sms")
    last = stack.add_account(
        "last", contact_points=[{"channel": "sms", "address": "+12125559999", "consent": True}]
    )
    stack.queue_tasks(last, 1)
    stack.wait_until(
        lambda: all(t.status in ("sent", "delivered") for t in stack.tasks()), what="the last send"
    )
    assert providers_used(stack)[-1] == "twilio_sms"


def test_a_permanent_refusal_marks_the_number_invalid_and_falls_back_to_the_next_channel(stack):
    stack.fault("twilio_sms", permanent_rate=1.0)
    stack.fault("aliyun_sms", permanent_rate=1.0)
    account = stack.add_account("loan-1")
    stack.queue_tasks(account, 1, fallback=[["push", "overdue_notice"]])
    stack.start_worker()

    stack.wait_until(
        lambda: any(t.status in ("sent", "delivered") for t in stack.tasks()),
        what="the push fallback",
    )

    [task] = stack.tasks()
    assert task.channel == "push"
    assert [m["provider"] for m in stack.sandbox_messages()] == ["fcm_push"]  # the push primary
    account_view = stack.http.get("/v1/accounts/loan-1").json()
    sms = next(p for p in account_view["contact_points"] if p["channel"] == "sms")
    assert sms["invalid"] is not None  # a provider said the number is dead: never texted again
    entries = stack.http.get("/v1/accounts/loan-1/timeline").json()["entries"]
    assert any(e["kind"] == "attempt.refused" and "marked invalid" in e["message"] for e in entries)


def test_with_a_third_of_requests_failing_or_hanging_everything_goes_out_once(stack_factory):
    stack = stack_factory(OutcomeRates(delivered=1.0, bounced=0.0))

    def patient(document):
        fast_breakers(document)
        # "Eventually": enough attempts that the odds of running out are negligible.
        document["dispatch"] = {"max_attempts": 30, "lease_seconds": 60}

    stack.use_platform_channels(patient)
    # A third of requests fail: half of those with a 503, half hanging past the timeout.
    # A hung request is still taken by the provider when it finally answers (1.5 s later).
    stack.fault("twilio_sms", error_rate=0.15, timeout_rate=0.15, hang_seconds=1.5)
    stack.fault("aliyun_sms", error_rate=0.15, timeout_rate=0.15, hang_seconds=1.5)
    tasks = []
    for i in range(15):
        account = stack.add_account(
            f"loan-{i}",
            contact_points=[{"channel": "sms", "address": f"+1212555{4000 + i}", "consent": True}],
        )
        tasks += stack.queue_tasks(account, 1)
    stack.start_worker(threads=6)

    deadline = time.monotonic() + 90
    while not all(t.status in ("sent", "delivered", "unknown") for t in stack.tasks()):
        assert time.monotonic() < deadline, [t.status for t in stack.tasks()]
        # Time passes for the leases of sends that hung, then the reconciler asks the
        # provider. Virtual time runs at most ten times faster than real time here, so a
        # lease (60 s) still outlasts a request the provider is slow to take (1.5 s real):
        # the assumption at-most-once rests on, as in production (120 s against a 10 s
        # timeout).
        stack.clock.advance(timedelta(seconds=3))
        stack.tick()
        time.sleep(0.3)

    by_ref = {a.ref: a.task_id for a in stack.attempts()}
    received = Counter(by_ref[m["attempt_ref"]] for m in stack.sandbox_messages())
    assert max(received.values()) == 1  # at most once, whatever failed
    sent = {t.id for t in stack.tasks() if t.status in ("sent", "delivered")}
    assert sent <= set(received)
    assert len(sent) == len(tasks)  # both providers can be asked: nothing stays unknown
