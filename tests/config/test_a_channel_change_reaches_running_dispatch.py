"""End to end: a tenant's channel change made through the API while workers run moves its
SMS to the other provider, sent through the sandbox over HTTP, without restarting anything.

The stack's Dramatiq worker shares the API's services; a dispatcher with a configuration
source of its own stands for a worker process elsewhere, which notices the change within
its check interval."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.configuration.source import ConfigSource
from orchestrator.dispatch import Outcome, build_dispatch
from orchestrator.domain import Channel
from orchestrator.services import Services
from tests.factories import account_document

from .conftest import shipped

TODAY = "2026-11-02"  # the stack's clock: 15:00 UTC, 10:00 in New York


def aliyun_first() -> dict:
    """The shipped channel config with the SMS providers' order reversed."""
    channels = shipped("channels.yaml")
    channels["channels"]["sms"]["providers"].reverse()
    return channels


def add_account_due_today(stack, external_id: str, phone: str) -> None:
    doc = account_document(external_id)
    doc["debt"]["due_date"] = TODAY
    doc["contact_points"] = [{"channel": "sms", "address": phone, "consent": True}]
    response = stack.http.put(f"/v1/accounts/{external_id}", json=doc)
    assert response.status_code == 201, response.text


def sent_by(stack, provider: str) -> list[str]:
    return [m["to"] for m in stack.sandbox_messages(provider)]


def test_a_worker_started_before_the_change_sends_through_the_new_primary(stack):
    stack.start_worker()
    add_account_due_today(stack, "loan-1", "+12125550123")
    stack.wait_until(lambda: sent_by(stack, "twilio_sms"), what="the first SMS, via Twilio")

    changed = stack.http.put("/v1/config/channels", json=aliyun_first())
    assert changed.status_code == 200, changed.text
    add_account_due_today(stack, "loan-2", "+12125550124")
    stack.wait_until(
        lambda: any(
            a.provider == "aliyun_sms" and a.status == "delivered" for a in stack.attempts()
        ),
        what="the second SMS delivered via Aliyun",
    )

    assert sent_by(stack, "twilio_sms") == ["+12125550123"]
    assert len(stack.sandbox_messages("aliyun_sms")) == 1
    assert {(a.provider, a.status) for a in stack.attempts()} == {
        ("twilio_sms", "delivered"),
        ("aliyun_sms", "delivered"),
    }


def test_a_dispatcher_in_another_process_switches_after_its_check_interval(stack):
    settings = stack.services.settings
    elsewhere = Services.build(
        settings,
        clock=stack.clock,
        store=stack.store,
        config=ConfigSource(
            settings.config_dir, settings.templates_dir, stack.store, now=stack.clock.now
        ),
    )
    dispatcher, _ = build_dispatch(elsewhere, lambda task_id: None, sleep=lambda _: None)

    assert stack.http.put("/v1/config/channels", json=aliyun_first()).status_code == 200
    add_account_due_today(stack, "loan-1", "+12125550123")
    stack.tick()
    [task] = stack.tasks()
    assert task.status == "queued"

    def primary() -> str:
        return elsewhere.config.get().channels_for("acme").providers(Channel.SMS)[0].adapter

    assert primary() == "twilio_sms"  # it has not looked yet
    stack.clock.advance(timedelta(seconds=5))
    assert primary() == "aliyun_sms"

    assert dispatcher.send(task.id) is Outcome.SENT
    assert len(stack.sandbox_messages("aliyun_sms")) == 1
    assert sent_by(stack, "twilio_sms") == []
