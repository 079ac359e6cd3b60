"""Every POST is signed Standard Webhooks style with the endpoint's own secret; a receiver
holding another secret cannot verify it. A rotation keeps the previous secret signing for
its overlap (both signatures sent), then only the new one signs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.outbound.signing import SignatureInvalid, new_secret
from orchestrator.outbound.signing import verify as our_verify
from tests.lender_events.conftest import Receiver, an_account, free_port, register, verify


def _one_event(lender, deliverer, receiver) -> None:
    before = len(receiver.requests)
    assert lender.post("/v1/accounts/loan-1/events", json={"type": "dispute"}).status_code in (
        200,
        201,
    )
    deliverer.run()
    assert len(receiver.requests) == before + 1


def test_each_endpoint_signs_with_its_own_secret(lender, receiver, deliverer, clock):
    other = Receiver(free_port())
    other.start()
    try:
        mine = register(lender, receiver.url)
        theirs = register(lender, other.url)
        assert mine["secret"].startswith("whsec_")
        assert mine["secret"] != theirs["secret"]
        an_account(lender)
        _one_event(lender, deliverer, receiver)
        request = receiver.requests[0]
        assert request.headers["webhook-signature"].startswith("v1,")
        assert verify(mine["secret"], request.headers, request.body)
        assert not verify(theirs["secret"], request.headers, request.body)
        assert not verify(new_secret(), request.headers, request.body)
        # Our own verifier (for Python receivers) agrees, and refuses what was tampered with.
        our_verify(mine["secret"], request.headers, request.body, now=clock.now())
        with pytest.raises(SignatureInvalid, match="no signature matches"):
            our_verify(theirs["secret"], request.headers, request.body, now=clock.now())
        with pytest.raises(SignatureInvalid, match="no signature matches"):
            our_verify(mine["secret"], request.headers, request.body + b" ", now=clock.now())
        with pytest.raises(SignatureInvalid, match="too far"):
            our_verify(
                mine["secret"],
                request.headers,
                request.body,
                now=clock.now() + timedelta(minutes=6),
            )
        with pytest.raises(SignatureInvalid, match="missing"):
            our_verify(mine["secret"], {}, request.body, now=clock.now())
    finally:
        other.stop()


def test_a_rotated_secret_overlaps_with_the_previous_one_then_replaces_it(
    lender, receiver, deliverer, clock
):
    endpoint = register(lender, receiver.url)
    an_account(lender)
    old = endpoint["secret"]

    rotated = lender.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", json={"overlap_hours": 24}
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    assert rotated.json()["previous_secret_expires_at"] == "2026-11-03T15:00:00Z"
    assert "secret" not in lender.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()

    _one_event(lender, deliverer, receiver)
    during = receiver.requests[-1]
    assert len(during.headers["webhook-signature"].split()) == 2
    assert verify(new, during.headers, during.body)
    assert verify(old, during.headers, during.body)

    clock.advance(timedelta(hours=25))
    lender.post("/v1/accounts/loan-1/events", json={"type": "dispute_resolved"})
    deliverer.run()
    after = receiver.requests[-1]
    assert len(after.headers["webhook-signature"].split()) == 1
    assert verify(new, after.headers, after.body)
    assert not verify(old, after.headers, after.body)


def test_a_rotation_without_overlap_retires_the_old_secret_at_once(lender, receiver, deliverer):
    endpoint = register(lender, receiver.url)
    an_account(lender)
    new = lender.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", json={"overlap_hours": 0}
    ).json()["secret"]
    _one_event(lender, deliverer, receiver)
    request = receiver.requests[-1]
    assert verify(new, request.headers, request.body)
    assert not verify(endpoint["secret"], request.headers, request.body)
