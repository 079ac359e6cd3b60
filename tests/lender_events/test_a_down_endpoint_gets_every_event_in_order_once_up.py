"""A lender's endpoint that is down for a while misses nothing: once it is up, every event
arrives, signed, in the order it happened per account, at least once and deduplicable by
``webhook-id``; an account's next event waits for the previous one."""

from __future__ import annotations

from datetime import timedelta

from tests.lender_events.conftest import an_account, register, verify


def test_events_wait_for_a_down_endpoint_and_then_arrive_in_order(
    lender, down_receiver, deliverer, clock
):
    endpoint = register(lender, down_receiver.url)
    an_account(lender, "loan-1")
    an_account(lender, "loan-2")
    for body in (
        {"type": "promise_to_pay", "until": "2026-11-20", "amount": "300.00"},
        {"type": "dispute", "event_id": "d-1"},
        {"type": "opt_out", "channel": "sms"},
    ):
        assert lender.post("/v1/accounts/loan-1/events", json=body).status_code == 201
    assert lender.post("/v1/accounts/loan-2/events", json={"type": "dispute"}).status_code == 201

    # Down: every head fails (connection refused) and waits its backoff; the rest wait too.
    first = deliverer.run()
    assert (first.delivered, first.failed) == (0, 2)  # one head per account
    listed = lender.get("/v1/webhook-deliveries").json()["deliveries"]
    heads = [d for d in listed if d["attempt_count"] == 1]
    assert len(heads) == 2
    assert all(d["attempts"][0]["status_code"] is None for d in heads)
    assert all("ConnectError" in d["last_error"] for d in heads)
    assert all(d["next_attempt_at"] is not None for d in heads)

    # Still down at the second attempt (5 s ± 10 % later).
    clock.advance(timedelta(seconds=6))
    assert deliverer.run().failed == 2

    down_receiver.start()
    assert deliverer.run().delivered == 0  # not due yet (a minute's backoff)
    clock.advance(timedelta(minutes=2))
    result = deliverer.run()
    assert result.delivered == 4
    assert result.failed == 0

    events = down_receiver.unique_events()
    assert [
        (e["account"]["external_id"], e["type"])
        for e in events
        if e["account"]["external_id"] == "loan-1"
    ] == [
        ("loan-1", "promise.made"),
        ("loan-1", "dispute.opened"),
        ("loan-1", "channel.opted_out"),
    ]
    assert {e["type"] for e in events if e["account"]["external_id"] == "loan-2"} == {
        "dispute.opened"
    }
    promise = events[[e["type"] for e in events].index("promise.made")]
    assert promise["data"]["event"]["amount"] == "300.00"
    assert promise["data"]["event"]["source"] == "api"
    for request in down_receiver.requests:
        assert verify(endpoint["secret"], request.headers, request.body)
        assert request.headers["webhook-id"] == request.event["id"]
        assert request.headers["content-type"] == "application/json"
    assert all(
        d["status"] == "delivered"
        for d in lender.get("/v1/webhook-deliveries").json()["deliveries"]
    )


def test_a_lost_answer_means_the_event_comes_again_with_the_same_id(
    lender, receiver, deliverer, clock
):
    register(lender, receiver.url)
    an_account(lender)
    lender.post("/v1/accounts/loan-1/events", json={"type": "cease_communication"})
    lender.post("/v1/accounts/loan-1/events", json={"type": "dispute"})
    receiver.status = 500  # it processed the request but answered an error
    assert deliverer.run().failed == 1
    receiver.status = 200
    clock.advance(timedelta(seconds=6))
    assert deliverer.run().delivered == 2

    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == 3
    assert ids[0] == ids[1] != ids[2]
    assert [e["type"] for e in receiver.unique_events()] == ["cease.requested", "dispute.opened"]
    timestamps = [int(r.headers["webhook-timestamp"]) for r in receiver.requests]
    assert timestamps[1] - timestamps[0] >= 6  # each attempt signs its own instant
