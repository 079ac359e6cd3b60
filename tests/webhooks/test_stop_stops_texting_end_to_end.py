"""End to end, over real HTTP: the provider sandbox delivers a collection text, the simulated
borrower answers STOP (退订 on Aliyun), the sandbox posts the signed reply to our webhook —
and from then on no collection text goes out, day after day, while the one confirmation the
law requires does (through Aliyun, as a text of its own that the opt-out hold lets through).
The Dramatiq worker, the sweep and the planner run on the shared virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from channels.sandbox import OutcomeRates
from orchestrator.configuration.source import Kind
from orchestrator.domain import Channel
from orchestrator.store.tables import AccountEvent, Task
from tests.webhooks.borrowers import cn_borrower, us_borrower
from tests.webhooks.lender_config import (
    ALIYUN_ONLY,
    CONFIRMATION_TEMPLATE_CODE,
    store_tenant_config,
)

EVERYONE_STOPS = OutcomeRates(delivered=1.0, bounced=0.0, stop_reply=1.0)


def _opted_out(stack) -> bool:
    with stack.store.snapshot() as conn:
        return bool(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(AccountEvent)
                .where(AccountEvent.type == "opt_out", AccountEvent.channel == "sms")
            ).scalar_one()
        )


def _settled(stack) -> bool:
    """Nothing left in flight: every task that was due is done."""
    now = stack.clock.now()
    return all(
        t.status not in ("queued", "sending")
        and not (t.status == "planned" and t.not_before <= now)
        for t in stack.tasks()
    )


def _days_pass(stack, days: int) -> None:
    """Each day at 16:00 UTC (morning in New York): plan, sweep, let the worker send."""
    for _ in range(days):
        stack.clock.advance(timedelta(days=1))
        stack.services.planner.plan(stack.clock.now())
        stack.wait_until(lambda: _settled(stack), what="the day's contacts settled")


def test_after_a_twilio_stop_no_collection_text_goes_out(stack_factory):
    stack = stack_factory(EVERYONE_STOPS)
    assert (
        stack.http.put("/v1/accounts/loan-1", json=us_borrower("loan-1", Channel.SMS)).status_code
        == 201
    )
    stack.start_worker()
    stack.wait_until(lambda: _opted_out(stack), what="the STOP reply recorded")
    [first] = stack.sandbox_messages("twilio_sms")
    assert "STOP" in first["body"]

    _days_pass(stack, 4)  # past D+3, when the overdue-notice text was due

    assert len(stack.sandbox_messages("twilio_sms")) == 1
    overdue = next(t for t in stack.tasks() if t.step == "standard.overdue_sms")
    # The step went to its fallback channel instead: a push (FCM reports no delivery, so
    # "sent" is as far as it goes; JPush's receipt would make it "delivered").
    assert overdue.channel == "push"
    assert overdue.status in ("sent", "delivered")
    pushes = [m for m in stack.sandbox_messages() if m["provider"] in ("fcm_push", "jpush_push")]
    assert pushes


def test_after_an_aliyun_unsubscribe_the_confirmation_goes_out_and_nothing_else(
    stack_factory, clock
):
    clock.set(datetime(2026, 11, 3, 2, 0, tzinfo=UTC))  # 10:00 in Beijing
    stack = stack_factory(EVERYONE_STOPS)
    store_tenant_config(stack.services, "acme", Kind.CHANNELS, ALIYUN_ONLY)
    document = cn_borrower("cn-1")
    document["debt"]["due_date"] = "2026-11-03"
    assert stack.http.put("/v1/accounts/cn-1", json=document).status_code == 201
    stack.start_worker()

    def confirmed() -> bool:
        return any(
            t.step == "system.opt_out_confirmation" and t.status == "delivered"
            for t in stack.tasks()
        )

    stack.wait_until(confirmed, what="the opt-out confirmation delivered")
    collection, confirmation = stack.sandbox_messages("aliyun_sms")
    assert collection["template_code"] == "SMS_100000001"  # due_today
    assert confirmation["template_code"] == CONFIRMATION_TEMPLATE_CODE
    with stack.store.snapshot() as conn:
        task = conn.execute(sa.select(Task).where(Task.step == "system.opt_out_confirmation")).one()
    assert task.purpose == "opt_out_confirmation"

    _days_pass(stack, 4)

    # The borrower answered 退订 to the confirmation too: still one confirmation, no more
    # collection texts.
    assert len(stack.sandbox_messages("aliyun_sms")) == 2
    # A yuan account is in the china segment: its day-3 reminder is WeChat, falling back to
    # a text (this borrower gave no openid).
    overdue = next(t for t in stack.tasks() if t.step == "china.overdue_wechat")
    assert overdue.status in ("blocked", "cancelled")
    assert "cn.pipl.withdrawn_consent" in overdue.reasons
