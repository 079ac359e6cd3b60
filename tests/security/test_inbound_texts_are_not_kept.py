"""A borrower's reply may say anything: health, family, other people's numbers. We keep what
we act on (the intent: an opt-out, an opt-in, or "other") and how long the text was, never
the text itself, in any table."""

from __future__ import annotations

import sqlalchemy as sa

from orchestrator.domain import Channel
from orchestrator.store.tables import Base, DeliveryReport
from tests.webhooks.borrowers import NUMBER, OUR_NUMBER
from tests.webhooks.provider_payloads import twilio_inbound, twilio_webhook

REPLIES = [
    "STOP. My SSN is 078-05-1120 and my wife Jane is in hospital",
    "I lost my job, call my brother on +1 917 555 0199 instead",
]
SECRETS = ["078-05-1120", "Jane", "hospital", "lost my job", "555 0199", "brother"]


def _everything_stored(store) -> str:
    with store.snapshot() as conn:
        return "\n".join(
            repr(tuple(row))
            for table in Base.metadata.sorted_tables
            for row in conn.execute(sa.select(table))
        )


def test_inbound_texts_leave_their_intent_and_nothing_of_what_they_said(world):
    world.account_due("loan-1", Channel.SMS)
    env = world.env
    for body in REPLIES:
        form = twilio_inbound(env["TWILIO_ACCOUNT_SID"], sender=NUMBER, to=OUR_NUMBER, body=body)
        webhook = twilio_webhook("twilio_sms", world.url, env["TWILIO_AUTH_TOKEN"], form)
        assert world.post(webhook).status_code == 200

    stored = _everything_stored(world.store)
    for secret in SECRETS:
        assert secret not in stored, secret
    with world.store.snapshot() as conn:
        payloads = (
            conn.execute(sa.select(DeliveryReport.payload).order_by(DeliveryReport.id))
            .scalars()
            .all()
        )
    assert [p["details"]["intent"] for p in payloads] == ["opt_out", "other"]
    assert [p["text_chars"] for p in payloads] == [len(body) for body in REPLIES]
    # What the replies did is still on the record.
    assert [e["type"] for e in world.account_json("loan-1")["events"]] == ["opt_out"]
    kinds = [e["kind"] for e in world.timeline("loan-1")]
    assert "inbound.opt_out" in kinds
    assert "inbound.other" in kinds
