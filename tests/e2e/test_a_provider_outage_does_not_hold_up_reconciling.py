"""Reconciling under a provider's outage (docs/RELIABILITY.md, the 10,000-account run): the
reconciler asked the providers about expired leases one lookup at a time, oldest first, and
lookups that kept failing stayed at the head of every pass, so the others waited behind them.

Now a lookup that fails moves its attempt's lease on by a backoff (nothing is resent: only
the provider's "no record of it" releases a send), each provider's lookups run in a thread
of their own, and a pass stops starting lookups when its time budget is spent."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orchestrator.dispatch.reserve import Claim
from orchestrator.store.tables import Attempt

pytestmark = pytest.mark.slow


def _interrupted(stack, external_id, *, channel="sms", template="overdue_notice"):
    """A send a worker died in: reserved, accepted by the provider, nothing recorded."""
    account = stack.add_account(external_id)
    [task_id] = stack.queue_tasks(account, 1, channel=channel, template=template, batch_size=0)
    claim = stack.dispatcher.reserver.reserve(task_id)
    assert isinstance(claim, Claim), claim
    # No callback: only the reconciler can learn of it.
    claim.provider.adapter.send(replace(claim.message, callback_url=None))
    return claim.attempt_id


def _attempt(stack, attempt_id):
    with stack.store.snapshot() as conn:
        return conn.execute(sa.select(Attempt).where(Attempt.id == attempt_id)).one()


def twilio_at(base_url, timeout=None):
    """The platform's Twilio account at ``base_url`` (a tenant may not move it: its
    credentials are the platform's)."""

    def change(document):
        for provider in document["channels"]["sms"]["providers"]:
            if provider["adapter"] == "twilio_sms":
                provider["settings"]["base_url"] = base_url
                if timeout is not None:
                    provider["settings"]["timeout_seconds"] = timeout

    return change


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once closed


def test_lookups_that_fail_back_off_and_leave_the_others_their_turn(stack):
    stack.sandbox.state.courier.delay = 3600  # no provider reports: only lookups tell
    texts = [_interrupted(stack, f"loan-{i}") for i in range(3)]
    stack.clock.advance(timedelta(seconds=30))
    email = _interrupted(stack, "loan-9", channel="email", template="formal_notice")
    # Twilio stops answering: its lookups fail (connection refused), SendGrid's do not.
    platform = stack.services.settings.config_dir / "channels.yaml"
    shipped = platform.read_text(encoding="utf-8")
    stack.use_platform_channels(twilio_at(f"http://127.0.0.1:{_closed_port()}/twilio"))
    stack.clock.advance(timedelta(hours=1))  # every lease (five minutes) has ended
    now = stack.clock.now()

    assert stack.reconciler.run(now) == {"lookup_failed": 3, "confirmed": 1}
    assert _attempt(stack, email).status != "sending"
    for attempt_id in texts:
        attempt = _attempt(stack, attempt_id)
        assert attempt.status == "sending"  # not resent, not given up: asked again later
        assert attempt.lease_until.replace(tzinfo=None) > now.replace(tzinfo=None)

    # The next pass does not ask Twilio again at once (before: three more failed lookups)...
    assert stack.reconciler.run(now) == {}
    # ... and a send interrupted later, whose lease ends while the texts wait out their
    # backoff (half their age, an hour: at most 15 minutes), is not stuck behind them
    # (before: a pass of one took the oldest lease, a text's, and failed again).
    later = _interrupted(stack, "loan-10", channel="email", template="formal_notice")
    stack.clock.advance(timedelta(minutes=6))
    assert stack.reconciler.run(stack.clock.now(), limit=1) == {"confirmed": 1}
    assert _attempt(stack, later).status != "sending"

    # Twilio answers again: once their backoff is over, the texts are found, not resent.
    platform.write_text(shipped, encoding="utf-8")
    assert stack.services.config.refresh(), stack.services.config.last_error
    stack.clock.advance(timedelta(minutes=20))
    assert stack.reconciler.run(stack.clock.now()) == {"confirmed": 3}
    assert len(stack.sandbox_messages("twilio_sms")) == 3


def test_a_pass_keeps_to_its_budget_and_one_provider_does_not_hold_up_another(stack):
    stack.sandbox.state.courier.delay = 3600  # no provider reports: only lookups tell
    texts = [_interrupted(stack, f"loan-{i}") for i in range(6)]
    stack.clock.advance(timedelta(seconds=30))
    email = _interrupted(stack, "loan-9", channel="email", template="formal_notice")
    # Twilio takes connections and never answers: each lookup waits its whole timeout.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        stack.use_platform_channels(twilio_at(f"http://127.0.0.1:{port}/twilio", timeout=1))
        stack.clock.advance(timedelta(minutes=6))

        counts = stack.reconciler.run(stack.clock.now(), budget=2.5)

    # The e-mail, behind six texts in lease order, was settled in the same pass by its own
    # thread; Twilio's thread started lookups only while the budget lasted (a second each),
    # and left the rest for the next pass, their leases as they were.
    assert counts["confirmed"] == 1, counts
    assert _attempt(stack, email).status != "sending"
    assert 1 <= counts["lookup_failed"] <= 4, counts
    assert counts["deferred"] == 6 - counts["lookup_failed"], counts
    assert sum(counts.values()) == 7, counts
    assert all(_attempt(stack, a).status == "sending" for a in texts)
    assert len(stack.sandbox_messages("twilio_sms")) == 6  # sent once each, none resent
