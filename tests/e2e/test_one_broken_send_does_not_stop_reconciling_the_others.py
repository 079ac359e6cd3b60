"""Reconciling interrupted sends is per send: one whose row cannot be read (a tenant's broken
state) is recorded as that tenant's failure and tried again later, and every other
interrupted send in the same pass is still resolved."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa

from orchestrator.dispatch.reserve import Claim
from orchestrator.metrics import TENANT_FAILURES
from orchestrator.store.tables import Attempt


def _interrupted(stack, external_id):
    """A send a worker died in: reserved, accepted by the provider, nothing recorded."""
    account = stack.add_account(external_id)
    [task_id] = stack.queue_tasks(account, 1)
    claim = stack.dispatcher.reserver.reserve(task_id)
    assert isinstance(claim, Claim), claim
    # No callback: only the reconciler can learn of it.
    claim.provider.adapter.send(replace(claim.message, callback_url=None))
    return claim.attempt_id


def _status(stack, attempt_id):
    with stack.store.snapshot() as conn:
        return conn.execute(sa.select(Attempt.status).where(Attempt.id == attempt_id)).scalar()


def test_a_send_that_cannot_be_read_does_not_stop_the_others(stack):
    broken = _interrupted(stack, "loan-1")
    healthy = _interrupted(stack, "loan-2")
    with stack.store.transaction() as conn:
        conn.execute(sa.update(Attempt).where(Attempt.id == broken).values(channel="fax"))
    failures = TENANT_FAILURES.labels("reconcile", "acme")
    before = failures._value.get()

    stack.clock.advance(timedelta(minutes=6))
    stack.tick()

    assert _status(stack, healthy) != "sending"
    assert _status(stack, broken) == "sending"  # left for the next pass, not lost
    assert failures._value.get() == before + 1
