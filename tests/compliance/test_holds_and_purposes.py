"""Holds stop everything at once (invariant 3); each hold lets through exactly the notices
the law requires, and windows and caps still apply to those."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from orchestrator.compliance import AccountEvent, HoldKind, active_holds, decide, explain
from orchestrator.domain import Channel, EventType, Purpose

from .conftest import account, contacts, utc

NOON = utc(2026, 6, 10, 16, 0)  # 12:00 EDT


def event(kind: EventType, at, **kw) -> AccountEvent:
    return AccountEvent(kind, at, **kw)


def test_cease_communication_blocks_everything_but_its_confirmation(library):
    pack = library.pack_for("US-NY")
    acct = account(events=[event(EventType.CEASE_COMMUNICATION, utc(2026, 6, 1))])
    decision = decide(acct, [], Channel.EMAIL, NOON, pack)
    assert decision.rule_ids == ("us.reg_f.cease_communication",)
    assert decision.next_allowed_at is None
    assert explain(decision).endswith("no next allowed time (a block without end)")
    assert decide(acct, [], Channel.EMAIL, NOON, pack, purpose=Purpose.CEASE_CONFIRMATION).allowed


def test_a_required_notice_still_respects_quiet_hours(library):
    pack = library.pack_for("US-NY")
    acct = account(events=[event(EventType.CEASE_COMMUNICATION, utc(2026, 6, 1))])
    night = utc(2026, 6, 10, 3, 0)  # 23:00 EDT
    decision = decide(acct, [], Channel.EMAIL, night, pack, purpose=Purpose.CEASE_CONFIRMATION)
    assert decision.rule_ids == ("us.reg_f.inconvenient_time",)


def test_a_required_notice_still_respects_caps(library):
    pack = library.pack_for("US-MA")
    acct = account("US-MA", events=[event(EventType.DISPUTE, utc(2026, 6, 1))])
    history = contacts([NOON - timedelta(hours=2), NOON - timedelta(hours=1)], Channel.SMS)
    decision = decide(acct, history, Channel.SMS, NOON, pack, purpose=Purpose.DISPUTE_VERIFICATION)
    assert decision.rule_ids == ("us.ma.calls_and_texts_7d",)


def test_a_dispute_holds_until_resolved(library):
    pack = library.pack_for("US-NY")
    resolved = utc(2026, 6, 12, 14, 0)
    acct = account(
        events=[
            event(EventType.DISPUTE, utc(2026, 6, 1)),
            event(EventType.DISPUTE_RESOLVED, resolved),
        ]
    )
    during = decide(acct, [], Channel.SMS, NOON, pack)
    assert during.rule_ids == ("us.reg_f.dispute_pending_verification",)
    assert during.next_allowed_at == resolved
    assert decide(acct, [], Channel.SMS, NOON, pack, purpose=Purpose.DISPUTE_VERIFICATION).allowed


def test_an_opt_out_stops_only_its_channel_until_an_opt_in(library):
    pack = library.pack_for("US-NY")
    back = utc(2026, 6, 20, 15, 0)
    acct = account(
        events=[
            event(EventType.OPT_OUT, utc(2026, 6, 1), channel=Channel.SMS),
            event(EventType.OPT_IN, back, channel=Channel.SMS),
        ]
    )
    assert decide(acct, [], Channel.SMS, NOON, pack).rule_ids == ("us.reg_f.electronic_opt_out",)
    assert decide(acct, [], Channel.SMS, NOON, pack).next_allowed_at == back
    assert decide(acct, [], Channel.EMAIL, NOON, pack).allowed
    confirm = decide(acct, [], Channel.SMS, NOON, pack, purpose=Purpose.OPT_OUT_CONFIRMATION)
    assert confirm.allowed


def test_an_opt_out_confirmation_cannot_pass_a_cease_hold(library):
    pack = library.pack_for("US-NY")
    acct = account(
        events=[
            event(EventType.OPT_OUT, utc(2026, 6, 1), channel=Channel.SMS),
            event(EventType.CEASE_COMMUNICATION, utc(2026, 6, 2)),
        ]
    )
    decision = decide(acct, [], Channel.SMS, NOON, pack, purpose=Purpose.OPT_OUT_CONFIRMATION)
    assert decision.rule_ids == ("us.reg_f.cease_communication",)


def test_paid_in_full_by_payments_that_add_up(library):
    pack = library.pack_for("US-NY")
    acct = account(
        amount_due="500.00",
        events=[
            event(EventType.PAYMENT, utc(2026, 6, 1), amount=Decimal("200.00")),
            event(EventType.PAYMENT, utc(2026, 6, 5), amount=Decimal("300.00")),
        ],
    )
    assert not active_holds(acct, utc(2026, 6, 2), pack)
    holds = active_holds(acct, utc(2026, 6, 6), pack)
    assert [h.kind for h in holds] == [HoldKind.PAID_IN_FULL]
    assert decide(acct, [], Channel.CALL, NOON, pack).next_allowed_at is None


def test_a_payment_without_amount_is_paid_in_full(library):
    acct = account(events=[event(EventType.PAYMENT, utc(2026, 6, 1))])
    assert [h.kind for h in active_holds(acct, NOON)] == [HoldKind.PAID_IN_FULL]


def test_a_promise_to_pay_pauses_until_its_date_plus_grace_then_resumes_when_broken(library):
    pack = library.pack_for("US-NY")  # grace 2 days
    promised_by = utc(2026, 6, 15, 4, 0)
    acct = account(
        events=[
            event(
                EventType.PROMISE_TO_PAY, utc(2026, 6, 5), until=promised_by, amount=Decimal("100")
            )
        ]
    )
    decision = decide(acct, [], Channel.SMS, NOON, pack)
    assert decision.rule_ids == ("us.hold.promise_to_pay",)
    assert decision.reasons[0].until == promised_by + timedelta(days=2)
    # 17 June 04:00Z is midnight in New York: the next allowed time is 08:00 EDT that day.
    assert decision.next_allowed_at == utc(2026, 6, 17, 12, 0)
    (hold,) = active_holds(acct, NOON, pack)
    assert hold.kind is HoldKind.PROMISE_TO_PAY
    assert hold.until == promised_by + timedelta(days=2)


def test_bankruptcy_attorney_and_deceased_are_permanent(library):
    pack = library.pack_for("US-NY")
    for kind, rule in [
        (EventType.BANKRUPTCY, "us.bankruptcy.automatic_stay"),
        (EventType.ATTORNEY_REPRESENTATION, "us.reg_f.attorney_represented"),
        (EventType.DECEASED, "us.hold.deceased"),
    ]:
        acct = account(events=[event(kind, utc(2026, 6, 1))])
        decision = decide(acct, [], Channel.EMAIL, NOON, pack, purpose=Purpose.DISPUTE_VERIFICATION)
        assert decision.rule_ids == (rule,)
        assert decision.next_allowed_at is None


def test_a_hold_that_arrives_later_cuts_the_send_window(library):
    pack = library.pack_for("US-NY")
    stop = utc(2026, 6, 10, 18, 0)
    acct = account(events=[event(EventType.CEASE_COMMUNICATION, stop)])
    decision = decide(acct, [], Channel.SMS, NOON, pack)
    assert decision.allowed
    assert decision.window_closes_at == stop


def test_holds_without_a_pack_use_generic_ids():
    acct = account(events=[event(EventType.CEASE_COMMUNICATION, utc(2026, 6, 1))])
    (hold,) = active_holds(acct, NOON)
    assert hold.rule_id == "hold.cease_communication"
    assert Purpose.CEASE_CONFIRMATION in hold.allows
