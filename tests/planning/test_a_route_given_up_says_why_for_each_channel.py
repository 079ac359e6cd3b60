"""When no route can be used before a task's deadline, the explanation names every channel
tried, the first one included: an SMS task given up for want of a window must not read as
"no usable push contact point" only."""

from __future__ import annotations

from orchestrator.compliance import ContactPointFacts
from orchestrator.domain import Channel
from orchestrator.planning.routing import NO_CONTACT_POINT, NO_WINDOW, choose_route
from tests.planning.test_plan_account import CONFIG, DAY, facts, ny

PACK = CONFIG.pack_for("US-NY", "acme")
SMS_ONLY = facts(points=(ContactPointFacts(Channel.SMS, "+12125550123", consent=True),))
ROUTES = [(Channel.SMS, "friendly_reminder"), (Channel.PUSH, "friendly_reminder")]


def test_a_task_whose_deadline_has_passed_says_so_for_its_own_channel():
    choice = choose_route(SMS_ONLY, [], ROUTES, ny(DAY, 10), ny(DAY, 9), PACK)

    assert choice.route is None
    assert [r.rule_id for r in choice.reasons] == [NO_WINDOW, NO_CONTACT_POINT]
    assert "sms contact could go out at 2026-11-03 15:00 UTC" in choice.explain()
    assert "after its deadline (2026-11-03 14:00 UTC)" in choice.explain()


def test_a_rule_that_blocks_the_first_channel_is_named_without_a_second_reason():
    choice = choose_route(SMS_ONLY, [], ROUTES, ny(DAY, 22, 30), ny(DAY, 23), PACK)

    assert choice.route is None
    rules = [r.rule_id for r in choice.reasons]
    assert rules[0] == "us.reg_f.inconvenient_time"
    assert NO_WINDOW not in rules
