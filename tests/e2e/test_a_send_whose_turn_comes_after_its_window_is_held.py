"""A send whose turn on the provider's rate limit would come after its window closes (less
``dispatch.window_margin_seconds``) is held for the next window, with the reason in the
ledger; it is never sent late, and no task is lost: each is sent in time or held.

The clock runs at real speed a few seconds before 21:00 in New York, when the quiet hours
begin; the provider takes two messages a second, fewer than the tasks due."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from orchestrator.clock import ScaledClock
from orchestrator.dispatch import RetryLater
from orchestrator.store.tables import LedgerEntry

CLOSES = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # 21:00 in New York (EST)
MARGIN = 1.0
TASKS = 12


@pytest.fixture
def clock():
    return ScaledClock(CLOSES - timedelta(hours=1), 1.0)


def five_seconds_before_the_close(clock: ScaledClock) -> None:
    """Move the clock on to 20:59:55 in New York (however long the set-up took)."""
    clock.anchor = time.time() - (timedelta(hours=1) - timedelta(seconds=5)).total_seconds()


def slow_sms(document) -> None:
    document["channels"]["sms"]["providers"][0]["rate_limit"] = {"per_second": 2, "burst": 1}
    document.setdefault("dispatch", {})["window_margin_seconds"] = MARGIN


def test_a_task_whose_turn_comes_after_the_window_is_held_not_sent(stack):
    stack.use_platform_channels(slow_sms)
    accounts = [stack.add_account(f"loan-{i}") for i in range(TASKS)]
    five_seconds_before_the_close(stack.clock)
    tasks = [stack.queue_tasks(account, 1, batch_size=0)[0] for account in accounts]

    pending = list(tasks)
    deadline = time.monotonic() + 30
    while pending and time.monotonic() < deadline:
        results = stack.dispatcher.send_batch(pending)
        pending = [t for t, r in results.items() if isinstance(r, RetryLater)]
    assert not pending

    with stack.store.snapshot() as conn:
        reasons = {
            row.task_id: row.message
            for row in conn.execute(
                sa.select(LedgerEntry.task_id, LedgerEntry.message).where(
                    LedgerEntry.kind == "task.held"
                )
            )
        }
    statuses = {t.id: t.status for t in stack.tasks()}
    held = [t for t in stack.tasks() if t.status == "planned"]
    sent = [t for t in stack.tasks() if t.status in ("sent", "delivered")]
    assert len(held) + len(sent) == TASKS, statuses  # none lost
    assert held, "two a second for 4 seconds cannot carry twelve messages"
    morning = datetime(2026, 11, 3, 13, 0, tzinfo=UTC)  # 08:00 in New York
    assert all(t.not_before.replace(tzinfo=UTC) >= morning for t in held)

    messages = stack.sandbox_messages("twilio_sms")
    assert len(messages) == len(sent)
    assert messages, reasons  # some in time
    last = max(datetime.fromisoformat(m["received_at"]) for m in messages)
    assert last < CLOSES - timedelta(seconds=MARGIN) + timedelta(seconds=0.5)
    assert {a.task_id for a in stack.attempts()} == {t.id for t in sent}  # none for held

    assert set(reasons) == {t.id for t in held}
    # Reserved with a turn after the close: held, saying so. (Those still unclaimed when
    # the close came within the margin are held by the margin, as always.)
    assert any("the rate limit of twilio_sms has no room" in m for m in reasons.values())
    assert all("us.reg_f.inconvenient_time" in m for m in reasons.values()), reasons
