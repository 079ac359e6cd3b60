"""The pure planner: due steps become contacts with a send window the rules allow; every step
considered comes back with a status and its reasons."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from orchestrator.compliance import AccountEvent, AccountFacts, ContactPointFacts, PastContact
from orchestrator.configuration.source import load_config
from orchestrator.domain import Channel, ContactKind, EventType, TaskStatus
from orchestrator.planning.planner import PlanningAccount, plan_account
from orchestrator.settings import load_settings

SETTINGS = load_settings()
CONFIG = load_config(SETTINGS.config_dir, SETTINGS.templates_dir)
STRATEGY = CONFIG.strategy_for("acme")
NY = "America/New_York"


def facts(*, events=(), points=None, jurisdiction="US-NY", zones=(NY,), amount="1250.00"):
    if points is None:
        points = (
            ContactPointFacts(Channel.SMS, "+12125550123", consent=True),
            ContactPointFacts(Channel.CALL, "+12125550123", consent=True),
            ContactPointFacts(Channel.EMAIL, "ann@example.org"),
            ContactPointFacts(Channel.PUSH, "token-" + "x" * 20),
        )
    return AccountFacts(jurisdiction, zones, Decimal(amount), "USD", tuple(events), tuple(points))


def account(due: date, **kwargs):
    return PlanningAccount(1, "loan-1", facts(**kwargs), due, "bnpl")


def plan(acct, now, history=(), existing=()):
    return plan_account(
        acct,
        strategy=STRATEGY,
        pack=CONFIG.pack_for(acct.facts.jurisdiction, "acme"),
        history=list(history),
        existing=set(existing),
        now=now,
    )


def ny(day: date, hour: int, minute: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(NY)).astimezone(UTC)


DAY = date(2026, 11, 3)  # a Tuesday


def test_the_due_day_plans_the_sms_at_its_preferred_local_time():
    [contact] = plan(account(DAY), ny(DAY, 0, 5))
    assert contact.step in ("standard.due_today",)
    assert contact.status is TaskStatus.PLANNED
    assert contact.channel is Channel.SMS
    assert contact.not_before == ny(DAY, 10)
    assert contact.not_after <= ny(DAY, 21)  # quiet hours start at 21:00 (12 CFR 1006.6(b)(1)(i))


def test_planning_in_quiet_hours_moves_the_contact_to_the_next_allowed_slot():
    # The D+7 call prefers 18:00; planning after 21:00 local moves it to 08:00 next day.
    due = DAY - timedelta(days=7)
    [contact] = [c for c in plan(account(due), ny(DAY, 22, 30)) if c.step.endswith("first_call")]
    assert contact.status is TaskStatus.PLANNED
    assert contact.not_before == ny(DAY + timedelta(days=1), 8)
    assert "us.reg_f.inconvenient_time" in {r.rule_id for r in contact.reasons}


def test_a_missed_step_is_caught_up_once_within_the_catch_up_window():
    due = DAY - timedelta(days=1)  # the D+0 step was yesterday
    contacts = plan(account(due), ny(DAY, 9))
    assert [c.step_date for c in contacts if c.step.endswith("due_today")] == [due]
    assert plan(account(due), ny(DAY, 9), existing={("standard.due_today", due)}) == []


def test_a_hold_blocks_the_step_with_its_rule_and_never_drops_it_silently():
    cease = AccountEvent(EventType.CEASE_COMMUNICATION, ny(DAY - timedelta(days=2), 12))
    [contact] = plan(account(DAY, events=[cease]), ny(DAY, 0, 5))
    assert contact.status is TaskStatus.BLOCKED
    assert any("cease" in r.rule_id for r in contact.reasons)
    assert contact.explanation.startswith("blocked:")


def test_a_promise_to_pay_cancels_a_step_that_stops_on_it():
    due = DAY - timedelta(days=20)  # D+20: plan_offer stops on promise_to_pay
    promise = AccountEvent(
        EventType.PROMISE_TO_PAY,
        ny(DAY - timedelta(days=8), 12),
        until=ny(DAY - timedelta(days=3), 23),
        amount=Decimal("100"),
    )
    contacts = plan(account(due, events=[promise]), ny(DAY, 0, 5))
    offer = next(c for c in contacts if c.step.endswith("plan_offer"))
    assert offer.status is TaskStatus.CANCELLED
    assert offer.reasons[0].rule_id == "strategy.stop_on"


def test_without_a_usable_contact_point_the_step_falls_back_or_is_blocked():
    only_email = (ContactPointFacts(Channel.EMAIL, "ann@example.org"),)
    [fell_back] = plan(account(DAY, points=only_email), ny(DAY, 0, 5))
    assert fell_back.channel is Channel.EMAIL  # sms → push → email (formal_notice)
    assert fell_back.template == "formal_notice"
    assert {r.rule_id for r in fell_back.reasons} == {"route.no_contact_point"}

    [nothing] = plan(account(DAY, points=()), ny(DAY, 0, 5))
    assert nothing.status is TaskStatus.BLOCKED


def test_a_partial_payment_pauses_the_ladder():
    paid_at = ny(DAY - timedelta(days=1), 12)
    paid = AccountEvent(EventType.PAYMENT, paid_at, amount=Decimal("10"))
    [contact] = plan(account(DAY, events=[paid]), ny(DAY, 0, 5))
    assert contact.status is TaskStatus.PLANNED
    assert contact.not_before == paid_at + timedelta(days=3)  # pause_after_payment_days: 3
    assert "strategy.pause_after_payment" in {r.rule_id for r in contact.reasons}


def test_caps_see_earlier_contacts_and_contacts_already_planned():
    # Seven calls in the last days (12 CFR 1006.14(b)(2)(i)(A)): the D+7 call must wait.
    due = DAY - timedelta(days=7)
    history = [
        PastContact(ny(DAY - timedelta(days=1), 9 + i), Channel.CALL, ContactKind.ATTEMPT)
        for i in range(7)
    ]
    [call] = [
        c
        for c in plan(account(due), ny(DAY, 0, 5), history=history)
        if c.step.endswith("first_call")
    ]
    if call.status is TaskStatus.PLANNED:
        assert call.not_before >= ny(DAY - timedelta(days=1), 9) + timedelta(days=7)
    assert "us.reg_f.call_frequency_7d" in {r.rule_id for r in call.reasons}


@pytest.mark.parametrize(
    "zone", ["Asia/Shanghai", "Europe/London", "Australia/Sydney", "Pacific/Honolulu"]
)
def test_the_local_date_decides_which_steps_are_due(zone):
    from zoneinfo import ZoneInfo

    now = datetime(2026, 11, 3, 12, tzinfo=UTC)
    local = now.astimezone(ZoneInfo(zone)).date()
    acct = PlanningAccount(1, "loan-1", facts(zones=(zone,), jurisdiction="US-NY"), local, "bnpl")
    contacts = plan(acct, now)
    assert {c.step_date for c in contacts} <= {local, local - timedelta(days=1)}
    assert any(c.step_date == local for c in contacts)
