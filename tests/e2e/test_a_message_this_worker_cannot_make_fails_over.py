"""A message the worker itself cannot make (a letter whose font is not on the machine) is not
a send in doubt: nothing went out, so it fails over like a refusal (to another provider, else
until the task's attempts are spent), with the problem named in the ledger, and the task
ends. Found by the short chaos run on a machine without Debian's Chinese font: the attempt
stayed ``sending``, the reconciler heard "no record" from Lob, released it, and the next try
failed the same way, for ever."""

from __future__ import annotations

import sqlalchemy as sa

from orchestrator.store.tables import Attempt, LedgerEntry, Task

ADDRESS = {
    "country": "US",
    "region": "NY",
    "postal_code": "10001",
    "line1": "350 Fifth Avenue",
    "city": "New York",
}


def no_letter_font(document):
    for provider in document["channels"]["letter"]["providers"]:
        provider["settings"]["latin_font"] = "/nonexistent/DejaVuSans.ttf"


def test_a_letter_without_its_font_fails_like_a_refusal_and_nothing_is_posted(stack):
    stack.use_platform_channels(no_letter_font)
    stack.start_worker()
    account = stack.add_account(
        "loan-1",
        borrower={"name": "Ann Lee", "locale": "en-US", "time_zone": None, "address": ADDRESS},
        contact_points=[{"channel": "letter"}],
    )
    [task_id] = stack.queue_tasks(account, 1, channel="letter", template="final_notice")

    def status():
        with stack.store.snapshot() as conn:
            return conn.execute(sa.select(Task.status).where(Task.id == task_id)).scalar_one()

    # Lob is the only letter provider: each try fails over to it again, as after a
    # refusal, until the task's attempts are spent. On the old code the first attempt
    # stayed ``sending`` and the task never ended.
    stack.wait_until(lambda: status() == "failed", what="the letter to fail")

    assert stack.sandbox_messages() == []
    with stack.store.snapshot() as conn:
        attempts = conn.execute(
            sa.select(Attempt.channel, Attempt.status, Attempt.error_code, Attempt.error_message)
            .where(Attempt.task_id == task_id)
            .order_by(Attempt.id)
        ).all()
        notes = conn.execute(
            sa.select(LedgerEntry.message).where(LedgerEntry.task_id == task_id)
        ).scalars()
        explained = " ".join(str(note) for note in notes)
    assert attempts
    for attempt in attempts:
        assert (attempt.channel, attempt.status, attempt.error_code) == (
            "letter",
            "failed",
            "config_error",
        )
        assert "letter fonts" in (attempt.error_message or "")
    assert "fonts-dejavu-core" in explained
