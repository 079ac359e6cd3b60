"""China, NIFA 2018 convention: collection only 08:00–21:00 Beijing time (the stricter of
the 21:00/22:00 readings), no collection through third parties; per-day caps are policy."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.compliance import ContactPointFacts, decide
from orchestrator.domain import Channel

from .conftest import account, contacts, utc

SHANGHAI = ("Asia/Shanghai",)


def test_nine_in_the_evening_beijing_time_is_too_late(library):
    pack = library.pack_for("CN-GD")
    decision = decide(account("CN-GD", SHANGHAI), [], Channel.SMS, utc(2026, 3, 2, 13, 30), pack)
    assert decision.rule_ids == ("cn.nifa.collection_hours",)
    assert decision.next_allowed_at == utc(2026, 3, 3, 0, 0)  # 08:00 Beijing


def test_a_borrower_abroad_gets_beijing_hours_and_local_hours(library):
    pack = library.pack_for("CN")
    abroad = account("CN", ("America/Los_Angeles",))
    # 10:00 Beijing is 18:00 the day before in Los Angeles (PST): fine for both.
    assert decide(abroad, [], Channel.SMS, utc(2026, 3, 3, 2, 0), pack).allowed
    # 20:00 Beijing is 04:00 in Los Angeles: refused for the borrower's own night.
    assert not decide(abroad, [], Channel.SMS, utc(2026, 3, 3, 12, 0), pack).allowed


def test_third_parties_are_never_contacted(library):
    pack = library.pack_for("CN")
    relative = ContactPointFacts(Channel.CALL, "+8613900000000", third_party=True)
    decision = decide(
        account("CN", SHANGHAI),
        [],
        Channel.CALL,
        utc(2026, 3, 3, 2, 0),
        pack,
        contact_point=relative,
    )
    assert decision.rule_ids == ("cn.nifa.third_party",)
    assert decision.next_allowed_at is None


def test_three_calls_a_beijing_day_is_the_policy_cap(library):
    pack = library.pack_for("CN")
    morning = utc(2026, 3, 3, 1, 0)  # 09:00 Beijing
    history = contacts([morning + timedelta(hours=h) for h in range(3)])
    decision = decide(
        account("CN", SHANGHAI), history, Channel.CALL, morning + timedelta(hours=4), pack
    )
    assert decision.rule_ids == ("cn.policy.calls_per_day",)
    assert decision.reasons[0].citation.startswith("policy")
    assert decision.next_allowed_at == utc(2026, 3, 4, 0, 0)  # next day, 08:00 Beijing
    assert decide(
        account("CN", SHANGHAI), history, Channel.SMS, morning + timedelta(hours=4), pack
    ).allowed
