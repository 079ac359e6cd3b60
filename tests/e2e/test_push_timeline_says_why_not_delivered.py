"""A push through FCM stays "sent" for good (FCM posts no delivery receipts): its timeline
entry says so, so a reader does not take "sent, never delivered" for a failure."""

from __future__ import annotations

import pytest

from channels.sandbox import OutcomeRates
from orchestrator.dispatch.reserve import Outcome

pytestmark = pytest.mark.slow


def test_an_fcm_push_says_no_receipt_will_come(stack_factory):
    stack = stack_factory(OutcomeRates(delivered=1.0, bounced=0.0))
    [task_id] = stack.queue_tasks(
        stack.add_account("loan-1"), 1, channel="push", template="courtesy_reminder"
    )
    assert stack.dispatcher.send(task_id) is Outcome.SENT

    entries = stack.http.get("/v1/accounts/loan-1/timeline").json()["entries"]
    [sent] = [e for e in entries if e["kind"] == "attempt.sent"]
    assert "via fcm_push" in sent["message"]
    assert "FCM sends no delivery receipts" in sent["message"]
