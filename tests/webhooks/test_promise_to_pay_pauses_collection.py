"""A promise to pay taken on a call becomes the account's promise event, with its date and
amount, the moment the dialer reports it: collection pauses at once (pending contacts are
cancelled or moved) and resumes only after the promised date plus the rule pack's grace
period (``promise_to_pay_grace``, two days in the US pack) if no payment arrived."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestrator.compliance import decide
from orchestrator.domain import Channel
from tests.webhooks.borrowers import us_borrower
from tests.webhooks.provider_payloads import dialer_outcome, dialer_webhook

HOLD = "us.hold.promise_to_pay"
DUE_D3 = "2026-10-30"  # D+3 today: the overdue-notice text is planned for 11:00 New York
PROMISED = "2026-11-09"
# The promise runs to the end of 9 November in New York (05:00 UTC on the 10th), plus two
# days of grace; the first allowed instant after that is 08:00 in New York.
RESUMES = datetime(2026, 11, 12, 13, 0, tzinfo=UTC)


def _promise(world, attempt, **promise):
    now = world.clock.now()
    document = dialer_outcome(
        "promise_to_pay",
        task_id=attempt.provider_message_id,
        attempt_ref=attempt.ref,
        at=now,
        promise=promise,
    )
    return world.post(dialer_webhook(world.env["DIALER_SECRET"], document, int(now.timestamp())))


def test_a_promise_pauses_collection_until_its_date_and_grace(world):
    account = world.put(us_borrower("loan-1", Channel.SMS, due_date=DUE_D3))
    [text] = world.tasks(account)
    assert (text.step, text.status) == ("standard.overdue_sms", "planned")
    world.agent_call(account)
    call = world.dispatched(account, Channel.CALL, "dialer_call", "T-1")

    assert _promise(world, call, date=PROMISED, amount="300.00", currency="USD").is_success

    # At once: the text due this morning cannot wait until the promise ends.
    text = world.task(text.id)
    assert text.status == "cancelled"
    assert HOLD in text.reasons
    [event] = world.account_json("loan-1")["events"]
    assert (event["type"], event["until"]) == ("promise_to_pay", "2026-11-10T05:00:00Z")

    loaded, pack = world.facts(account), world.pack()
    for channel in (Channel.SMS, Channel.EMAIL, Channel.CALL):
        decision = decide(loaded.facts, loaded.history, channel, world.clock.now(), pack)
        assert HOLD in [r.rule_id for r in decision.reasons], channel
    sms = decide(loaded.facts, loaded.history, Channel.SMS, world.clock.now(), pack)
    assert sms.next_allowed_at == RESUMES
    after = decide(loaded.facts, loaded.history, Channel.SMS, RESUMES + timedelta(hours=1), pack)
    assert after.allowed
