"""Borrowers' signed links to the self-service page: short, expiring, revocable.

A token is 16 base62 characters (about 95 bits): the HMAC-SHA256 of the account and a random
nonce under the deployment's link secret (``ORCHESTRATOR_LINK_SECRET``). The store keeps the
nonce and the token's SHA-256, never the token, so:

- every message while the link lives carries the same link (it is derived again from the
  nonce), short enough to leave a text message in one segment;
- a token cannot be guessed or enumerated (random nonce, keyed MAC, 95 bits), and one
  altered by a single character is unknown;
- a stolen database does not give working links (the secret is not in it);
- revoking a link (or rotating the secret) stops it at once, and the next message carries a
  new one.

A link alone shows nothing: the page asks for a second factor first
(:mod:`orchestrator.api.self_service`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.store.tables import SelfServiceLink

TOKEN_LENGTH = 16
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# A link this close to its end is not put in a new message: the borrower gets a fresh one.
RENEW_BEFORE = timedelta(days=7)


class LinkRefused(Exception):
    """The token opens nothing. ``reason``: ``unknown`` (never issued, altered or from
    another deployment), ``expired`` or ``revoked``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class OpenLink:
    """A link that opens: its row id, the account and tenant it belongs to, its end."""

    id: int
    tenant_id: int
    account_id: int
    expires_at: datetime


def token_for(secret: str, account_id: int, nonce: str) -> str:
    """The token of (account, nonce) under ``secret``: 16 base62 characters."""
    mac = hmac.new(secret.encode(), f"link:{account_id}:{nonce}".encode(), hashlib.sha256)
    number = int.from_bytes(mac.digest()[:12], "big")
    chars = []
    for _ in range(TOKEN_LENGTH):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    return len(token) == TOKEN_LENGTH and all(c in _ALPHABET for c in token)


def issue(
    conn: Connection,
    *,
    tenant_id: int,
    account_id: int,
    secret: str,
    now: datetime,
    ttl: timedelta,
) -> str:
    """The account's live link's token, or a new link's when none lives long enough.

    Parameters:
      secret: the deployment's link secret.
      now: the instant of the message the link goes in.
      ttl: how long a new link lives.
    """
    live = conn.execute(
        sa.select(SelfServiceLink.nonce)
        .where(
            SelfServiceLink.account_id == account_id,
            SelfServiceLink.revoked_at.is_(None),
            SelfServiceLink.expires_at > now + min(RENEW_BEFORE, ttl / 2),
        )
        .order_by(SelfServiceLink.expires_at.desc())
        .limit(1)
    ).scalar()
    if live is not None:
        return token_for(secret, account_id, live)
    nonce = secrets.token_urlsafe(18)
    token = token_for(secret, account_id, nonce)
    conn.execute(
        sa.insert(SelfServiceLink).values(
            tenant_id=tenant_id,
            account_id=account_id,
            nonce=nonce,
            token_hash=token_hash(token),
            issued_at=now,
            expires_at=now + ttl,
        )
    )
    return token


def issue_many(
    conn: Connection,
    accounts: Sequence[tuple[int, int]],
    *,
    secret: str,
    now: datetime,
    ttl: timedelta,
) -> dict[int, str]:
    """:func:`issue` for a dispatch batch's accounts, ``(tenant_id, account_id)`` each: the
    token per account id, with one read and at most one insert whatever the batch's size."""
    tenants = dict((account_id, tenant_id) for tenant_id, account_id in accounts)
    if not tenants:
        return {}
    nonces: dict[int, str] = {}
    for account_id, nonce in conn.execute(
        sa.select(SelfServiceLink.account_id, SelfServiceLink.nonce)
        .where(
            SelfServiceLink.account_id.in_(sorted(tenants)),
            SelfServiceLink.revoked_at.is_(None),
            SelfServiceLink.expires_at > now + min(RENEW_BEFORE, ttl / 2),
        )
        .order_by(SelfServiceLink.account_id, SelfServiceLink.expires_at)
    ):
        nonces[account_id] = nonce  # the latest expiry last: it wins
    new = []
    for account_id, tenant_id in tenants.items():
        if account_id in nonces:
            continue
        nonces[account_id] = secrets.token_urlsafe(18)
        new.append(
            {
                "tenant_id": tenant_id,
                "account_id": account_id,
                "nonce": nonces[account_id],
                "token_hash": token_hash(token_for(secret, account_id, nonces[account_id])),
                "issued_at": now,
                "expires_at": now + ttl,
            }
        )
    if new:
        conn.execute(sa.insert(SelfServiceLink), new)
    return {a: token_for(secret, a, nonce) for a, nonce in nonces.items()}


def open_link(conn: Connection, token: str, *, secret: str, now: datetime) -> OpenLink:
    """The link ``token`` opens; :class:`LinkRefused` says why it opens nothing."""
    if not well_formed(token):
        raise LinkRefused("unknown")
    row: Any = conn.execute(
        sa.select(SelfServiceLink).where(SelfServiceLink.token_hash == token_hash(token))
    ).first()
    # The MAC is checked again: a row is only as good as the secret that made its token.
    if row is None or not hmac.compare_digest(token_for(secret, row.account_id, row.nonce), token):
        raise LinkRefused("unknown")
    if row.revoked_at is not None:
        raise LinkRefused("revoked")
    if row.expires_at <= now:
        raise LinkRefused("expired")
    return OpenLink(row.id, row.tenant_id, row.account_id, row.expires_at)


def revoke(conn: Connection, account_id: int, *, now: datetime, reason: str) -> int:
    """Revoke every live link of an account; returns how many."""
    return int(
        conn.execute(
            sa.update(SelfServiceLink)
            .where(
                SelfServiceLink.account_id == account_id,
                SelfServiceLink.revoked_at.is_(None),
                SelfServiceLink.expires_at > now,
            )
            .values(revoked_at=now, revoked_reason=reason[:200])
        ).rowcount
    )
