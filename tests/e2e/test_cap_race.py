"""Invariant 2: no cap is ever exceeded, with many workers racing. Check-and-reserve is one
atomic step (a row lock on the account on PostgreSQL, the write lock on SQLite)."""

from __future__ import annotations

from channels.sandbox import OutcomeRates
from tests.factories import account_document


def test_two_workers_racing_on_one_account_send_exactly_the_cap(stack):
    # Massachusetts: at most two calls and texts per rolling seven days
    # (940 CMR 7.04(1)(f); 209 CMR 18.16(1)(d)).
    doc = account_document("loan-ma", jurisdiction="US-MA")
    doc["borrower"]["address"] = {"country": "US", "region": "MA", "postal_code": "02108"}
    doc["contact_points"] = [{"channel": "sms", "address": "+16175550123", "consent": True}]
    account_id = stack.add_account(
        "loan-ma", **{k: doc[k] for k in ("jurisdiction", "borrower", "contact_points")}
    )
    stack.queue_tasks(account_id, 6)
    stack.start_worker(threads=4)
    stack.start_worker(threads=4)

    stack.wait_until(stack.settled, what="every task decided")

    messages = [m for m in stack.sandbox_messages("twilio_sms") if m["to"] == "+16175550123"]
    assert len(messages) == 2
    counted = [a for a in stack.attempts() if a.contact_kind != "failed"]
    assert len(counted) == 2
    # The next free slot is seven days away, past these tasks' two-day validity: they are
    # refused with the rule that refused them, never sent late or early.
    refused = [t for t in stack.tasks() if t.status == "blocked"]
    assert len(refused) == 4
    assert all("us.ma.calls_and_texts_7d" in t.reasons for t in refused)


def test_the_federal_call_cap_holds_under_the_same_race(stack_factory):
    # Regulation F: at most seven call attempts per debt per seven days
    # (12 CFR 1006.14(b)(2)(i)(A)). Every call rings out unanswered: an answered one would
    # start the seven-day pause after a conversation instead ((b)(2)(i)(B)).
    stack = stack_factory(
        OutcomeRates(
            delivered=1.0,
            bounced=0.0,
            call_human=0,
            call_machine=0,
            call_no_answer=1.0,
            dialer_right_party_contact=0,
            dialer_promise_to_pay=0,
            dialer_voicemail=0,
            dialer_wrong_number=0,
            dialer_dispute=0,
            dialer_cease_request=0,
        )
    )
    doc = account_document("loan-ny")
    doc["contact_points"] = [{"channel": "call", "address": "+12125550199", "consent": True}]
    account_id = stack.add_account("loan-ny", contact_points=doc["contact_points"])
    stack.queue_tasks(account_id, 10, channel="call", template="reminder_call")
    stack.start_worker(threads=4)
    stack.start_worker(threads=4)

    stack.wait_until(stack.settled, what="every call decided", timeout=40)

    counted = [a for a in stack.attempts() if a.contact_kind != "failed"]
    assert len(counted) == 7
    refused = [t for t in stack.tasks() if t.status == "blocked"]
    assert len(refused) == 3
    assert all("us.reg_f.call_frequency_7d" in t.reasons for t in refused)
