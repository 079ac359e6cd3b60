"""The history of ops-edited configuration: every accepted version of a tenant's strategy,
rule overlay, channel config or templates, kept in the ``config_versions`` table.

A row is never updated or deleted: it *is* the audit record (who, when, what, its SHA-256).
Versions are numbered per (scope, kind) from 1. A row with empty content is a return to the
file default (``DELETE /v1/config/{kind}``): the tenant's own version stops applying, and the
history still shows when and by whom.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.store.db import Store
from orchestrator.store.tables import ConfigVersion, Tenant


class Kind(StrEnum):
    """What a stored config version is."""

    STRATEGY = "strategy"
    RULES = "rules"
    CHANNELS = "channels"
    TEMPLATES = "templates"


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """One accepted version.

    Parameters:
      scope: the tenant's slug.
      kind: strategy, rules, channels or templates.
      version: 1, 2, ... per (scope, kind); 0 for a proposed change not stored yet.
      content: the YAML text as ops sent it (comments kept); empty: back to the file default.
      sha256: of ``content``.
      created_by: the API key prefix (or command) that made it.
      created_at: when it was accepted.
    """

    scope: str
    kind: Kind
    version: int
    content: str
    sha256: str = ""
    created_by: str = ""
    created_at: datetime | None = None

    @property
    def is_file_default(self) -> bool:
        """This version returns the tenant to the file default."""
        return not self.content

    @property
    def source(self) -> str:
        """How errors in it are attributed: ``acme strategy v3``."""
        version = f"v{self.version}" if self.version else "(proposed)"
        return f"{self.scope} {self.kind} {version}"


def content_sha256(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


_COLUMNS = (
    ConfigVersion.scope,
    ConfigVersion.kind,
    ConfigVersion.version,
    ConfigVersion.content,
    ConfigVersion.sha256,
    ConfigVersion.created_by,
    ConfigVersion.created_at,
)


def _version(row: Any) -> StoredVersion:
    return StoredVersion(
        row.scope,
        Kind(row.kind),
        row.version,
        row.content,
        row.sha256,
        row.created_by,
        row.created_at,
    )


def newest_versions(conn: Connection) -> list[StoredVersion]:
    """The newest version of each (scope, kind): what applies."""
    newest = (
        sa.select(
            ConfigVersion.scope,
            ConfigVersion.kind,
            sa.func.max(ConfigVersion.version).label("version"),
        )
        .group_by(ConfigVersion.scope, ConfigVersion.kind)
        .subquery()
    )
    rows = conn.execute(
        sa.select(*_COLUMNS)
        .join(
            newest,
            sa.and_(
                ConfigVersion.scope == newest.c.scope,
                ConfigVersion.kind == newest.c.kind,
                ConfigVersion.version == newest.c.version,
            ),
        )
        .order_by(ConfigVersion.scope, ConfigVersion.kind)
    ).all()
    return [_version(row) for row in rows]


def stored_versions(store: Store) -> list[StoredVersion]:
    """:func:`newest_versions`, read in a snapshot of its own."""
    with store.snapshot() as conn:
        return newest_versions(conn)


def history(
    conn: Connection, scope: str, kind: Kind, *, limit: int | None = None
) -> list[StoredVersion]:
    """The versions of one tenant's config of one kind, newest first (``limit`` of them)."""
    rows = conn.execute(
        sa.select(*_COLUMNS)
        .where(ConfigVersion.scope == scope, ConfigVersion.kind == kind.value)
        .order_by(ConfigVersion.version.desc())
        .limit(limit)
    ).all()
    return [_version(row) for row in rows]


def find(conn: Connection, scope: str, kind: Kind, version: int) -> StoredVersion | None:
    row = conn.execute(
        sa.select(*_COLUMNS).where(
            ConfigVersion.scope == scope,
            ConfigVersion.kind == kind.value,
            ConfigVersion.version == version,
        )
    ).first()
    return _version(row) if row is not None else None


def lock_scope(conn: Connection, tenant_id: int) -> None:
    """Serialise config changes of one tenant until the transaction ends, so a change is
    validated against exactly what it will be stored next to. (On SQLite the transaction
    already holds the database's write lock.)"""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())


def append(
    conn: Connection,
    scope: str,
    kind: Kind,
    content: str,
    *,
    created_by: str,
    now: datetime,
    after: StoredVersion | None,
) -> StoredVersion:
    """Store ``content`` as the version after ``after`` (the newest, read in this
    transaction). ``name`` is the kind, so the table's unique key also refuses two writers
    that raced to the same version number."""
    stored = StoredVersion(
        scope,
        kind,
        (after.version if after is not None else 0) + 1,
        content,
        content_sha256(content),
        created_by,
        now,
    )
    conn.execute(
        sa.insert(ConfigVersion).values(
            scope=scope,
            kind=kind.value,
            name=kind.value,
            version=stored.version,
            content=content,
            sha256=stored.sha256,
            created_by=created_by,
            created_at=now,
        )
    )
    return stored


def newest_for(conn: Connection, scope: str) -> dict[Kind, StoredVersion]:
    """The newest version of each kind one tenant has stored."""
    return {kind: newest[0] for kind in Kind if (newest := history(conn, scope, kind, limit=1))}
