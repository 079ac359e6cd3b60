"""What providers report becomes lender events in the same transaction: a hard bounce
reports the dead address and, with no route left, the message failed for good; an
unsubscribe reports the opt-out; a notice's send, learnt from its report, reports the
notice sent."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from channels.egress import Egress
from orchestrator.domain import Channel
from orchestrator.outbound import endpoints
from orchestrator.store.tables import LenderEvent, Task
from tests.webhooks.borrowers import EMAIL
from tests.webhooks.provider_payloads import sendgrid_event, sendgrid_message_id, sendgrid_webhook


def _endpoint(world) -> None:
    with world.store.transaction() as conn:
        endpoints.create(
            conn,
            world.tenant_id,
            url="http://127.0.0.1:9/hooks",
            description="",
            event_types=[],
            egress=Egress(allow_loopback=True),
            now=world.clock.now(),
        )


def _post(world, attempt, *events):
    now = world.clock.now()
    batch = [
        sendgrid_event(
            name,
            email=EMAIL,
            sg_message_id=f"{attempt.provider_message_id or 'x'}.filterdrecv-1",
            attempt_ref=attempt.ref,
            at=now,
            **extra,
        )
        for name, extra in events
    ]
    webhook = sendgrid_webhook(
        world.env["SENDGRID_WEBHOOK_PRIVATE_KEY"], batch, int(now.timestamp())
    )
    assert world.post(webhook).status_code == 200


def _lender_events(world) -> list[tuple[str, dict[str, Any]]]:
    with world.store.snapshot() as conn:
        return [
            (row.type, row.data)
            for row in conn.execute(sa.select(LenderEvent).order_by(LenderEvent.id))
        ]


def test_a_hard_bounce_reports_the_dead_address_and_the_failed_message(world):
    _endpoint(world)
    account = world.account_due("loan-1", Channel.EMAIL)
    email = world.dispatched(account, Channel.EMAIL, "sendgrid_email", sendgrid_message_id())
    bounce = {"type": "bounce", "status": "5.1.1", "reason": "550 5.1.1 no such user"}
    _post(world, email, ("bounce", bounce))

    found = dict(_lender_events(world))
    assert found["contact_point.invalid"] == {
        "contact_point": {"channel": "email", "address": EMAIL},
        "reason": "sendgrid_email 5.1.1",
    }
    failed = found["message.failed"]
    assert failed["message"]["channel"] == "email"
    assert failed["message"]["purpose"] == "collection"
    assert "bounced" in failed["reason"]
    _post(world, email, ("bounce", bounce))  # a replayed webhook reports nothing more
    assert len(_lender_events(world)) == 2


def test_an_unsubscribe_reports_the_opt_out(world):
    _endpoint(world)
    account = world.account_due("loan-1", Channel.EMAIL)
    email = world.dispatched(account, Channel.EMAIL, "sendgrid_email", sendgrid_message_id())
    _post(world, email, ("delivered", {"response": "250 OK"}), ("unsubscribe", {}))
    [(kind, data)] = _lender_events(world)
    assert kind == "channel.opted_out"
    assert data["event"]["channel"] == "email"
    assert data["event"]["source"] == "provider"


def test_a_notice_learnt_sent_from_its_report_is_reported_sent(world):
    _endpoint(world)
    account = world.account_due("loan-1", Channel.EMAIL)
    with world.store.transaction() as conn:
        conn.execute(
            sa.update(Task).where(Task.account_id == account).values(purpose="dispute_verification")
        )
    email = world.dispatched(
        account, Channel.EMAIL, "sendgrid_email", sendgrid_message_id(), in_flight=True
    )
    _post(world, email, ("delivered", {"response": "250 OK"}))
    [(kind, data)] = _lender_events(world)
    assert kind == "notice.sent"
    assert data["notice"]["purpose"] == "dispute_verification"
    assert data["notice"]["channel"] == "email"
