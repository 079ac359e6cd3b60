"""A batch of tasks is claimed, checked and reserved in one transaction and recorded with
set-based statements: the statements do not grow with the batch, and the invariants hold
inside a batch (its own reservations count against the caps) and across batches racing on
one account."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from orchestrator.dispatch import Outcome
from tests.factories import account_document


def statements(stack, send) -> int:
    """How many SQL statements ``send()`` runs (in this thread: the API answering the
    sandbox's delivery reports meanwhile shares the engine). A send whose report was
    recorded first asks the ledger once more (``ledger.sent_recorded``): not counted."""
    count = 0
    here = threading.get_ident()

    def counted(_conn, _cursor, statement, *_args) -> None:
        nonlocal count
        if threading.get_ident() == here and "FROM ledger_entries" not in statement:
            count += 1

    engine = stack.store.engine
    sa.event.listen(engine, "before_cursor_execute", counted)
    try:
        send()
    finally:
        sa.event.remove(engine, "before_cursor_execute", counted)
    return count


def test_a_batchs_statements_do_not_grow_with_its_size(stack):
    small = [
        stack.queue_tasks(stack.add_account(f"loan-s{i}"), 1, batch_size=0)[0] for i in range(2)
    ]
    large = [
        stack.queue_tasks(stack.add_account(f"loan-l{i}"), 1, batch_size=0)[0] for i in range(8)
    ]
    results = {}

    two = statements(stack, lambda: results.update(stack.dispatcher.send_batch(small)))
    eight = statements(stack, lambda: results.update(stack.dispatcher.send_batch(large)))

    assert results == {task_id: Outcome.SENT for task_id in small + large}
    # At most as many: a batch's requests are paced by the rate limit, so the reports of its
    # first sends may be recorded before the batch is, leaving less for it to write.
    assert eight <= two
    assert len(stack.sandbox_messages("twilio_sms")) == 10
    attempts = stack.attempts()
    assert sorted(a.task_id for a in attempts) == sorted(small + large)  # one each
    assert {t.status for t in stack.tasks()} <= {"sent", "delivered"}


def ma_account(stack) -> int:
    # Massachusetts: at most two calls and texts per rolling seven days
    # (940 CMR 7.04(1)(f); 209 CMR 18.16(1)(d)).
    doc = account_document("loan-ma", jurisdiction="US-MA")
    doc["borrower"]["address"] = {"country": "US", "region": "MA", "postal_code": "02108"}
    doc["contact_points"] = [{"channel": "sms", "address": "+16175550123", "consent": True}]
    return stack.add_account(
        "loan-ma", **{k: doc[k] for k in ("jurisdiction", "borrower", "contact_points")}
    )


def test_within_one_batch_its_own_reservations_count_against_the_cap(stack):
    task_ids = stack.queue_tasks(ma_account(stack), 5, batch_size=0)

    results = stack.dispatcher.send_batch(task_ids)

    assert sorted(results.values()) == sorted([Outcome.SENT] * 2 + [Outcome.BLOCKED] * 3)
    assert len(stack.sandbox_messages("twilio_sms")) == 2
    blocked = [t for t in stack.tasks() if t.status == "blocked"]
    assert all("us.ma.calls_and_texts_7d" in t.reasons for t in blocked)


def test_batches_racing_on_one_account_send_exactly_the_cap(stack):
    stack.queue_tasks(ma_account(stack), 6, batch_size=2)  # three batches at once
    stack.start_worker(threads=4)
    stack.start_worker(threads=4)

    stack.wait_until(stack.settled, what="every task decided")

    messages = [m for m in stack.sandbox_messages("twilio_sms") if m["to"] == "+16175550123"]
    assert len(messages) == 2
    assert len([a for a in stack.attempts() if a.contact_kind != "failed"]) == 2
    assert len([t for t in stack.tasks() if t.status == "blocked"]) == 4


def test_a_task_already_claimed_or_unknown_is_skipped_and_the_rest_sent(stack):
    [done, fresh] = stack.queue_tasks(stack.add_account("loan-1"), 2, batch_size=0)
    assert stack.dispatcher.send(done) is Outcome.SENT

    results = stack.dispatcher.send_batch([done, fresh, 999_999])

    assert results == {done: Outcome.SKIPPED, fresh: Outcome.SENT, 999_999: Outcome.SKIPPED}
    assert len(stack.sandbox_messages("twilio_sms")) == 2
