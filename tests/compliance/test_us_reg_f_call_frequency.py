"""12 CFR 1006.14(b)(2)(i)(A): a collector is presumed to harass when it places telephone
calls about a debt more than seven times within seven consecutive days. Calls that do not
connect are excluded (1006.14(b)(3)); reserved calls count as attempts."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.compliance import decide, explain
from orchestrator.domain import Channel, ContactKind

from .conftest import account, contacts, utc

FIRST = utc(2026, 3, 2, 14, 5)  # 09:05 in New York


def seven_calls(kind: ContactKind = ContactKind.ATTEMPT):
    return contacts([FIRST + timedelta(hours=h) for h in range(7)], kind=kind)


def test_the_eighth_call_within_seven_days_is_refused_until_the_first_leaves_the_window(library):
    pack = library.pack_for("US-NY")
    decision = decide(account(), seven_calls(), Channel.CALL, FIRST + timedelta(days=2), pack)
    assert not decision.allowed
    assert decision.rule_ids == ("us.reg_f.call_frequency_7d",)
    assert decision.reasons[0].citation == "12 CFR 1006.14(b)(2)(i)(A)"
    assert decision.next_allowed_at == FIRST + timedelta(days=7)
    assert explain(decision) == (
        "blocked: us.reg_f.call_frequency_7d — 7 call attempts since 2026-03-02T14:05Z "
        "(12 CFR 1006.14(b)(2)(i)(A)); next allowed 2026-03-09T14:05Z"
    )


def test_six_calls_leave_room_for_a_seventh(library):
    pack = library.pack_for("US-NY")
    decision = decide(account(), seven_calls()[:6], Channel.CALL, FIRST + timedelta(days=1), pack)
    assert decision.allowed


def test_calls_that_did_not_connect_are_not_counted(library):
    pack = library.pack_for("US-NY")
    history = seven_calls(ContactKind.NOT_CONNECTED)
    assert decide(account(), history, Channel.CALL, FIRST + timedelta(days=1), pack).allowed


def test_reserved_calls_count_like_attempts(library):
    pack = library.pack_for("US-NY")
    history = seven_calls(ContactKind.RESERVED)
    assert not decide(account(), history, Channel.CALL, FIRST + timedelta(days=1), pack).allowed


def test_voicemails_and_conversations_are_calls_placed(library):
    pack = library.pack_for("US-NY")
    history = seven_calls(ContactKind.LIMITED_CONTENT)
    assert not decide(account(), history, Channel.CALL, FIRST + timedelta(days=1), pack).allowed


def test_texts_do_not_count_toward_the_call_limit(library):
    pack = library.pack_for("US-NY")
    history = contacts([FIRST + timedelta(hours=h) for h in range(7)], channel=Channel.SMS)
    assert decide(account(), history, Channel.CALL, FIRST + timedelta(days=1), pack).allowed


def test_a_call_reserved_later_in_the_week_counts_for_an_earlier_candidate(library):
    # Six calls already placed and one reserved three days later: an extra call now would
    # put eight calls into the seven days that end with the reserved one.
    pack = library.pack_for("US-NY")
    history = contacts([FIRST + timedelta(hours=h) for h in range(6)])
    history += contacts([FIRST + timedelta(days=3)], kind=ContactKind.RESERVED)
    decision = decide(account(), history, Channel.CALL, FIRST + timedelta(days=1), pack)
    assert not decision.allowed
    assert decision.next_allowed_at == FIRST + timedelta(days=7)


def test_the_limit_counts_at_most_what_history_within_lookback_holds(library):
    pack = library.pack_for("US-NY")
    old = contacts([FIRST - timedelta(days=30) + timedelta(minutes=m) for m in range(50)])
    assert pack.lookback == timedelta(days=7)
    assert decide(account(), old, Channel.CALL, FIRST, pack).allowed
