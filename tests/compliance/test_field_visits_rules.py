"""Field visits (in person): daytime only in the borrower's zone, never during a hold, at most
two in 30 days whatever their outcome; per pack, with the law's hours still applying."""

from __future__ import annotations

import pytest

from orchestrator.compliance import AccountEvent, decide
from orchestrator.domain import Channel, ChannelKind, ContactKind, EventType

from .conftest import account, contacts, utc


def test_a_visit_is_in_person() -> None:
    assert Channel.VISIT.kind is ChannelKind.IN_PERSON
    assert not Channel.VISIT.is_electronic


@pytest.mark.parametrize(
    ("jurisdiction", "zones", "evening", "rule"),
    [
        # 20:30 local: inside the law's hours (8-21 in NY; 8-21 Beijing), after the visit window.
        ("US-NY", ("America/New_York",), utc(2026, 6, 2, 0, 30), "us.policy.visit_daytime"),
        ("CN-GD", ("Asia/Shanghai",), utc(2026, 6, 1, 12, 30), "cn.policy.visit_daytime"),
        ("GB", ("Europe/London",), utc(2026, 6, 1, 19, 30), "uk.policy.visit_daytime"),
        ("AU-NSW", ("Australia/Sydney",), utc(2026, 6, 1, 10, 30), "au.policy.visit_daytime"),
    ],
)
def test_a_visit_is_daytime_only_in_the_borrowers_zone(
    library, jurisdiction, zones, evening, rule
) -> None:
    pack = library.pack_for(jurisdiction)
    borrower = account(jurisdiction, zones)
    refused = decide(borrower, [], Channel.VISIT, evening, pack)
    assert not refused.allowed
    assert rule in refused.rule_ids
    # A text at the same moment is allowed where the law's hours still run (not AU: 20:30 is
    # inside its hours too, but it is not a weekday-only question here).
    if jurisdiction in ("US-NY", "CN-GD"):
        assert decide(borrower, [], Channel.SMS, evening, pack).allowed
    assert refused.next_allowed_at is not None


def test_the_law_s_hours_still_govern_a_visit(library) -> None:
    pack = library.pack_for("US-NY")
    late = decide(account(), [], Channel.VISIT, utc(2026, 6, 2, 3, 30), pack)  # 23:30 EDT
    assert "us.reg_f.inconvenient_time" in late.rule_ids
    assert decide(account(), [], Channel.VISIT, utc(2026, 6, 1, 15, 0), pack).allowed


@pytest.mark.parametrize(
    "event", [EventType.CEASE_COMMUNICATION, EventType.DISPUTE, EventType.BANKRUPTCY]
)
def test_no_visit_during_a_hold(library, event) -> None:
    pack = library.pack_for("US-NY")
    held = account(events=[AccountEvent(event, utc(2026, 6, 1, 12, 0))])
    assert not decide(held, [], Channel.VISIT, utc(2026, 6, 1, 15, 0), pack).allowed


@pytest.mark.parametrize(
    ("jurisdiction", "zones", "rule"),
    [
        ("CN-GD", ("Asia/Shanghai",), "cn.policy.visits_30d"),
        ("ZZ", ("UTC",), "default.policy.visits_30d"),
    ],
)
def test_at_most_two_visits_in_30_days_even_when_nobody_opened(
    library, jurisdiction, zones, rule
) -> None:
    pack = library.pack_for(jurisdiction)
    borrower = account(jurisdiction, zones)
    at = utc(2026, 6, 10, 4, 0) if jurisdiction == "CN-GD" else utc(2026, 6, 10, 14, 0)
    one = contacts([utc(2026, 5, 20, 14, 0)], Channel.VISIT, ContactKind.NOT_CONNECTED)
    two = one + contacts([utc(2026, 6, 1, 14, 0)], Channel.VISIT, ContactKind.CONVERSATION)
    assert decide(borrower, one, Channel.VISIT, at, pack).allowed
    capped = decide(borrower, two, Channel.VISIT, at, pack)
    assert not capped.allowed
    assert rule in capped.rule_ids
    # The cap is on visits: texts are not held back by it.
    assert decide(borrower, two, Channel.SMS, at, pack).allowed


def test_at_most_one_visit_a_week_in_the_us(library) -> None:
    pack = library.pack_for("US-NY")
    at = utc(2026, 6, 10, 14, 0)
    last_week = contacts([utc(2026, 6, 5, 14, 0)], Channel.VISIT, ContactKind.NOT_CONNECTED)
    capped = decide(account(), last_week, Channel.VISIT, at, pack)
    assert "us.policy.visits_7d" in capped.rule_ids
    earlier = contacts([utc(2026, 6, 2, 14, 0)], Channel.VISIT, ContactKind.CONVERSATION)
    assert decide(account(), earlier, Channel.VISIT, at, pack).allowed
