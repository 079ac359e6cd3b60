"""940 CMR 7.04(1)(f) and 209 CMR 18.16(1)(d): no more than two communications initiated by
telephone, text message or recorded audio message in each seven-day period, for each debt.
Calls and texts count together; the Massachusetts overlay is stricter than Regulation F."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.compliance import decide
from orchestrator.domain import Channel, ContactKind

from .conftest import account, contacts, utc

MONDAY = utc(2026, 3, 2, 15, 0)  # 10:00 in Boston


def test_a_call_and_a_text_use_up_the_week(library):
    pack = library.pack_for("US-MA")
    history = contacts([MONDAY], Channel.CALL) + contacts(
        [MONDAY + timedelta(hours=1)], Channel.SMS
    )
    decision = decide(account("US-MA"), history, Channel.SMS, MONDAY + timedelta(days=1), pack)
    assert decision.rule_ids == ("us.ma.calls_and_texts_7d",)
    assert "940 CMR 7.04(1)(f)" in decision.reasons[0].citation
    assert decision.next_allowed_at == MONDAY + timedelta(days=7)


def test_email_is_not_counted_nor_limited_by_the_massachusetts_rule(library):
    pack = library.pack_for("US-MA")
    history = contacts([MONDAY, MONDAY + timedelta(hours=1)], Channel.CALL)
    assert decide(
        account("US-MA"), history, Channel.EMAIL, MONDAY + timedelta(days=1), pack
    ).allowed


def test_unanswered_calls_count_in_massachusetts(library):
    pack = library.pack_for("US-MA")
    history = contacts([MONDAY, MONDAY + timedelta(hours=1)], kind=ContactKind.NOT_CONNECTED)
    assert not decide(
        account("US-MA"), history, Channel.CALL, MONDAY + timedelta(days=1), pack
    ).allowed


def test_federal_rules_still_apply_in_massachusetts(library):
    pack = library.pack_for("US-MA")
    assert "us.reg_f.inconvenient_time" in pack.rule_ids()
    assert "us.reg_f.call_frequency_7d" in pack.rule_ids()


def test_new_york_accounts_are_not_held_to_the_massachusetts_limit(library):
    pack = library.pack_for("US-NY")
    history = contacts([MONDAY, MONDAY + timedelta(hours=1)], Channel.CALL)
    assert decide(account("US-NY"), history, Channel.CALL, MONDAY + timedelta(days=1), pack).allowed
