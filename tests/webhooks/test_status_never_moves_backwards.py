"""Reports arrive in any order. An attempt's status only moves forward (sending → queued →
sent → one final status), and the first final status stands: a late ``sent`` never
overwrites ``delivered``, and a contradicting final report (``undelivered`` after
``delivered``) does not rewrite what the borrower was told to have received. What a late
report says about the address (dead, opted out) still applies: it is a fact about the
borrower, not about the order of reports."""

from __future__ import annotations

from orchestrator.domain import Channel
from tests.webhooks.borrowers import EMAIL, NUMBER, OUR_NUMBER
from tests.webhooks.provider_payloads import (
    dialer_outcome,
    dialer_webhook,
    new_sid,
    sendgrid_event,
    sendgrid_message_id,
    sendgrid_webhook,
    twilio_call_status,
    twilio_message_status,
    twilio_webhook,
)


def _sms_status(world, attempt, sid, status, error_code=None):
    form = twilio_message_status(
        world.env["TWILIO_ACCOUNT_SID"],
        sid,
        status,
        to=NUMBER,
        sender=OUR_NUMBER,
        error_code=error_code,
    )
    return world.post(
        twilio_webhook(
            "twilio_sms",
            world.url,
            world.env["TWILIO_AUTH_TOKEN"],
            form,
            query=f"attempt_ref={attempt.ref}",
        )
    )


def _sendgrid(world, attempt, event, **extra):
    now = world.clock.now()
    item = sendgrid_event(
        event,
        email=EMAIL,
        sg_message_id=f"{attempt.provider_message_id}.filterdrecv-1",
        attempt_ref=attempt.ref,
        at=now,
        **extra,
    )
    webhook = sendgrid_webhook(
        world.env["SENDGRID_WEBHOOK_PRIVATE_KEY"], [item], int(now.timestamp())
    )
    return world.post(webhook)


def test_a_late_sent_or_queued_never_overwrites_delivered(world):
    sms = world.dispatched(world.account_due("loan-1", Channel.SMS), Channel.SMS, "twilio_sms", "")
    sid = new_sid("SM")
    for status in ("delivered", "sent", "queued", "sending"):
        assert _sms_status(world, sms, sid, status).status_code == 200
    assert world.attempt(sms.ref).status == "delivered"
    assert world.task(sms.task_id).status == "delivered"
    delivery = [e["kind"] for e in world.timeline("loan-1") if e["kind"].startswith("delivery.")]
    assert delivery == ["delivery.delivered"]  # the late ones are kept as reports only


def test_the_first_final_status_stands(world):
    sms = world.dispatched(world.account_due("loan-1", Channel.SMS), Channel.SMS, "twilio_sms", "")
    sid = new_sid("SM")
    _sms_status(world, sms, sid, "delivered")
    assert _sms_status(world, sms, sid, "undelivered", "30003").status_code == 200
    after = world.attempt(sms.ref)
    assert (after.status, after.error_code) == ("delivered", None)
    assert world.task(sms.task_id).status == "delivered"


def test_a_late_report_of_a_dead_number_still_marks_it(world):
    sms = world.dispatched(world.account_due("loan-1", Channel.SMS), Channel.SMS, "twilio_sms", "")
    sid = new_sid("SM")
    _sms_status(world, sms, sid, "delivered")
    _sms_status(world, sms, sid, "undelivered", "30005")
    assert world.attempt(sms.ref).status == "delivered"
    points = {p["channel"]: p for p in world.account_json("loan-1")["contact_points"]}
    assert points["sms"]["invalid"] is not None
    assert world.task(sms.task_id).status == "delivered"  # no failover for a delivered text


def test_sendgrid_events_in_reverse_order(world):
    email = world.dispatched(
        world.account_due("loan-1", Channel.EMAIL),
        Channel.EMAIL,
        "sendgrid_email",
        sendgrid_message_id(),
    )
    _sendgrid(world, email, "delivered", response="250 OK")
    _sendgrid(world, email, "deferred", response="400 try again later")
    _sendgrid(world, email, "processed")
    assert world.attempt(email.ref).status == "delivered"


def test_a_report_that_overtakes_dispatch_s_own_record_moves_the_attempt(world):
    """A fast provider can report before the worker committed the provider's answer."""
    account = world.account_due("loan-1", Channel.SMS)
    sms = world.dispatched(account, Channel.SMS, "twilio_sms", "", in_flight=True)
    assert (sms.status, sms.contact_kind) == ("sending", "reserved")
    sid = new_sid("SM")
    assert _sms_status(world, sms, sid, "sent").status_code == 200
    after = world.attempt(sms.ref)
    assert (after.status, after.contact_kind, after.provider_message_id) == ("sent", "attempt", sid)
    assert world.task(sms.task_id).status == "sent"


def test_call_progress_after_the_end_changes_nothing(world):
    call = world.dispatched(
        world.account_due("loan-1", Channel.CALL), Channel.CALL, "twilio_voice", new_sid("CA")
    )

    def callback(status, **extra):
        form = twilio_call_status(
            world.env["TWILIO_ACCOUNT_SID"],
            call.provider_message_id,
            status,
            to=NUMBER,
            sender=OUR_NUMBER,
            **extra,
        )
        return world.post(
            twilio_webhook(
                "twilio_voice",
                world.url,
                world.env["TWILIO_AUTH_TOKEN"],
                form,
                query=f"attempt_ref={call.ref}",
            )
        )

    callback("completed", answered_by="human", duration="61", sequence=3)
    callback("in-progress", answered_by="human", sequence=2)
    callback("ringing", sequence=1)
    callback("initiated", sequence=0)
    after = world.attempt(call.ref)
    assert (after.status, after.call_outcome, after.contact_kind) == (
        "delivered",
        "right_party_contact",
        "conversation",
    )


def test_a_second_dialer_outcome_never_weakens_a_conversation(world):
    call = world.dispatched(
        world.account_due("loan-1", Channel.CALL), Channel.CALL, "dialer_call", "T-1"
    )

    def report(outcome):
        now = world.clock.now()
        document = dialer_outcome(outcome, task_id="T-1", attempt_ref=call.ref, at=now)
        return world.post(
            dialer_webhook(world.env["DIALER_SECRET"], document, int(now.timestamp()))
        )

    report("right_party_contact")
    for weaker in ("no_answer", "voicemail", "not_connected"):
        assert report(weaker).status_code == 200
        after = world.attempt(call.ref)
        assert (after.call_outcome, after.contact_kind) == ("right_party_contact", "conversation")
    # What the conversation led to, logged afterwards, is kept with its event.
    report("promise_to_pay")
    assert world.attempt(call.ref).call_outcome == "promise_to_pay"
    assert [e["type"] for e in world.account_json("loan-1")["events"]] == ["promise_to_pay"]
