"""A report about an attempt whose send was never recorded (the worker died after the
provider accepted it; or the reconciler, unable to ask the provider, recorded the outcome as
unknown) proves the provider had the message: the ledger gets its ``attempt.sent`` entry
then, exactly once, however many reports follow."""

from __future__ import annotations

import sqlalchemy as sa

from orchestrator.domain import Channel
from orchestrator.store.tables import Attempt, LedgerEntry
from tests.webhooks.borrowers import NUMBER, OUR_NUMBER
from tests.webhooks.provider_payloads import (
    dialer_outcome,
    dialer_webhook,
    new_sid,
    twilio_message_status,
    twilio_webhook,
)


def _sent_entries(world, attempt):
    with world.store.snapshot() as conn:
        return (
            conn.execute(
                sa.select(LedgerEntry.at).where(
                    LedgerEntry.attempt_id == attempt.id, LedgerEntry.kind == "attempt.sent"
                )
            )
            .scalars()
            .all()
        )


def _status(world, attempt, status, sid):
    env = world.env
    form = twilio_message_status(
        env["TWILIO_ACCOUNT_SID"], sid, status, to=NUMBER, sender=OUR_NUMBER
    )
    webhook = twilio_webhook(
        "twilio_sms", world.url, env["TWILIO_AUTH_TOKEN"], form, query=f"attempt_ref={attempt.ref}"
    )
    assert world.post(webhook).status_code == 200


def test_a_text_in_flight_when_its_sender_died(world):
    account = world.account_due("loan-1", Channel.SMS)
    sms = world.dispatched(account, Channel.SMS, "twilio_sms", "", in_flight=True)
    sid = new_sid("SM")
    assert _sent_entries(world, sms) == []

    _status(world, sms, "sent", sid)
    _status(world, sms, "delivered", sid)
    _status(world, sms, "delivered", sid)  # a replay

    assert world.attempt(sms.ref).status == "delivered"
    assert _sent_entries(world, sms) == [sms.at]
    assert any(e["kind"] == "attempt.sent" for e in world.timeline("loan-1"))


def test_a_call_in_flight_when_its_sender_died(world):
    account = world.account_due("loan-1", Channel.CALL)
    call = world.dispatched(account, Channel.CALL, "dialer_call", "", in_flight=True)
    now = world.clock.now()
    document = dialer_outcome("voicemail", task_id="T-1", attempt_ref=call.ref, at=now)
    webhook = dialer_webhook(world.env["DIALER_SECRET"], document, int(now.timestamp()))
    assert world.post(webhook).status_code == 200

    assert world.attempt(call.ref).call_outcome == "voicemail"
    assert _sent_entries(world, call) == [call.at]


def test_a_send_the_reconciler_recorded_as_unknown(world):
    account = world.account_due("loan-1", Channel.SMS)
    sms = world.dispatched(account, Channel.SMS, "twilio_sms", "", in_flight=True)
    with world.store.transaction() as conn:
        conn.execute(sa.update(Attempt).where(Attempt.id == sms.id).values(status="unknown"))

    _status(world, sms, "delivered", new_sid("SM"))

    assert world.attempt(sms.ref).status == "delivered"
    assert _sent_entries(world, sms) == [sms.at]


def test_a_send_already_recorded_gets_no_second_entry(world):
    account = world.account_due("loan-1", Channel.SMS)
    sid = new_sid("SM")
    sms = world.dispatched(account, Channel.SMS, "twilio_sms", sid)
    _status(world, sms, "delivered", sid)
    # world.dispatched records the send as dispatch does, without its ledger entry: a
    # report about a recorded send adds none.
    assert _sent_entries(world, sms) == []
