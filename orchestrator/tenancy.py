"""Tenants and their API keys.

A key looks like ``co_3kq8v2xa_<43 random characters>``: the short prefix finds the row,
the SHA-256 of the whole key is what is stored and compared (in constant time). The key is
printed once, when it is issued; nobody can read it back. SHA-256 rather than a slow password
hash is deliberate: keys carry 256 bits of randomness, so there is nothing to brute-force,
and every API request checks one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.errors import OrchestratorError
from orchestrator.store.tables import ApiKey, Tenant

_KEY = re.compile(r"^co_([a-z2-7]{8})_([A-Za-z0-9_\-]{43})$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9\-]{1,62}$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


class Role(StrEnum):
    LENDER = "lender"  # accounts and events of its own tenant
    OPS = "ops"  # also reads and replaces configs


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the tenant a key belongs to and what it may do."""

    tenant_id: int
    tenant_slug: str
    role: Role
    key_prefix: str


class TenantExists(OrchestratorError):
    pass


def create_tenant(
    conn: Connection, slug: str, *, name: str, now: datetime, profile: dict[str, Any] | None = None
) -> int:
    """Create a tenant; ``slug`` is its stable short name (lower case, digits, dashes)."""
    if not _SLUG.fullmatch(slug):
        raise ValueError(
            f"tenant name {slug!r} must be 2-63 lower-case letters, digits or dashes, "
            "starting with a letter or digit"
        )
    exists = conn.execute(sa.select(Tenant.id).where(Tenant.slug == slug)).scalar()
    if exists is not None:
        raise TenantExists(f"a tenant named {slug!r} already exists")
    return int(
        conn.execute(
            sa.insert(Tenant)
            .values(slug=slug, name=name, profile=profile or {}, created_at=now)
            .returning(Tenant.id)
        ).scalar_one()
    )


def tenant_id_for(conn: Connection, slug: str) -> int | None:
    return conn.execute(sa.select(Tenant.id).where(Tenant.slug == slug)).scalar()


def issue_key(
    conn: Connection, tenant_id: int, *, role: Role, now: datetime, label: str = ""
) -> str:
    """Create an API key and return it; only its hash is kept."""
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    key = f"co_{prefix}_{secrets.token_urlsafe(32)}"
    conn.execute(
        sa.insert(ApiKey).values(
            tenant_id=tenant_id,
            prefix=prefix,
            secret_hash=_digest(key),
            role=role.value,
            label=label,
            created_at=now,
        )
    )
    return key


def revoke_key(
    conn: Connection, prefix: str, *, now: datetime, tenant_id: int | None = None
) -> bool:
    """Revoke the active key with ``prefix`` (of tenant ``tenant_id`` only, when given);
    returns whether there was one."""
    query = sa.update(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
    if tenant_id is not None:
        query = query.where(ApiKey.tenant_id == tenant_id)
    result = conn.execute(query.values(revoked_at=now))
    return result.rowcount > 0


def list_keys(conn: Connection, tenant_id: int) -> list[Any]:
    """A tenant's API keys, oldest first: prefix, role, label, created and revoked (never
    the key: only its hash is stored)."""
    return list(
        conn.execute(
            sa.select(
                ApiKey.prefix, ApiKey.role, ApiKey.label, ApiKey.created_at, ApiKey.revoked_at
            )
            .where(ApiKey.tenant_id == tenant_id)
            .order_by(ApiKey.created_at, ApiKey.id)
        )
    )


def authenticate(conn: Connection, key: str) -> Principal | None:
    """The principal a key belongs to, or ``None`` for an unknown, malformed or revoked key."""
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    row = conn.execute(
        sa.select(ApiKey.secret_hash, ApiKey.role, ApiKey.tenant_id, Tenant.slug)
        .join(Tenant, Tenant.id == ApiKey.tenant_id)
        .where(ApiKey.prefix == match.group(1), ApiKey.revoked_at.is_(None))
    ).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _digest(key)):
        return None
    return Principal(row.tenant_id, row.slug, Role(row.role), match.group(1))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
