"""12 CFR 1006.6(b)(1)(i): absent knowledge to the contrary, convenient is after 8:00 a.m.
and before 9:00 p.m. local time at the consumer's location; with conflicting or ambiguous
location information, a time convenient in every location the consumer might be in."""

from __future__ import annotations

from orchestrator.compliance import decide, explain
from orchestrator.compliance.zones import US_ALL
from orchestrator.domain import Channel

from .conftest import account, utc


def test_before_eight_in_new_york_is_refused_until_eight(library):
    pack = library.pack_for("US-NY")
    decision = decide(account(), [], Channel.SMS, utc(2026, 6, 1, 11, 30), pack)  # 07:30 EDT
    assert decision.rule_ids == ("us.reg_f.inconvenient_time",)
    assert decision.next_allowed_at == utc(2026, 6, 1, 12, 0)
    assert "Mon 07:30 in America/New_York is outside 08:00–21:00 local" in explain(decision)


def test_allowed_until_nine_in_the_evening(library):
    pack = library.pack_for("US-NY")
    decision = decide(account(), [], Channel.EMAIL, utc(2026, 6, 1, 20, 0), pack)
    assert decision.allowed
    assert decision.window_closes_at == utc(2026, 6, 2, 1, 0)  # 21:00 EDT


def test_nine_in_the_evening_itself_is_not_before_nine(library):
    pack = library.pack_for("US-NY")
    assert not decide(account(), [], Channel.SMS, utc(2026, 6, 2, 1, 0), pack).allowed


def test_address_and_area_code_in_different_zones_give_the_intersection(library):
    pack = library.pack_for("US-NY")
    both = account(zones=("America/New_York", "America/Los_Angeles"))
    # 08:30 in New York is 05:30 in Los Angeles.
    decision = decide(both, [], Channel.CALL, utc(2026, 6, 1, 12, 30), pack)
    assert not decision.allowed
    assert decision.next_allowed_at == utc(2026, 6, 1, 15, 0)  # 08:00 PDT
    assert decision.window_closes_at == utc(2026, 6, 2, 1, 0)  # 21:00 EDT


def test_unknown_location_in_the_us_is_convenient_from_hawaii_to_eastern(library):
    pack = library.pack_for("US")
    everywhere = account(jurisdiction="US", zones=US_ALL)
    decision = decide(everywhere, [], Channel.SMS, utc(2026, 6, 1, 12, 0), pack)
    # Honolulu (UTC-10) opens at 18:00Z; New York (EDT) closes at 01:00Z.
    assert decision.next_allowed_at == utc(2026, 6, 1, 18, 0)
    assert decision.window_closes_at == utc(2026, 6, 2, 1, 0)


def test_a_stated_preference_narrows_the_window(library):
    from orchestrator.compliance import AccountEvent
    from orchestrator.domain import EventType

    pack = library.pack_for("US-NY")
    evenings = AccountEvent(
        EventType.CONTACT_PREFERENCE,
        utc(2026, 5, 1),
        channel=Channel.CALL,
        details={"not_before": "18:00"},
    )
    decision = decide(account(events=[evenings]), [], Channel.CALL, utc(2026, 6, 1, 14, 0), pack)
    assert decision.rule_ids == ("us.reg_f.consumer_stated_inconvenient_time",)
    assert decision.next_allowed_at == utc(2026, 6, 1, 22, 0)  # 18:00 EDT
    # The preference was about calls only.
    assert decide(account(events=[evenings]), [], Channel.SMS, utc(2026, 6, 1, 14, 0), pack).allowed
