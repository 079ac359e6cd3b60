"""Windows across daylight-saving transitions (invariant 1): no contact at a local time that
does not exist, and a repeated hour never widens a window nor opens it twice: a window opens
at the *later* reading of its start and closes at the *earlier* reading of its end."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.compliance import RulePack, decide
from orchestrator.domain import Channel, ContactKind

from .conftest import account, contacts, utc

NEW_YORK = ("America/New_York",)
SYDNEY = ("Australia/Sydney",)


def night_pack(start: str, end: str) -> RulePack:
    return RulePack.model_validate(
        {
            "id": "test-night",
            "jurisdiction": "*",
            "windows": [
                {"id": "test.night_window", "citation": "test", "start": start, "end": end}
            ],
        }
    )


def test_new_york_spring_forward_a_window_inside_the_skipped_hour_never_opens():
    pack = night_pack("02:00", "03:00")
    # 8 March 2026: 02:00 EST jumps to 03:00 EDT at 07:00Z.
    decision = decide(account(zones=NEW_YORK), [], Channel.SMS, utc(2026, 3, 8, 5, 0), pack)
    assert decision.next_allowed_at == utc(2026, 3, 9, 6, 0)  # 02:00 EDT the next night


def test_new_york_spring_forward_a_window_starting_in_the_gap_opens_when_it_ends():
    pack = night_pack("02:30", "04:00")
    decision = decide(account(zones=NEW_YORK), [], Channel.SMS, utc(2026, 3, 8, 5, 0), pack)
    assert decision.next_allowed_at == utc(2026, 3, 8, 7, 0)  # 03:00 EDT
    assert decision.window_closes_at == utc(2026, 3, 8, 8, 0)  # 04:00 EDT


def test_new_york_fall_back_the_repeated_hour_does_not_open_a_window_twice():
    pack = night_pack("01:15", "01:45")
    # 1 November 2026: 01:00–02:00 happens at 05:00Z (EDT) and again at 06:00Z (EST).
    first_reading = decide(account(zones=NEW_YORK), [], Channel.SMS, utc(2026, 11, 1, 5, 20), pack)
    second_reading = decide(account(zones=NEW_YORK), [], Channel.SMS, utc(2026, 11, 1, 6, 20), pack)
    assert not first_reading.allowed
    assert not second_reading.allowed
    assert second_reading.next_allowed_at == utc(2026, 11, 2, 6, 15)  # 01:15 EST next night


def test_new_york_fall_back_the_gained_hour_is_not_convenient_early(library):
    # 1 November 2026 07:30 EST is 12:30Z; had clocks not gone back it would read 08:30.
    pack = library.pack_for("US-NY")
    decision = decide(account(zones=NEW_YORK), [], Channel.CALL, utc(2026, 11, 1, 12, 30), pack)
    assert not decision.allowed
    assert decision.next_allowed_at == utc(2026, 11, 1, 13, 0)
    assert decision.window_closes_at == utc(2026, 11, 2, 2, 0)  # 21:00 EST


def test_new_york_spring_forward_the_window_follows_the_new_offset(library):
    pack = library.pack_for("US-NY")
    decision = decide(account(zones=NEW_YORK), [], Channel.CALL, utc(2026, 3, 8, 11, 30), pack)
    assert decision.next_allowed_at == utc(2026, 3, 8, 12, 0)  # 08:00 EDT


def test_a_local_day_cap_counts_each_contact_of_the_repeated_hour_once(library):
    overlay = library.parse_overlay(
        {
            "id": "acme",
            "extends": "us-reg-f",
            "caps": [
                {
                    "id": "acme.two_touches_a_day",
                    "citation": "policy",
                    "policy": True,
                    "limit": 2,
                    "calendar": "day",
                    "counts": {"channels": ["sms", "email", "push", "call"], "kinds": ["attempt"]},
                }
            ],
        },
        "acme",
    )
    pack = library.pack_for("US-NY", overlay)
    # 01:30 EDT and 01:30 EST on 1 November: two contacts, one local day.
    history = contacts([utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)], Channel.EMAIL)
    decision = decide(
        account(zones=NEW_YORK), history, Channel.EMAIL, utc(2026, 11, 1, 15, 0), pack
    )
    assert decision.rule_ids == ("acme.two_touches_a_day",)
    assert decision.reasons[0].message.startswith("2 contacts")
    assert decision.next_allowed_at == utc(2026, 11, 2, 13, 0)  # 08:00 EST on 2 November
    one = history[:1]
    assert decide(
        account(zones=NEW_YORK), one, Channel.EMAIL, utc(2026, 11, 1, 15, 0), pack
    ).allowed


def test_sydney_dst_ends_in_april_the_repeated_hour_opens_once():
    pack = night_pack("02:30", "04:00")
    # 5 April 2026: 03:00 AEDT goes back to 02:00 AEST at 16:00Z on the 4th.
    first_reading = utc(2026, 4, 4, 15, 30)  # 02:30 AEDT
    decision = decide(account("AU", SYDNEY), [], Channel.SMS, first_reading, pack)
    assert decision.next_allowed_at == utc(2026, 4, 4, 16, 30)  # 02:30 AEST
    assert decision.window_closes_at == utc(2026, 4, 4, 18, 0)  # 04:00 AEST


def test_sydney_dst_starts_in_october_a_window_starting_in_the_gap_opens_at_three():
    pack = night_pack("02:30", "04:00")
    # 4 October 2026: 02:00 AEST jumps to 03:00 AEDT at 16:00Z on the 3rd.
    decision = decide(account("AU", SYDNEY), [], Channel.SMS, utc(2026, 10, 3, 14, 0), pack)
    assert decision.next_allowed_at == utc(2026, 10, 3, 16, 0)
    assert decision.window_closes_at == utc(2026, 10, 3, 17, 0)  # 04:00 AEDT


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2026, 10, 3, 21, 30), utc(2026, 10, 3, 22, 0)),  # Sunday 08:30 AEDT → 09:00 AEDT
        (utc(2026, 4, 3, 21, 30), utc(2026, 4, 6, 21, 30)),  # Easter: Tuesday 07:30 AEST
    ],
)
def test_sydney_weekend_hours_across_the_transitions(library, at, expected):
    pack = library.pack_for("AU-NSW")
    assert decide(account("AU-NSW", SYDNEY), [], Channel.CALL, at, pack).next_allowed_at == expected


def test_rolling_caps_count_instants_not_wall_times(library):
    # Seven calls in the seven days ending on the fall-back night: 168 real hours later the
    # first leaves the window, whatever the wall clock says.
    pack = library.pack_for("US-NY")
    first = utc(2026, 10, 26, 14, 0)
    history = contacts([first + timedelta(hours=h) for h in range(7)], kind=ContactKind.ATTEMPT)
    decision = decide(account(zones=NEW_YORK), history, Channel.CALL, utc(2026, 11, 1, 15, 0), pack)
    assert decision.next_allowed_at == first + timedelta(days=7)
