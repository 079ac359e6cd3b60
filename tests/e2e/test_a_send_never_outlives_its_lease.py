"""Invariant 4 against a slow send: a claim that waited (for a sending thread, behind a
batch's hung requests, on a loaded machine) until its lease ran out is never handed to the
provider. By then the reconciler may have asked the provider, heard it has no such message,
and released the task to be sent again; sending the first claim too would contact the
borrower twice (the chaos bench's duplicate, docs/RELIABILITY.md). And no send is reserved
in the last seconds of a window (``dispatch.window_margin_seconds``): it would reach the
provider after the window closed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels.sandbox import OutcomeRates
from orchestrator.dispatch.reserve import Outcome, RetryLater

pytestmark = pytest.mark.slow


def twilio_only(lease: float, margin: float | None = None):
    def change(document):
        providers = document["channels"]["sms"]["providers"]
        [chosen] = [p for p in providers if p["adapter"] == "twilio_sms"]
        chosen["settings"].update(timeout_seconds=0.5)
        chosen["retry"] = {"attempts": 1, "base_seconds": 0.05, "max_seconds": 0.1}
        document["channels"]["sms"]["providers"] = [chosen]
        document["dispatch"] = {**document.get("dispatch", {}), "lease_seconds": lease}
        if margin is not None:
            document["dispatch"]["window_margin_seconds"] = margin

    return change


def test_a_claim_that_outlived_its_lease_is_not_sent_after_the_reconciler_released_it(
    stack_factory,
):
    stack = stack_factory(OutcomeRates(delivered=1.0, bounced=0.0))
    stack.use_channels(twilio_only(lease=200))
    stack.sandbox.state.courier.delay = 3600
    account = stack.add_account("loan-1")
    [task_id] = stack.queue_tasks(account, 1, batch_size=0)

    reserve_batch = stack.dispatcher.reserver.reserve_batch

    def reserved_then_kept_waiting(task_ids):
        claims = reserve_batch(task_ids)
        # The claim waits for a sending thread past its lease; meanwhile the reconciler
        # asks Twilio, which has not seen it, and releases the task to be sent again.
        stack.clock.advance(timedelta(seconds=201))
        assert stack.reconciler.run(stack.clock.now()) == {"resent": 1}
        return claims

    stack.dispatcher.reserver.reserve_batch = reserved_then_kept_waiting
    [result] = stack.dispatcher.send_batch([task_id]).values()
    assert isinstance(result, RetryLater)
    assert stack.sandbox_messages() == []  # the stale claim never went

    stack.dispatcher.reserver.reserve_batch = reserve_batch
    assert stack.dispatcher.send(task_id) is Outcome.SENT  # the released task, once
    assert len(stack.sandbox_messages()) == 1
    [task] = stack.tasks()
    assert task.status == "sent"


def test_no_send_is_reserved_in_the_last_seconds_of_a_window(stack_factory):
    stack = stack_factory(OutcomeRates(delivered=1.0, bounced=0.0))
    stack.use_channels(twilio_only(lease=200, margin=5))
    stack.sandbox.state.courier.delay = 3600
    account = stack.add_account("loan-1")  # New York: no calls or texts from 21:00
    # Monday 20:59:57 in New York: the window closes in 3 s, within the 5 s margin.
    stack.clock.advance(timedelta(hours=10, minutes=59, seconds=57))
    [task_id] = stack.queue_tasks(account, 1, batch_size=0)

    assert stack.dispatcher.send(task_id) is Outcome.HELD
    assert stack.sandbox_messages() == []
    [task] = stack.tasks()
    assert task.status == "planned"
    assert task.not_before.replace(tzinfo=None) >= stack.clock.now().replace(tzinfo=None) + (
        timedelta(hours=8)
    )  # the next morning's window, not the last seconds of this one

    # Without the margin the same instant would send: the margin, not the window, held it.
    stack.use_channels(twilio_only(lease=200, margin=0))
    account = stack.add_account("loan-2")
    [task_id] = stack.queue_tasks(account, 1, batch_size=0)
    assert stack.dispatcher.send(task_id) is Outcome.SENT


def test_a_claim_kept_waiting_until_its_window_closed_is_not_sent(stack_factory):
    """Reserved inside the window and outside the margin, then kept waiting for a sending
    thread until the window closed: checked again before its first try, it goes back to be
    reserved again (for the next window), and nothing reaches the provider."""
    stack = stack_factory(OutcomeRates(delivered=1.0, bounced=0.0))
    stack.use_channels(twilio_only(lease=200, margin=5))
    stack.sandbox.state.courier.delay = 3600
    account = stack.add_account("loan-1")  # New York: no calls or texts from 21:00
    # Monday 20:59:50 in New York: 10 s left, more than the 5 s margin: reserved.
    stack.clock.advance(timedelta(hours=10, minutes=59, seconds=50))
    [task_id] = stack.queue_tasks(account, 1, batch_size=0)

    reserve_batch = stack.dispatcher.reserver.reserve_batch

    def reserved_then_kept_waiting(task_ids):
        claims = reserve_batch(task_ids)
        assert claims  # reserved: the window was open
        stack.clock.advance(timedelta(seconds=15))  # 21:00:05 when a thread is free
        return claims

    stack.dispatcher.reserver.reserve_batch = reserved_then_kept_waiting
    [result] = stack.dispatcher.send_batch([task_id]).values()
    assert isinstance(result, RetryLater)
    assert stack.sandbox_messages() == []  # no text at 21:00:05
    [task] = stack.tasks()
    assert task.status in ("queued", "planned")


def test_a_request_the_lease_ran_out_on_before_it_reached_the_wire_is_not_sent(
    stack_factory, monkeypatch
):
    """Dispatch checks the lease before each try; then the adapter's own work (a letter's
    PDF, on a machine at load 30) or the wait for a pooled connection can take what was left.
    The chaos run's 17 Lob letters reached the sandbox up to 12 s after their lease: each
    request is checked again as it is written to the wire (``transport.deadline``), and
    with less than its timeout left before the lease (less a second) it is not sent."""
    stack = stack_factory(OutcomeRates(delivered=1.0, bounced=0.0))
    stack.use_channels(twilio_only(lease=200))  # a timeout of 0.5 s
    stack.sandbox.state.courier.delay = 3600
    account = stack.add_account("loan-1")
    [task_id] = stack.queue_tasks(account, 1, batch_size=0)
    adapter = type(stack.dispatcher.pool.named("acme", "twilio_sms").adapter)
    request = adapter.request

    def slow_to_the_wire(self, *args, **kwargs):
        # Past the check before the try (199 s left), then 199.2 s of the adapter's own work.
        stack.clock.advance(timedelta(seconds=199.2))
        return request(self, *args, **kwargs)

    monkeypatch.setattr(adapter, "request", slow_to_the_wire)
    with pytest.raises(RetryLater):
        stack.dispatcher.send(task_id)
    assert stack.sandbox_messages() == []  # before: sent, after its lease
    [task] = stack.tasks()
    assert task.status == "queued"  # released, to be reserved again: nothing went out
    [attempt] = stack.attempts()
    assert attempt.status == "failed"
    assert attempt.contact_kind == "failed"

    monkeypatch.setattr(adapter, "request", request)
    assert stack.dispatcher.send(task_id) is Outcome.SENT
    assert len(stack.sandbox_messages()) == 1
