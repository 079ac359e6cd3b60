"""End to end: an account in through the API is planned, dispatched by a Dramatiq worker,
received by the provider (the sandbox, over real HTTP), and its delivery report comes back
signed and lands in the account's timeline."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.e2e.brokers import BOTH_BROKERS
from tests.factories import account_document

TODAY = "2026-11-02"  # the stack's clock: 15:00 UTC, 10:00 in New York


@BOTH_BROKERS
def test_an_account_due_today_gets_its_sms_and_the_timeline_tells_the_story(stack):
    doc = account_document("loan-1")
    doc["debt"]["due_date"] = TODAY
    assert stack.http.put("/v1/accounts/loan-1", json=doc).status_code == 201
    stack.start_worker()

    stack.wait_until(
        lambda: any(a.status == "delivered" for a in stack.attempts()), what="a delivered SMS"
    )

    [message] = stack.sandbox_messages("twilio_sms")
    assert message["to"] == "+12125550123"
    assert "Acme Lending" in message["body"]
    assert "STOP" in message["body"]  # the opt-out the rule pack requires (12 CFR 1006.6(e))
    [attempt] = stack.attempts()
    assert attempt.ref == message["attempt_ref"]
    [task] = stack.tasks()
    assert task.status == "delivered"

    entries = stack.http.get("/v1/accounts/loan-1/timeline").json()["entries"]
    kinds = [e["kind"] for e in reversed(entries)]
    assert kinds[:3] == ["task.planned", "attempt.sent", "delivery.sent"] or kinds[:2] == [
        "task.planned",
        "attempt.sent",
    ]
    assert kinds[-1] == "delivery.delivered"
    sent = next(e for e in entries if e["kind"] == "attempt.sent")
    assert "+12125550123" not in sent["message"]  # the ledger's words mask the number
    assert sent["delivery_status"] == "delivered"


def test_the_stack_clock_is_the_one_compliance_sees(stack):
    assert stack.clock.now() == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
