"""Australia, ACCC/ASIC Debt collection guideline (2021): contact Monday–Friday 07:30–21:00
and weekends 09:00–21:00 local, none on public holidays (national and the debtor's state),
no more than three contacts a week or ten a month."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.compliance import decide
from orchestrator.domain import Channel

from .conftest import account, contacts, utc

SYDNEY = ("Australia/Sydney",)


def test_weekdays_open_at_half_past_seven(library):
    pack = library.pack_for("AU-NSW")
    # Tuesday 3 March 2026 07:00 AEDT (UTC+11) = Monday 20:00Z.
    decision = decide(account("AU-NSW", SYDNEY), [], Channel.CALL, utc(2026, 3, 2, 20, 0), pack)
    assert decision.rule_ids == ("au.accc_asic.hours_weekdays",)
    assert decision.next_allowed_at == utc(2026, 3, 2, 20, 30)


def test_weekends_open_at_nine(library):
    pack = library.pack_for("AU-NSW")
    # Saturday 7 March 2026 08:00 AEDT = Friday 21:00Z.
    decision = decide(account("AU-NSW", SYDNEY), [], Channel.SMS, utc(2026, 3, 6, 21, 0), pack)
    assert decision.rule_ids == ("au.accc_asic.hours_weekends",)
    assert decision.next_allowed_at == utc(2026, 3, 6, 22, 0)


def test_no_contact_on_a_public_holiday(library):
    pack = library.pack_for("AU-NSW")
    # Australia Day, Monday 26 January 2026, 10:00 AEDT.
    decision = decide(account("AU-NSW", SYDNEY), [], Channel.EMAIL, utc(2026, 1, 25, 23, 0), pack)
    assert decision.rule_ids == ("au.accc_asic.public_holidays",)
    assert "Australia Day" in decision.reasons[0].message
    assert decision.next_allowed_at == utc(2026, 1, 26, 20, 30)  # Tuesday 07:30 AEDT


def test_a_state_holiday_closes_only_that_state(library):
    # Labour Day in NSW is Monday 5 October 2026; Victoria's Labour Day is in March.
    at = utc(2026, 10, 4, 23, 0)  # Monday 10:00 AEDT
    nsw = decide(account("AU-NSW", SYDNEY), [], Channel.SMS, at, library.pack_for("AU-NSW"))
    vic = decide(
        account("AU-VIC", ("Australia/Melbourne",)), [], Channel.SMS, at, library.pack_for("AU-VIC")
    )
    assert nsw.rule_ids == ("au.accc_asic.public_holidays",)
    assert vic.allowed


def test_three_contacts_of_any_kind_a_week(library):
    pack = library.pack_for("AU-NSW")
    start = utc(2026, 3, 2, 23, 0)  # Tuesday 10:00 AEDT
    history = contacts([start], Channel.SMS) + contacts([start + timedelta(hours=1)], Channel.EMAIL)
    history += contacts([start + timedelta(hours=2)], Channel.CALL)
    decision = decide(
        account("AU-NSW", SYDNEY), history, Channel.PUSH, start + timedelta(days=1), pack
    )
    assert decision.rule_ids == ("au.accc_asic.contacts_week",)
    assert decision.next_allowed_at == start + timedelta(days=7)


def test_ten_contacts_a_month(library):
    pack = library.pack_for("AU-NSW")
    start = utc(2026, 5, 4, 23, 0)  # Tuesday 5 May 09:00 AEST, clear of Easter
    # Three a week for a bit more than three weeks, then one more: ten in 22 days.
    times = [start + timedelta(days=7 * w, hours=h) for w in range(3) for h in range(3)]
    times.append(start + timedelta(days=21, hours=5))
    history = sorted(contacts(times, Channel.SMS), key=lambda c: c.at)
    at = start + timedelta(days=28, hours=1)
    decision = decide(account("AU-NSW", SYDNEY), history, Channel.SMS, at, pack)
    assert "au.accc_asic.contacts_month" in decision.rule_ids
    assert decision.next_allowed_at == start + timedelta(days=31)
