"""An endpoint that never answers 2xx gets the schedule's ten attempts over about a
day, with backoff, then the delivery is dead (the dead-letter list) and the account's next
event goes; a replay, one or many, delivers again with a fresh schedule."""

from __future__ import annotations

from datetime import datetime, timedelta

from orchestrator.outbound.delivery import RETRY_SCHEDULE
from tests.lender_events.conftest import an_account, register


def _run_until_settled(deliverer, clock, *, limit=40):
    """Run passes, jumping the clock to each next attempt, until nothing is pending."""
    for _ in range(limit):
        deliverer.run()
        clock.advance(timedelta(hours=9))  # past the longest wait, jitter included


def test_a_failing_endpoint_dead_letters_after_about_a_day_and_lets_the_next_event_go(
    lender, receiver, deliverer, clock
):
    register(lender, receiver.url)
    an_account(lender)
    lender.post("/v1/accounts/loan-1/events", json={"type": "cease_communication"})
    lender.post("/v1/accounts/loan-1/events", json={"type": "dispute"})
    receiver.status = 503
    started = clock.now()

    waits = []
    for _ in range(len(RETRY_SCHEDULE) + 1):
        deliverer.run()
        dead = lender.get("/v1/webhook-deliveries", params={"status": "dead"}).json()
        if dead["deliveries"]:
            break
        head = next(
            d
            for d in lender.get("/v1/webhook-deliveries").json()["deliveries"]
            if d["event_type"] == "cease.requested"
        )
        due = head["next_attempt_at"]
        waits.append(due)
        clock.set(datetime.fromisoformat(due.replace("Z", "+00:00")))
    [dead_one] = dead["deliveries"]
    assert dead_one["event_type"] == "cease.requested"
    assert dead_one["attempt_count"] == len(RETRY_SCHEDULE) + 1 == 10
    assert [a["status_code"] for a in dead_one["attempts"]] == [503] * 10
    assert dead_one["next_attempt_at"] is None
    assert dead_one["last_error"] == "HTTP 503"
    elapsed = clock.now() - started
    assert timedelta(hours=21) < elapsed < timedelta(hours=26)  # about a day
    # The dispute waited in line, untried, until the head died; then its turn came at once.
    assert [e["type"] for e in receiver.events()] == ["cease.requested"] * 10 + ["dispute.opened"]

    receiver.status = 200
    clock.advance(timedelta(seconds=6))
    assert deliverer.run().delivered == 1
    assert [e["type"] for e in receiver.events()][-1] == "dispute.opened"

    # Replay the dead one: delivered now, same webhook-id, a fresh schedule.
    replay = lender.post(f"/v1/webhook-deliveries/{dead_one['id']}/replay")
    assert replay.status_code == 200
    assert replay.json() == {
        "replayed": [dead_one["id"]],
        "skipped": [],
    }
    assert deliverer.run().delivered == 1
    last = receiver.requests[-1]
    assert last.event["type"] == "cease.requested"
    assert last.headers["webhook-id"] == receiver.requests[0].headers["webhook-id"]
    after = lender.get(f"/v1/webhook-deliveries/{dead_one['id']}").json()
    assert after["status"] == "delivered"
    assert after["attempt_count"] == 1
    assert len(after["attempts"]) == 11  # the history stays


def test_replaying_the_dead_letter_list_in_bulk(lender, receiver, deliverer, clock):
    endpoint = register(lender, receiver.url)
    for external_id in ("loan-1", "loan-2", "loan-3"):
        an_account(lender, external_id)
        lender.post(f"/v1/accounts/{external_id}/events", json={"type": "dispute"})
    receiver.status = 500
    _run_until_settled(deliverer, clock, limit=12)
    dead = lender.get("/v1/webhook-deliveries", params={"status": "dead"}).json()["deliveries"]
    assert len(dead) == 3

    receiver.status = 200
    response = lender.post(
        "/v1/webhook-deliveries:replay", json={"status": "dead", "endpoint_id": endpoint["id"]}
    )
    assert response.status_code == 200, response.text
    assert sorted(response.json()["replayed"]) == sorted(d["id"] for d in dead)
    assert deliverer.run().delivered == 3
    assert lender.get("/v1/webhook-deliveries", params={"status": "dead"}).json() == {
        "deliveries": [],
        "next": None,
    }


def test_deleting_an_endpoint_cancels_what_is_pending_for_it(lender, receiver, deliverer):
    endpoint = register(lender, receiver.url)
    an_account(lender)
    lender.post("/v1/accounts/loan-1/events", json={"type": "dispute"})
    deleted = lender.delete(f"/v1/webhook-endpoints/{endpoint['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": endpoint["id"], "deleted": True}
    assert deliverer.run().refs == []
    [cancelled] = lender.get("/v1/webhook-deliveries").json()["deliveries"]
    assert cancelled["status"] == "cancelled"
    assert lender.post(f"/v1/webhook-deliveries/{cancelled['id']}/replay").json()["skipped"] == [
        cancelled["id"]
    ]
    assert lender.get("/v1/webhook-endpoints").json() == {"endpoints": []}
    assert receiver.requests == []
