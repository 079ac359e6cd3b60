"""An ``Idempotency-Key``'s stored answer is a copy of a response (an account, with its
borrower's personal data): it is kept for its time to live (24 hours by default), answers
nothing after that, and the scheduler deletes it."""

from __future__ import annotations

from datetime import timedelta

import redis
import sqlalchemy as sa

from orchestrator.planning.scheduler import Scheduler
from orchestrator.store.tables import IdempotencyRecord
from tests.factories import account_document

DISPUTE = {"type": "dispute", "at": "2026-11-02T14:00:00Z"}
PAYMENT = {"type": "payment", "amount": "10", "at": "2026-11-02T14:00:00Z"}


def _keys(store):
    with store.snapshot() as conn:
        return sorted(conn.execute(sa.select(IdempotencyRecord.key)).scalars())


def test_a_key_past_its_time_to_live_answers_nothing(api, clock):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    headers = {"Idempotency-Key": "k-1"}
    assert api.post("/v1/accounts/loan-1/events", json=DISPUTE, headers=headers).status_code == 201
    reused = api.post("/v1/accounts/loan-1/events", json=PAYMENT, headers=headers)
    assert reused.status_code == 422  # within a day: the key is taken

    clock.advance(timedelta(hours=24, seconds=1))
    fresh = api.post("/v1/accounts/loan-1/events", json=PAYMENT, headers=headers)
    assert fresh.status_code == 201, fresh.text
    assert "Idempotent-Replayed" not in fresh.headers


def test_the_scheduler_deletes_answers_past_their_time_to_live(
    api, services, clock, redis_url, redis_namespace
):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    api.post("/v1/accounts/loan-1/events", json=DISPUTE, headers={"Idempotency-Key": "old"})
    clock.advance(timedelta(hours=23))
    api.post("/v1/accounts/loan-1/events", json=PAYMENT, headers={"Idempotency-Key": "new"})
    clock.advance(timedelta(hours=1, seconds=1))

    client = redis.Redis.from_url(redis_url)
    try:
        scheduler = Scheduler(
            services.store,
            client,
            clock,
            services.planner,
            lambda ids: None,
            namespace=redis_namespace,
        )
        assert scheduler.expire_now() == 0  # not the leader: a standby does nothing
        assert _keys(services.store) == ["new", "old"]
        scheduler.heartbeat()
        assert scheduler.leader
        assert scheduler.expire_now() == 1
        assert _keys(services.store) == ["new"]
        scheduler.stop()
    finally:
        client.close()
