"""Two reports about one message can be applied at the same moment by two API workers
(Twilio posts ``sent`` and ``delivered`` milliseconds apart). Whichever commits last, the
status never moves back: a ``sent`` that read the attempt before ``delivered`` committed
must not overwrite it.

PostgreSQL runs the two transactions side by side (READ COMMITTED), so the test makes the
interleaving happen for certain: it holds the attempt's row lock while ``sent`` is being
applied, commits ``delivered`` under it, then lets ``sent`` go on. SQLite takes its write
lock when a transaction begins (``BEGIN IMMEDIATE``), so there the two cannot interleave.
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from orchestrator.domain import Channel
from orchestrator.store.tables import Attempt
from tests.webhooks.borrowers import NUMBER, OUR_NUMBER
from tests.webhooks.provider_payloads import new_sid, twilio_message_status, twilio_webhook


def _status(world, attempt, sid, status):
    form = twilio_message_status(
        world.env["TWILIO_ACCOUNT_SID"], sid, status, to=NUMBER, sender=OUR_NUMBER
    )
    return twilio_webhook(
        "twilio_sms",
        world.url,
        world.env["TWILIO_AUTH_TOKEN"],
        form,
        query=f"attempt_ref={attempt.ref}",
    )


BLOCKED_BY = sa.text(
    "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"
)


def _waits_on(conn, blocker_pid: int) -> bool:
    found = conn.execute(BLOCKED_BY, {"pid": blocker_pid}).scalar_one()
    conn.rollback()  # activity statistics are a snapshot per transaction
    return bool(found)


def test_a_sent_applied_alongside_delivered_does_not_overwrite_it(world):
    if world.store.is_sqlite:
        pytest.skip("SQLite serialises write transactions: nothing can interleave")
    sms = world.dispatched(world.account_due("loan-1", Channel.SMS), Channel.SMS, "twilio_sms", "")
    sid = new_sid("SM")
    late = _status(world, sms, sid, "sent")
    answers = []

    with world.store.engine.connect() as blocker, world.store.engine.connect() as watcher:
        transaction = blocker.begin()
        pid = blocker.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        blocker.execute(sa.select(Attempt.id).where(Attempt.id == sms.id).with_for_update())
        sending = threading.Thread(target=lambda: answers.append(world.post(late)))
        sending.start()
        deadline = time.monotonic() + 20
        while not _waits_on(watcher, pid):
            assert time.monotonic() < deadline, "the late report never reached the attempt"
            time.sleep(0.01)
        # Meanwhile the delivery report commits (as another API worker would).
        blocker.execute(sa.update(Attempt).where(Attempt.id == sms.id).values(status="delivered"))
        transaction.commit()
        sending.join(timeout=20)

    [answer] = answers
    assert answer.status_code == 200
    assert world.attempt(sms.ref).status == "delivered"
    kinds = [e["kind"] for e in world.timeline("loan-1")]
    assert "delivery.sent" not in kinds  # the ledger does not claim a move that did not happen
