"""The one decision about a task, made by the planner, dispatch, re-planning and the
simulation alike: send, hold until an instant, block, expire or give up, with its reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

from orchestrator.compliance import AccountFacts, ContactPointFacts, PastContact
from orchestrator.configuration.source import load_config
from orchestrator.domain import Channel, ContactKind, Purpose
from orchestrator.planning.routing import choose_route
from orchestrator.settings import load_settings
from orchestrator.tasks import Verdict, decide_task
from orchestrator.tasks.decision import EXPIRED, GAVE_UP

SETTINGS = load_settings()
PACK = load_config(SETTINGS.config_dir, SETTINGS.templates_dir).pack_for("US-NY", "acme")
NY = "America/New_York"
# Monday 2026-11-23: 07:00 and 14:00 in New York.
SEVEN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TWO_PM = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
SMS = ContactPointFacts(Channel.SMS, "+12125550123", consent=True)


def decide(now, *, points=(SMS,), history=(), expires=timedelta(days=2), attempts=0):
    facts = AccountFacts("US-NY", (NY,), Decimal("1250.00"), "USD", (), tuple(points))
    expires_at = now + expires
    return decide_task(
        now=now,
        expires_at=expires_at,
        attempts=attempts,
        max_attempts=5,
        route=partial(
            choose_route,
            facts,
            list(history),
            [(Channel.SMS, "overdue_notice")],
            now,
            expires_at,
            PACK,
            purpose=Purpose.COLLECTION,
        ),
    )


def test_inside_the_window_it_is_sent_now():
    decision = decide(TWO_PM)

    assert decision.verdict is Verdict.SEND
    assert decision.send_at == TWO_PM
    assert decision.choice is not None
    assert decision.not_after is not None
    assert TWO_PM < decision.not_after <= TWO_PM + timedelta(days=2)


def test_in_the_quiet_hours_it_is_held_until_they_end_never_sent_early():
    decision = decide(SEVEN)

    assert decision.verdict is Verdict.HOLD
    assert decision.send_at == SEVEN + timedelta(hours=1)  # 08:00 in New York
    assert decision.rules  # the window rule that moved it


def test_without_a_usable_route_it_is_blocked_with_each_routes_reason():
    decision = decide(TWO_PM, points=())

    assert decision.verdict is Verdict.BLOCK
    assert decision.rules == ["route.no_contact_point"]


def test_past_its_deadline_it_expires_without_asking_for_a_route():
    asked = []

    def route():
        asked.append(1)
        raise AssertionError("an expired task needs no route")

    decision = decide_task(now=TWO_PM, expires_at=TWO_PM, route=route)

    assert decision.verdict is Verdict.EXPIRE
    assert decision.rules == [EXPIRED]
    assert asked == []


def test_out_of_attempts_it_is_given_up():
    decision = decide(TWO_PM, attempts=5)

    assert decision.verdict is Verdict.GIVE_UP
    assert decision.rules == [GAVE_UP]


def test_a_cap_reached_holds_it_until_the_cap_frees_or_blocks_it_past_its_deadline():
    # Massachusetts: two calls and texts per rolling seven days (940 CMR 7.04(1)(f)).
    ma = load_config(SETTINGS.config_dir, SETTINGS.templates_dir).pack_for("US-MA", "acme")
    facts = AccountFacts("US-MA", (NY,), Decimal("1250.00"), "USD", (), (SMS,))
    history = [
        PastContact(TWO_PM - timedelta(days=days), Channel.SMS, ContactKind.ATTEMPT)
        for days in (2, 1)
    ]

    def decide_ma(valid: timedelta):
        route = partial(
            choose_route,
            facts,
            history,
            [(Channel.SMS, "overdue_notice")],
            TWO_PM,
            TWO_PM + valid,
            ma,
        )
        return decide_task(now=TWO_PM, expires_at=TWO_PM + valid, route=route)

    held = decide_ma(timedelta(days=10))
    assert held.verdict is Verdict.HOLD
    assert held.send_at is not None
    assert held.send_at >= TWO_PM + timedelta(days=5)  # seven days after the first text
    assert "us.ma.calls_and_texts_7d" in held.rules
    blocked = decide_ma(timedelta(days=2))
    assert blocked.verdict is Verdict.BLOCK
    assert "us.ma.calls_and_texts_7d" in blocked.rules
