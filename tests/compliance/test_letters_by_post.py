"""Letters (a mail-like channel): posted on a day, not timed to the minute, so quiet-hours
windows do not govern them; every hold does; Australia counts a letter as a contact, while
Regulation F's call cap counts calls only; a letter to an address the post returned is
refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.compliance import AccountEvent, ContactPointFacts, decide
from orchestrator.domain import Channel, ChannelKind, EventType, Purpose

from .conftest import account, contacts, utc

NEW_YORK_LATE = utc(2026, 6, 2, 3, 30)  # Monday 23:30 EDT
SYDNEY = ("Australia/Sydney",)


def test_a_letter_is_mail_like() -> None:
    assert Channel.LETTER.kind is ChannelKind.MAIL
    assert not Channel.LETTER.is_electronic


def test_quiet_hours_do_not_govern_a_letter(library) -> None:
    pack = library.pack_for("US-NY")
    assert decide(account(), [], Channel.LETTER, NEW_YORK_LATE, pack).allowed
    refused = decide(account(), [], Channel.SMS, NEW_YORK_LATE, pack)
    assert refused.rule_ids == ("us.reg_f.inconvenient_time",)


def test_chinas_collection_hours_do_not_govern_a_letter_either(library) -> None:
    pack = library.pack_for("CN-GD")
    night = utc(2026, 6, 1, 15, 0)  # 23:00 in Beijing
    china = account("CN-GD", ("Asia/Shanghai",))
    assert decide(china, [], Channel.LETTER, night, pack).allowed
    assert not decide(china, [], Channel.SMS, night, pack).allowed


@pytest.mark.parametrize(
    ("event", "rule"),
    [
        (EventType.CEASE_COMMUNICATION, "us.reg_f.cease_communication"),
        (EventType.DISPUTE, "us.reg_f.dispute_pending_verification"),
        (EventType.BANKRUPTCY, "us.bankruptcy.automatic_stay"),
        (EventType.ATTORNEY_REPRESENTATION, "us.reg_f.attorney_represented"),
        (EventType.DECEASED, "us.hold.deceased"),
    ],
)
def test_every_hold_stops_a_letter(library, event, rule) -> None:
    pack = library.pack_for("US-NY")
    held = account(events=[AccountEvent(event, utc(2026, 6, 1, 12, 0))])
    decision = decide(held, [], Channel.LETTER, utc(2026, 6, 1, 15, 0), pack)
    assert not decision.allowed
    assert rule in decision.rule_ids


def test_a_promise_to_pay_pauses_letters_until_its_date(library) -> None:
    pack = library.pack_for("US-NY")
    promise = AccountEvent(
        EventType.PROMISE_TO_PAY, utc(2026, 6, 1, 12, 0), until=utc(2026, 6, 5, 4, 0)
    )
    decision = decide(account(events=[promise]), [], Channel.LETTER, utc(2026, 6, 2, 15), pack)
    assert decision.rule_ids == ("us.hold.promise_to_pay",)


def test_an_opt_out_of_letters_stops_letters_only(library) -> None:
    pack = library.pack_for("US-NY")
    out = AccountEvent(EventType.OPT_OUT, utc(2026, 6, 1, 12, 0), channel=Channel.LETTER)
    at = utc(2026, 6, 1, 15, 0)
    assert not decide(account(events=[out]), [], Channel.LETTER, at, pack).allowed
    assert decide(account(events=[out]), [], Channel.EMAIL, at, pack).allowed


def test_the_dispute_verification_may_still_go_by_post(library) -> None:
    pack = library.pack_for("US-NY")
    disputed = account(events=[AccountEvent(EventType.DISPUTE, utc(2026, 6, 1, 12, 0))])
    at = utc(2026, 6, 1, 15, 0)
    verification = decide(
        disputed, [], Channel.LETTER, at, pack, purpose=Purpose.DISPUTE_VERIFICATION
    )
    assert verification.allowed


def test_australia_counts_a_letter_as_a_contact(library) -> None:
    pack = library.pack_for("AU-NSW")
    monday = utc(2026, 3, 2, 0, 0)  # Monday 11:00 AEDT
    three_texts = contacts([monday - timedelta(days=d) for d in (1, 2, 3)], Channel.SMS)
    refused = decide(account("AU-NSW", SYDNEY), three_texts, Channel.LETTER, monday, pack)
    assert refused.rule_ids == ("au.accc_asic.contacts_week",)
    three_letters = contacts([monday - timedelta(days=d) for d in (1, 2, 3)], Channel.LETTER)
    refused = decide(account("AU-NSW", SYDNEY), three_letters, Channel.SMS, monday, pack)
    assert refused.rule_ids == ("au.accc_asic.contacts_week",)


def test_reg_f_call_cap_counts_neither_letters_nor_against_them(library) -> None:
    pack = library.pack_for("US-NY")
    at = utc(2026, 6, 3, 15, 0)  # Wednesday 11:00 EDT
    seven_calls = contacts([at - timedelta(hours=6 * n) for n in range(1, 8)], Channel.CALL)
    assert decide(account(), seven_calls, Channel.LETTER, at, pack).allowed
    assert not decide(account(), seven_calls, Channel.CALL, at, pack).allowed
    seven_letters = contacts([at - timedelta(hours=6 * n) for n in range(1, 8)], Channel.LETTER)
    assert decide(account(), seven_letters, Channel.CALL, at, pack).allowed


def test_a_letter_to_a_returned_address_is_refused(library) -> None:
    pack = library.pack_for("US-NY")
    returned = ContactPointFacts(Channel.LETTER, '{"line1":"1 Main"}', invalid=True)
    decision = decide(
        account(), [], Channel.LETTER, utc(2026, 6, 1, 15, 0), pack, contact_point=returned
    )
    assert decision.rule_ids == ("us.contact_point.invalid",)
    assert decision.next_allowed_at is None
