"""What a worker learns while sending becomes lender events in the transaction that records
it: a provider refusing a number as dead reports ``contact_point.invalid``; a notice sent
reports ``notice.sent``; a collection message sent reports nothing."""

from __future__ import annotations

import sqlalchemy as sa

from channels.egress import Egress
from orchestrator.outbound import endpoints
from orchestrator.store.tables import LenderEvent, Task


def _endpoint(stack) -> None:
    with stack.store.transaction() as conn:
        endpoints.create(
            conn,
            stack.tenant_id,
            url="http://127.0.0.1:9/hooks",
            description="",
            event_types=[],
            egress=Egress(allow_loopback=True),
            now=stack.clock.now(),
        )


def _lender_events(stack) -> list[tuple[str, dict]]:
    with stack.store.snapshot() as conn:
        return [
            (row.type, row.data)
            for row in conn.execute(sa.select(LenderEvent).order_by(LenderEvent.id))
        ]


def test_a_refused_dead_number_is_reported(stack):
    _endpoint(stack)
    stack.fault("twilio_sms", permanent_rate=1.0)
    stack.fault("aliyun_sms", permanent_rate=1.0)
    account = stack.add_account("loan-1")
    stack.queue_tasks(account, 1, fallback=[["push", "overdue_notice"]])
    stack.start_worker()
    stack.wait_until(
        lambda: any(t.status in ("sent", "delivered") for t in stack.tasks()),
        what="the push fallback",
    )
    found = _lender_events(stack)
    invalid = [data for kind, data in found if kind == "contact_point.invalid"]
    assert invalid
    assert invalid[0]["contact_point"]["channel"] == "sms"
    assert invalid[0]["reason"].startswith("twilio_sms")
    assert "notice.sent" not in {kind for kind, _ in found}  # a collection message


def test_a_notice_sent_by_a_worker_is_reported(stack):
    _endpoint(stack)
    account = stack.add_account("loan-1")
    stack.queue_tasks(account, 1)
    with stack.store.transaction() as conn:
        conn.execute(sa.update(Task).values(purpose="cease_confirmation"))
    stack.start_worker()
    stack.wait_until(
        lambda: any(t.status in ("sent", "delivered") for t in stack.tasks()), what="the send"
    )
    [(_, data)] = [e for e in _lender_events(stack) if e[0] == "notice.sent"]
    assert data["notice"]["purpose"] == "cease_confirmation"
