"""A telephone conversation reported by webhook starts Regulation F's seven-day call pause
(12 CFR 1006.14(b)(2)(i)(B), rule ``us.reg_f.call_after_conversation_7d`` in
config/compliance/us-reg-f.yaml): a call the planner would place five days later is moved
past the pause. A voicemail, an unanswered or a busy call starts no pause.

The lender's strategy here calls on the due date and again five days later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestrator.compliance import decide
from orchestrator.configuration.source import Kind
from orchestrator.domain import Channel
from tests.webhooks.borrowers import NUMBER, OUR_NUMBER, us_borrower
from tests.webhooks.provider_payloads import (
    dialer_outcome,
    dialer_webhook,
    new_sid,
    twilio_call_status,
    twilio_webhook,
)

LOCK = "us.reg_f.call_after_conversation_7d"
TWO_CALLS = """
name: two_calls
description: A call on the due date and a follow-up call five days later.
catch_up_days: 0
segments:
  - id: calls
    when:
      dpd: {min: -5}
    steps:
      - {id: first_call, day: 0, channel: call, template: reminder_call, at: "10:00"}
      - {id: follow_up, day: 5, channel: call, template: reminder_call, at: "10:00"}
"""
CALLED_AT = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York
FOLLOW_UP_DAY = datetime(2026, 11, 7, 15, 0, tzinfo=UTC)
PAUSE_ENDS = CALLED_AT + timedelta(days=7)


def _twilio(world, attempt, status, answered_by=None):
    form = twilio_call_status(
        world.env["TWILIO_ACCOUNT_SID"],
        attempt.provider_message_id,
        status,
        to=NUMBER,
        sender=OUR_NUMBER,
        answered_by=answered_by,
        duration="40",
    )
    return twilio_webhook(
        "twilio_voice",
        world.url,
        world.env["TWILIO_AUTH_TOKEN"],
        form,
        query=f"attempt_ref={attempt.ref}",
    )


def _dialer(world, attempt, outcome):
    now = world.clock.now()
    document = dialer_outcome(
        outcome, task_id=attempt.provider_message_id, attempt_ref=attempt.ref, at=now
    )
    return dialer_webhook(world.env["DIALER_SECRET"], document, int(now.timestamp()))


# provider, how the call ended → whether the follow-up call must wait for the pause.
ENDINGS = [
    ("dialer_call", "right_party_contact", True),
    ("twilio_voice", ("completed", "human"), True),
    ("dialer_call", "voicemail", False),
    ("twilio_voice", ("completed", "machine_end_beep"), False),
    ("dialer_call", "no_answer", False),
    ("twilio_voice", ("busy", None), False),
]


def test_a_conversation_moves_the_next_call_past_the_seven_day_pause(configurable_world):
    world = configurable_world
    world.store_tenant_config(Kind.STRATEGY, TWO_CALLS)
    accounts = []
    for number, (provider, ending, _) in enumerate(ENDINGS):
        account = world.put(us_borrower(f"loan-{number}", Channel.CALL, due_date="2026-11-02"))
        [first] = world.tasks(account)
        assert (first.step, first.not_before) == ("calls.first_call", CALLED_AT)
        if provider == "dialer_call":
            call = world.dispatched(account, Channel.CALL, provider, f"T-{number}")
            webhook = _dialer(world, call, ending)
        else:
            call = world.dispatched(account, Channel.CALL, provider, new_sid("CA"))
            webhook = _twilio(world, call, *ending)
        assert world.post(webhook).status_code == 200
        accounts.append(account)

    world.clock.set(FOLLOW_UP_DAY)
    world.services.planner.plan(world.clock.now())

    for account, (provider, ending, paused) in zip(accounts, ENDINGS, strict=True):
        case = f"{provider} {ending}"
        follow_up = next(t for t in world.tasks(account) if t.step == "calls.follow_up")
        assert follow_up.status == "planned", case
        if paused:
            assert follow_up.not_before == PAUSE_ENDS, case
            assert LOCK in follow_up.reasons, case
        else:
            assert follow_up.not_before == FOLLOW_UP_DAY, case
            assert LOCK not in follow_up.reasons, case


def test_the_engine_blocks_every_call_until_the_pause_ends(world):
    account = world.account_due("loan-1", Channel.CALL)
    call = world.dispatched(account, Channel.CALL, "dialer_call", "T-1")
    assert world.post(_dialer(world, call, "right_party_contact")).status_code == 200

    loaded, pack = world.facts(account), world.pack()
    for at in (CALLED_AT + timedelta(hours=1), PAUSE_ENDS - timedelta(minutes=1)):
        decision = decide(loaded.facts, loaded.history, Channel.CALL, at, pack)
        assert not decision.allowed
        assert LOCK in [r.rule_id for r in decision.reasons]
        assert decision.next_allowed_at == PAUSE_ENDS
    # Texts are not calls: the pause does not stop them.
    text = decide(loaded.facts, loaded.history, Channel.SMS, CALLED_AT + timedelta(hours=1), pack)
    assert LOCK not in [r.rule_id for r in text.reasons]
