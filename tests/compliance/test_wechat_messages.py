"""WeChat reminders fall under the rules texts do in China: the NIFA collection hours in
Beijing time, a daily ceiling of their own, every hold, and an opt-out that stops WeChat
alone; as an electronic message a reminder carries the opt-out notice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.compliance import AccountEvent, decide
from orchestrator.domain import Channel, ChannelKind, EventType

from .conftest import account, contacts, utc

BEIJING = ("Asia/Shanghai",)
NOON = utc(2026, 6, 2, 4, 0)  # Tuesday 12:00 in Beijing


def china(events=()):
    return account("CN-GD", BEIJING, events=events)


def test_wechat_is_a_message(library) -> None:
    assert Channel.WECHAT.kind is ChannelKind.MESSAGE
    assert "opt_out" in library.pack_for("CN-GD").required_disclosures(
        Channel.WECHAT, initial=False
    )


def test_collection_hours_govern_wechat_as_they_govern_texts(library) -> None:
    pack = library.pack_for("CN-GD")
    night = utc(2026, 6, 2, 14, 0)  # 22:00 in Beijing
    for channel in (Channel.WECHAT, Channel.SMS):
        decision = decide(china(), [], channel, night, pack)
        assert decision.rule_ids == ("cn.nifa.collection_hours",)
    assert decide(china(), [], Channel.WECHAT, NOON, pack).allowed


def test_three_wechat_reminders_a_day_then_no_more(library) -> None:
    pack = library.pack_for("CN-GD")
    three = contacts([NOON - timedelta(hours=h) for h in (1, 2, 3)], Channel.WECHAT)
    refused = decide(china(), three, Channel.WECHAT, NOON, pack)
    assert refused.rule_ids == ("cn.policy.wechat_per_day",)
    assert refused.next_allowed_at == utc(2026, 6, 3, 0, 0)  # Wednesday 08:00 in Beijing
    # Texts and WeChat messages are counted apart.
    assert decide(china(), three, Channel.SMS, NOON, pack).allowed
    three_texts = contacts([NOON - timedelta(hours=h) for h in (1, 2, 3)], Channel.SMS)
    assert decide(china(), three_texts, Channel.WECHAT, NOON, pack).allowed


@pytest.mark.parametrize(
    ("event", "rule"),
    [
        (EventType.CEASE_COMMUNICATION, "cn.hold.cease_communication"),
        (EventType.DISPUTE, "cn.hold.dispute"),
        (EventType.BANKRUPTCY, "cn.hold.bankruptcy"),
    ],
)
def test_holds_stop_wechat(library, event, rule) -> None:
    pack = library.pack_for("CN-GD")
    held = china([AccountEvent(event, NOON - timedelta(days=1))])
    decision = decide(held, [], Channel.WECHAT, NOON, pack)
    assert rule in decision.rule_ids


def test_an_opt_out_of_wechat_stops_wechat_only(library) -> None:
    pack = library.pack_for("CN-GD")
    out = AccountEvent(EventType.OPT_OUT, NOON - timedelta(days=1), channel=Channel.WECHAT)
    assert decide(china([out]), [], Channel.WECHAT, NOON, pack).rule_ids == (
        "cn.pipl.withdrawn_consent",
    )
    assert decide(china([out]), [], Channel.SMS, NOON, pack).allowed
