"""Every route has a body limit, enforced before the route reads a byte: a Content-Length
over it is answered 413 at once, and a body streamed without one (chunked) is answered 413
as soon as it passes the limit. The answer says which limit; nothing changes. (How much
memory that saves is shown with a real server in test_oversized_bodies_keep_memory_bounded.)
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from orchestrator.api.body_limits import DEFAULT_LIMIT, LIMITS, BodyLimits
from tests.factories import account_document, table_counts

KIB = 1024
MIB = 1024 * KIB


def chunked(size: int, piece: int = 64 * KIB) -> Iterator[bytes]:
    """``size`` bytes of a JSON-ish body, streamed with no Content-Length."""
    sent = 0
    while sent < size:
        chunk = b" " * min(piece, size - sent)
        sent += len(chunk)
        yield chunk


def streamed(data: bytes, piece: int = 4 * KIB) -> Iterator[bytes]:
    """``data``, streamed with no Content-Length."""
    for start in range(0, len(data), piece):
        yield data[start : start + piece]


ROUTES = {
    "a batch": ("POST", "/v1/accounts:batch", 32 * MIB),
    "an account": ("PUT", "/v1/accounts/loan-1", 1 * MIB),
    "an event": ("POST", "/v1/accounts/loan-1/events", 64 * KIB),
    "a config": ("PUT", "/v1/config/strategy", 1 * MIB),
    "a webhook": ("POST", "/v1/webhooks/twilio_sms", 1 * MIB),
    "a tenant's webhook": ("POST", "/v1/webhooks/twilio_sms/acme", 1 * MIB),
    "a read": ("GET", "/v1/accounts/loan-1", DEFAULT_LIMIT),
}


@pytest.mark.parametrize(("method", "path", "limit"), ROUTES.values(), ids=ROUTES.keys())
def test_each_route_has_its_documented_limit(method, path, limit):
    assert BodyLimits(None, LIMITS).limit_for(method, path) == limit


SMALL = {
    "an account": ("PUT", "/v1/accounts/loan-1", 1 * MIB),
    "an event": ("POST", "/v1/accounts/loan-1/events", 64 * KIB),
    "a config": ("PUT", "/v1/config/strategy", 1 * MIB),
    "an unsigned webhook": ("POST", "/v1/webhooks/twilio_sms", 1 * MIB),
}


@pytest.mark.parametrize(("method", "path", "limit"), SMALL.values(), ids=SMALL.keys())
@pytest.mark.parametrize("how", ["content-length", "chunked"])
def test_a_body_over_the_limit_is_refused_with_413(
    ops, store, provider_env, method, path, limit, how
):
    assert ops.put("/v1/accounts/loan-1", json=account_document("loan-1")).status_code == 201
    counts = table_counts(store)
    size = limit + 1
    content = b" " * size if how == "content-length" else chunked(size)

    response = ops.request(method, path, content=content)

    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert f"over {limit:,} bytes, the limit of {method} {path}" in error["message"]
    assert table_counts(store) == counts


@pytest.mark.parametrize("how", ["content-length", "chunked"])
def test_a_body_at_the_limit_reaches_the_route(ops, how):
    raw = orjson.dumps(account_document("loan-1"))
    padded = raw + b" " * (1 * MIB - len(raw))
    content = padded if how == "content-length" else streamed(padded)

    response = ops.put(
        "/v1/accounts/loan-1", content=content, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 201, response.text


def test_an_unsigned_webhook_over_the_limit_is_413_not_401(ops, store, provider_env):
    counts = table_counts(store)

    response = ops.post(
        "/v1/webhooks/twilio_sms",
        content=chunked(50 * MIB),
        headers={"X-Twilio-Signature": "forged"},
    )

    assert response.status_code == 413
    assert table_counts(store) == counts


def test_a_batch_over_the_item_limit_is_refused_before_it_is_parsed(ops, store):
    counts = table_counts(store)
    # 1,000,000 two-byte items: parsed first, they would be a million objects.
    body = b'{"accounts": [' + b"{}," * 999_999 + b"{}]}"

    response = ops.post(
        "/v1/accounts:batch", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert "more than 50 accounts; the limit is 50" in error["message"]
    assert table_counts(store) == counts


@pytest.mark.parametrize(
    ("body", "accepted"),
    [
        pytest.param([account_document(f"loan-{i}") for i in range(50)], 50, id="exactly 50"),
        pytest.param(
            [account_document("loan-1", borrower={"name": "Lee, [Ann] {x}", "locale": "en-US"})],
            1,
            id="brackets and commas in strings",
        ),
        pytest.param(
            [
                account_document(f"loan-{i}", borrower={"name": 'A \\"[,{', "locale": "en-US"})
                for i in range(50)
            ],
            50,
            id="escaped quotes and backslashes in strings",
        ),
    ],
)
def test_a_batch_within_the_item_limit_is_taken(ops, body, accepted):
    response = ops.post("/v1/accounts:batch", json={"accounts": body})

    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == accepted
