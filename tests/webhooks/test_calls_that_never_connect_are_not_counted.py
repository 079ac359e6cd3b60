"""What a call outcome counts as under Regulation F's seven-calls-in-seven-days presumption
(12 CFR 1006.14(b)(2)(i)(A), rule ``us.reg_f.call_frequency_7d``): a voicemail is a call
placed (a limited-content message was left), so seven of them stop an eighth call; a busy or
failed call never connected to the dialed number and does not count (1006.14(b)(3)), so an
eighth call may follow seven of them.

The lender's strategy here places seven calls on the due date and an eighth the next day."""

from __future__ import annotations

from datetime import UTC, datetime

from orchestrator.configuration.source import Kind
from orchestrator.domain import Channel, ContactKind
from tests.webhooks.borrowers import NUMBER, OUR_NUMBER, us_borrower
from tests.webhooks.provider_payloads import (
    dialer_outcome,
    dialer_webhook,
    new_sid,
    twilio_call_status,
    twilio_webhook,
)

CAP = "us.reg_f.call_frequency_7d"
EIGHT_CALLS = """
name: eight_calls
description: Seven calls on the due date, an eighth the day after.
catch_up_days: 0
segments:
  - id: calls
    when:
      dpd: {min: -5}
    steps:
"""
EIGHT_CALLS += "".join(
    f'      - {{id: call_{n}, day: 0, channel: call, template: reminder_call, at: "{9 + n}:00"}}\n'
    for n in range(1, 8)
)
EIGHT_CALLS += '      - {id: call_8, day: 1, channel: call, template: reminder_call, at: "10:00"}\n'
NEXT_DAY = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)  # 10:00 in New York


def _busy_or_failed(world, number, account):
    call = world.dispatched(account, Channel.CALL, "twilio_voice", new_sid("CA"))
    form = twilio_call_status(
        world.env["TWILIO_ACCOUNT_SID"],
        call.provider_message_id,
        "busy" if number % 2 else "failed",
        to=NUMBER,
        sender=OUR_NUMBER,
        duration="0",
    )
    token = world.env["TWILIO_AUTH_TOKEN"]
    query = f"attempt_ref={call.ref}"
    assert world.post(
        twilio_webhook("twilio_voice", world.url, token, form, query=query)
    ).is_success
    return call


def _voicemail(world, number, account):
    call = world.dispatched(account, Channel.CALL, "dialer_call", f"T-{number}")
    now = world.clock.now()
    document = dialer_outcome("voicemail", task_id=f"T-{number}", attempt_ref=call.ref, at=now)
    webhook = dialer_webhook(world.env["DIALER_SECRET"], document, int(now.timestamp()))
    assert world.post(webhook).is_success
    return call


def test_seven_voicemails_stop_an_eighth_call_seven_busy_lines_do_not(configurable_world):
    world = configurable_world
    world.store_tenant_config(Kind.STRATEGY, EIGHT_CALLS)
    cases = {
        "voicemail": (_voicemail, ContactKind.LIMITED_CONTENT),
        "busy": (_busy_or_failed, ContactKind.NOT_CONNECTED),
    }
    accounts = {}
    for name, (call_ends, kind) in cases.items():
        account = world.put(us_borrower(f"loan-{name}", Channel.CALL, due_date="2026-11-02"))
        assert len([t for t in world.tasks(account) if t.status == "planned"]) == 7
        for number in range(7):
            call = call_ends(world, number, account)
            assert world.attempt(call.ref).contact_kind == kind.value
        accounts[name] = account

    world.clock.set(NEXT_DAY)
    world.services.planner.plan(world.clock.now())

    eighth = {
        name: next(t for t in world.tasks(account) if t.step == "calls.call_8")
        for name, account in accounts.items()
    }
    assert eighth["busy"].status == "planned"
    assert eighth["busy"].not_before == NEXT_DAY
    # Seven calls placed on 2 November: the eighth may not be placed before the 9th, past
    # the step's last day.
    assert eighth["voicemail"].status == "blocked"
    assert CAP in eighth["voicemail"].reasons
