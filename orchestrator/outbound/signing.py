"""Signing lender events the Standard Webhooks way (as Svix does).

Each POST carries three headers:

- ``webhook-id``: the event's id (``evt_...``), the same on every retry and replay: the key
  a receiver deduplicates by;
- ``webhook-timestamp``: the attempt's instant, in whole seconds since the epoch: a receiver
  refuses one too far from its own clock, so a captured request cannot be replayed later;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` of ``{id}.{timestamp}.{body}`` under the
  endpoint's secret, one per secret in force, space-separated: during a rotation's overlap
  both the new and the previous secret sign, so a receiver holding either one verifies.

A secret is ``whsec_`` and 32 random bytes in base64; the HMAC key is those bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime

PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureInvalid(ValueError):
    """A request whose signature, timestamp or headers do not verify."""


def new_secret() -> str:
    """A fresh endpoint secret (``whsec_`` + 32 random bytes, base64)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64>``: the HMAC-SHA256 of ``{msg_id}.{timestamp}.{body}`` under ``secret``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    secrets_in_force: Sequence[str], msg_id: str, at: datetime, body: bytes
) -> dict[str, str]:
    """The three ``webhook-*`` headers of one attempt, signed with every secret in force
    (newest first)."""
    timestamp = int(at.timestamp())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, msg_id, timestamp, body) for secret in secrets_in_force
        ),
    }


def verify(
    secret: str,
    request_headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check a received request against ``secret``, as a receiver does; raises
    :class:`SignatureInvalid` saying why (missing header, stale timestamp, no match).

    Parameters:
      secret: the endpoint's secret (``whsec_...``).
      request_headers: the request's headers (names in lower case).
      body: the raw body, exactly as received (not re-serialised).
      now: the receiver's clock.
      tolerance_seconds: how far the timestamp may be from ``now``.
    """
    try:
        msg_id = request_headers["webhook-id"]
        timestamp = int(request_headers["webhook-timestamp"])
        offered = request_headers["webhook-signature"].split()
    except (KeyError, ValueError):
        raise SignatureInvalid("missing or malformed webhook-* headers") from None
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise SignatureInvalid("the timestamp is too far from now (a replayed request?)")
    expected = signature(secret, msg_id, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise SignatureInvalid("no signature matches the secret")
