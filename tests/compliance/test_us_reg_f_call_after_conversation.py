"""12 CFR 1006.14(b)(2)(i)(B): no call within seven consecutive days after a telephone
conversation about the debt (the conversation's day is day one). The pack reads it as a
rolling 168 hours from the conversation, never earlier than the calendar reading."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.compliance import decide
from orchestrator.domain import Channel, ContactKind

from .conftest import account, contacts, utc

TALK = utc(2026, 3, 2, 23, 30)  # 18:30 in New York, Monday


def test_no_call_for_seven_days_after_a_conversation(library):
    pack = library.pack_for("US-NY")
    history = contacts([TALK], kind=ContactKind.CONVERSATION)
    decision = decide(account(), history, Channel.CALL, TALK + timedelta(days=3), pack)
    assert decision.rule_ids == ("us.reg_f.call_after_conversation_7d",)
    assert decision.reasons[0].citation == "12 CFR 1006.14(b)(2)(i)(B)"
    assert decision.next_allowed_at == TALK + timedelta(days=7)


def test_the_lock_ends_no_earlier_than_the_seventh_calendar_day(library):
    pack = library.pack_for("US-NY")
    history = contacts([TALK], kind=ContactKind.CONVERSATION)
    # Monday 2 March is day one; Sunday 8 March is day seven: still locked at its evening.
    sunday_evening = utc(2026, 3, 8, 23, 0)  # 19:00 EDT
    assert not decide(account(), history, Channel.CALL, sunday_evening, pack).allowed


def test_a_text_is_not_a_call(library):
    pack = library.pack_for("US-NY")
    history = contacts([TALK], kind=ContactKind.CONVERSATION)
    assert decide(account(), history, Channel.SMS, TALK + timedelta(hours=15), pack).allowed


def test_an_unanswered_call_starts_no_lock(library):
    pack = library.pack_for("US-NY")
    history = contacts([TALK], kind=ContactKind.ATTEMPT)
    assert decide(account(), history, Channel.CALL, TALK + timedelta(hours=15), pack).allowed
