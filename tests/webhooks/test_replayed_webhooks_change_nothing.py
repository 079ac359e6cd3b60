"""Providers retry, and an attacker may replay what they captured: the same webhook a second
time is accepted (so the provider stops retrying) and changes nothing — no row, no status, no
ledger line, no second opt-out confirmation."""

from __future__ import annotations

import sqlalchemy as sa

from orchestrator.domain import Channel
from orchestrator.store.tables import Attempt, Task
from tests.factories import table_counts
from tests.webhooks.borrowers import CN_NUMBER, EMAIL, NUMBER, OUR_NUMBER, PUSH_TOKEN
from tests.webhooks.provider_payloads import (
    aliyun_biz_id,
    aliyun_report,
    aliyun_uplink,
    aliyun_webhook,
    dialer_outcome,
    dialer_webhook,
    jpush_receipt,
    jpush_webhook,
    new_sid,
    sendgrid_event,
    sendgrid_message_id,
    sendgrid_webhook,
    twilio_call_status,
    twilio_inbound,
    twilio_message_status,
    twilio_webhook,
)


def _state(world):
    """Everything a webhook could change."""
    with world.store.snapshot() as conn:
        attempts = [tuple(r) for r in conn.execute(sa.select(Attempt).order_by(Attempt.id))]
        tasks = [tuple(r) for r in conn.execute(sa.select(Task).order_by(Task.id))]
    return table_counts(world.store), attempts, tasks


def _reports(world):
    """Each provider's report, on an attempt of its own (a promise, an unsubscribe, a dead
    number: the reports that change the most)."""
    env, now = world.env, world.clock.now()
    stamp = int(now.timestamp())

    sms = world.dispatched(
        world.account_due("sms", Channel.SMS), Channel.SMS, "twilio_sms", new_sid("SM")
    )
    form = twilio_message_status(
        env["TWILIO_ACCOUNT_SID"],
        sms.provider_message_id,
        "undelivered",
        to=NUMBER,
        sender=OUR_NUMBER,
        error_code="30005",
    )
    yield (
        "twilio_sms",
        twilio_webhook(
            "twilio_sms", world.url, env["TWILIO_AUTH_TOKEN"], form, query=f"attempt_ref={sms.ref}"
        ),
    )

    call = world.dispatched(
        world.account_due("voice", Channel.CALL), Channel.CALL, "twilio_voice", new_sid("CA")
    )
    form = twilio_call_status(
        env["TWILIO_ACCOUNT_SID"],
        call.provider_message_id,
        "completed",
        to=NUMBER,
        sender=OUR_NUMBER,
        answered_by="human",
        duration="30",
    )
    yield (
        "twilio_voice",
        twilio_webhook(
            "twilio_voice",
            world.url,
            env["TWILIO_AUTH_TOKEN"],
            form,
            query=f"attempt_ref={call.ref}",
        ),
    )

    email = world.dispatched(
        world.account_due("email", Channel.EMAIL),
        Channel.EMAIL,
        "sendgrid_email",
        sendgrid_message_id(),
    )
    events = [
        sendgrid_event(
            name,
            email=EMAIL,
            sg_message_id=f"{email.provider_message_id}.filterdrecv-1",
            attempt_ref=email.ref,
            at=now,
        )
        for name in ("processed", "delivered", "unsubscribe")
    ]
    yield "sendgrid_email", sendgrid_webhook(env["SENDGRID_WEBHOOK_PRIVATE_KEY"], events, stamp)

    text = world.dispatched(world.account_cn("aliyun"), Channel.SMS, "aliyun_sms", aliyun_biz_id())
    item = aliyun_report(
        phone=CN_NUMBER.removeprefix("+86"),
        biz_id=text.provider_message_id,
        out_id=text.ref,
        success=False,
        code="MOBILE_NOT_ON_SERVICE",
        at=now,
    )
    yield "aliyun_sms", aliyun_webhook(env["ALIYUN_CALLBACK_TOKEN"], [item])

    agent = world.dispatched(
        world.account_due("dialer", Channel.CALL), Channel.CALL, "dialer_call", "T-1"
    )
    promise = {"date": "2026-11-09", "amount": "300.00", "currency": "USD"}
    document = dialer_outcome(
        "promise_to_pay", task_id="T-1", attempt_ref=agent.ref, at=now, promise=promise
    )
    yield "dialer_call", dialer_webhook(env["DIALER_SECRET"], document, stamp)

    push = world.dispatched(
        world.account_due("push", Channel.PUSH), Channel.PUSH, "jpush_push", "54043196134235"
    )
    receipt = jpush_receipt(
        "delivered",
        msg_id="54043196134235",
        registration_id=PUSH_TOKEN,
        attempt_ref=push.ref,
        at=now,
    )
    yield "jpush_push", jpush_webhook(env["JPUSH_APP_KEY"], env["JPUSH_MASTER_SECRET"], [receipt])


def test_every_providers_report_twice_changes_nothing_the_second_time(world):
    for provider, webhook in _reports(world):
        first = world.post(webhook)
        assert first.status_code == 200, provider
        after_first = _state(world)
        second = world.post(webhook)
        assert second.status_code == 200, provider
        assert second.content == first.content, provider
        assert _state(world) == after_first, f"{provider}: the replay changed something"


def test_a_replayed_stop_is_one_opt_out_and_one_confirmation(world):
    world.account_due("loan-1", Channel.SMS)
    cn = world.account_cn("cn-1")
    env, now = world.env, world.clock.now()
    reply = twilio_inbound(env["TWILIO_ACCOUNT_SID"], sender=NUMBER, to=OUR_NUMBER, body="退订")
    twilio = twilio_webhook("twilio_sms", world.url, env["TWILIO_AUTH_TOKEN"], reply)
    uplink = aliyun_uplink(phone=CN_NUMBER.removeprefix("+86"), content="退订", at=now)
    aliyun = aliyun_webhook(env["ALIYUN_CALLBACK_TOKEN"], [uplink])

    first = world.post(twilio)
    assert "<Message>" in first.text  # Twilio does not answer 退订 itself: we confirm
    world.post(aliyun)
    after_first = _state(world)

    second = world.post(twilio)
    assert second.status_code == 200
    assert "<Message>" not in second.text  # the borrower was already told once
    assert world.post(aliyun).status_code == 200
    assert _state(world) == after_first
    confirmations = [t for t in world.tasks(cn) if t.step == "system.opt_out_confirmation"]
    assert len(confirmations) == 1
