"""Invariant 4 against every adapter: a send the provider accepted, whose answer never
reached us (the sandbox's accept-after-timeout fault), is never sent twice. An adapter that
can look messages up, as configured, confirms it was sent; one that cannot (SendGrid with
``lookup: false`` among them) waits for a report and otherwise records the outcome as
unknown. The sandbox's journal, the provider's own record, is the witness."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from channels.sandbox import OutcomeRates
from orchestrator.dispatch.reserve import Outcome
from orchestrator.store.tables import Attempt, LedgerEntry

pytestmark = pytest.mark.slow

# adapter, its channel, a template for it, settings changed, whether it can look up.
CASES = [
    ("twilio_sms", "sms", "overdue_notice", {}, True),
    ("aliyun_sms", "sms", "overdue_notice", {}, True),
    ("sendgrid_email", "email", "courtesy_reminder", {"lookup": True}, True),
    ("sendgrid_email", "email", "courtesy_reminder", {"lookup": False}, False),
    ("smtp_email", "email", "courtesy_reminder", {}, False),
    ("fcm_push", "push", "courtesy_reminder", {}, False),
    ("jpush_push", "push", "courtesy_reminder", {}, False),
    ("twilio_voice", "call", "voicemail_limited", {}, False),
    ("dialer_call", "call", "reminder_call", {}, False),
]


def only(adapter: str, channel: str, settings: dict):
    """The tenant's channel config with ``adapter`` alone on its channel, answering fast."""

    def change(document):
        providers = document["channels"][channel]["providers"]
        [chosen] = [p for p in providers if p["adapter"] == adapter]
        chosen["settings"].update(settings, timeout_seconds=0.5)
        chosen["retry"] = {"attempts": 1, "base_seconds": 0.05, "max_seconds": 0.1}
        document["channels"][channel]["providers"] = [chosen]

    return change


def case_id(case) -> str:
    adapter, _, _, settings, _ = case
    return adapter + "".join(f"-{k}-{str(v).lower()}" for k, v in settings.items())


@pytest.mark.parametrize(
    ("adapter", "channel", "template", "settings", "looks_up"), CASES, ids=map(case_id, CASES)
)
def test_a_send_the_provider_accepted_unheard_is_never_sent_twice(
    stack_factory, adapter, channel, template, settings, looks_up
):
    stack = stack_factory(OutcomeRates(delivered=1.0, bounced=0.0))
    stack.use_channels(only(adapter, channel, settings))
    # A silent provider: no report comes during the test, so reconciling alone decides.
    stack.sandbox.state.courier.delay = 3600
    account = stack.add_account("loan-1")
    [task_id] = stack.queue_tasks(account, 1, channel=channel, template=template)
    stack.fault(adapter, late_answer_rate=1, hang_seconds=2)

    assert stack.dispatcher.send(task_id) is Outcome.AMBIGUOUS
    stack.fault(adapter, late_answer_rate=0)
    # The lease runs out, then the wait for a report does: the reconciler decides.
    for minutes in (10, 30):
        stack.clock.advance(timedelta(minutes=minutes))
        stack.reconciler.run(stack.clock.now())
        stack.dispatcher.send(task_id)  # a worker given the task again, were it released

    [attempt] = [a for a in stack.attempts() if a.contact_kind != "failed"]
    sent = [m for m in stack.sandbox_messages(adapter) if m["attempt_ref"] == attempt.ref]
    assert len(sent) == 1  # the provider received it exactly once
    assert len(stack.sandbox_messages()) == 1  # and nobody else did
    [task] = stack.tasks()
    with stack.store.snapshot() as conn:
        kinds = list(
            conn.execute(
                sa.select(LedgerEntry.kind).where(LedgerEntry.task_id == task_id)
            ).scalars()
        )
    assert "attempt.released" not in kinds
    if looks_up:
        assert task.status == "sent"
        assert attempt.status in ("queued", "sent", "delivered")  # as the provider last saw it
        assert "attempt.sent" in kinds  # confirmed by asking the provider
        assert attempt.provider_message_id
    else:
        assert (task.status, attempt.status) == ("unknown", "unknown")
        assert "attempt.unknown" in kinds
    with stack.store.snapshot() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Attempt)).scalar_one() == 1
