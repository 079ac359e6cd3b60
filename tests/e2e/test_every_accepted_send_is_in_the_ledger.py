"""The ledger is the compliance record: every message a provider accepted appears in it as
sent exactly once, whichever path learns of it. The sender records it; when the sender died
after the provider accepted the message and before recording it, the provider's delivery
report or the reconciler's lookup records it instead, and never a second time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa

from channels.base import Receipt
from orchestrator.dispatch.reserve import Claim
from orchestrator.store.tables import Attempt, LedgerEntry


def _sent_entries(stack, attempt_id):
    with stack.store.snapshot() as conn:
        return (
            conn.execute(
                sa.select(LedgerEntry.message).where(
                    LedgerEntry.attempt_id == attempt_id, LedgerEntry.kind == "attempt.sent"
                )
            )
            .scalars()
            .all()
        )


def _attempt(stack, attempt_id):
    with stack.store.snapshot() as conn:
        return conn.execute(sa.select(Attempt).where(Attempt.id == attempt_id)).one()


def _crashed_after_the_provider_accepted(stack, *, callback: bool) -> tuple[Claim, Receipt]:
    """The state a worker SIGKILLed mid-send leaves: the attempt reserved and ``sending``,
    the message accepted by the provider, nothing recorded about it."""
    account = stack.add_account("loan-1")
    [task_id] = stack.queue_tasks(account, 1)
    claim = stack.dispatcher.reserver.reserve(task_id)
    assert isinstance(claim, Claim), claim
    message = claim.message if callback else replace(claim.message, callback_url=None)
    receipt = claim.provider.adapter.send(message)  # accepted; then the worker dies
    assert _attempt(stack, claim.attempt_id).status == "sending"
    return claim, receipt


def test_the_sender_records_a_send_once(stack):
    account = stack.add_account("loan-1")
    [task_id] = stack.queue_tasks(account, 1)
    stack.dispatcher.send(task_id)
    [attempt] = stack.attempts()
    stack.wait_until(
        lambda: _attempt(stack, attempt.id).status == "delivered",
        timeout=30,
        what="the delivery report",
    )
    assert len(_sent_entries(stack, attempt.id)) == 1


def test_a_send_the_sender_never_recorded_is_recorded_from_the_delivery_report(stack):
    claim, _ = _crashed_after_the_provider_accepted(stack, callback=True)
    stack.wait_until(
        lambda: _attempt(stack, claim.attempt_id).status == "delivered",
        timeout=30,
        what="the delivery report",
    )
    [entry] = _sent_entries(stack, claim.attempt_id)
    assert "twilio_sms" in entry
    assert "report" in entry

    # The lease runs out: nothing is left for the reconciler, and nothing is recorded twice.
    stack.clock.advance(timedelta(minutes=6))
    stack.tick()
    assert len(_sent_entries(stack, claim.attempt_id)) == 1


def test_a_send_the_sender_never_recorded_is_recorded_by_the_reconciler(stack):
    claim, _ = _crashed_after_the_provider_accepted(stack, callback=False)
    stack.clock.advance(timedelta(minutes=6))
    stack.tick()
    assert _attempt(stack, claim.attempt_id).status != "sending"
    assert len(_sent_entries(stack, claim.attempt_id)) == 1


def test_a_slow_sender_finishing_after_the_report_adds_no_second_entry(stack):
    """Not a crash, a race: the provider's report outran the sender's own record."""
    claim, receipt = _crashed_after_the_provider_accepted(stack, callback=True)
    stack.wait_until(
        lambda: _attempt(stack, claim.attempt_id).status == "delivered",
        timeout=30,
        what="the delivery report",
    )
    stack.dispatcher._sent(claim, receipt)  # the sender records its answer at last
    assert len(_sent_entries(stack, claim.attempt_id)) == 1
    assert _attempt(stack, claim.attempt_id).status == "delivered"
