"""Re-sealing stored personal data under the current keys, in batches, while the service runs.

``orchestrator keys rotate`` runs this after a new KEK (or lookup key) is put in the
environment: every value whose data key is wrapped by another KEK gets its header re-wrapped
(the ciphertext is kept), every value stored before sealing is sealed, and with
``new_data_key`` every value is sealed again under a fresh data key. Contact points whose
lookup hash was made with another lookup key are hashed again.

Each row is rewritten with a compare-and-set (``WHERE id = … AND column = <the bytes read>``):
a row the service changed in the meantime is left as the service wrote it (under the
current keys already), so nothing is ever overwritten with an older value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from orchestrator.store.db import Store
from orchestrator.store.keys import PLAIN, SEALED, Keyring
from orchestrator.store.tables import Base
from orchestrator.store.types import Sealed

Progress = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class SealedTable:
    """A table with sealed columns, as rotation reads it: raw bytes, keyed by ``key``."""

    name: str
    key: tuple[str, ...]
    columns: tuple[tuple[str, bytes], ...]  # (column, its label: the AEAD's associated data)


@dataclass(slots=True)
class Rotated:
    """Per table: values rewritten, rows skipped because the service changed them first."""

    rewritten: dict[str, int] = field(default_factory=dict)
    rehashed: int = 0
    skipped: int = 0


def sealed_tables() -> list[SealedTable]:
    """Every table with a sealed column, from the tables' own declarations."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = tuple(
            (c.name, c.type.label.encode()) for c in table.columns if isinstance(c.type, Sealed)
        )
        if columns:
            found.append(
                SealedTable(table.name, tuple(c.name for c in table.primary_key.columns), columns)
            )
    return found


def count_rows(store: Store, table: SealedTable) -> int:
    with store.snapshot() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(sa.table(table.name))).scalar_one()
        )


def rotate(
    store: Store,
    *,
    batch_size: int = 500,
    new_data_key: bool = False,
    progress: Progress | None = None,
) -> Rotated:
    """Bring every sealed value and lookup hash to the current keys.

    Parameters:
      batch_size: rows read and rewritten per transaction (short transactions: the service
        goes on writing meanwhile).
      new_data_key: seal everything again under a data key drawn now (to retire a data key,
        not only a KEK).
      progress: called with (table, rows done in this batch).
    """
    keyring = store.keyring
    if new_data_key:
        keyring.renew_data_key()
    result = Rotated()
    for table in sealed_tables():
        result.rewritten[table.name] = 0
        for rows in _batches(store, table, batch_size):
            _rewrite(store, keyring, table, rows, new_data_key, result)
            if progress is not None:
                progress(table.name, len(rows))
    return result


def _raw(table: SealedTable) -> Any:
    columns: list[Any] = [sa.column(k) for k in table.key]
    columns += [sa.column(c, sa.LargeBinary) for c, _ in table.columns]
    if table.name == "contact_points":
        columns.append(sa.column("address_hash", sa.String))
    return sa.table(table.name, *columns)


def _batches(store: Store, table: SealedTable, size: int) -> Iterator[list[Any]]:
    raw = _raw(table)
    order = [raw.c[k] for k in table.key]
    last: tuple[Any, ...] | None = None
    while True:
        query = sa.select(raw).order_by(*order).limit(size)
        if last is not None:
            query = query.where(sa.tuple_(*order) > sa.tuple_(*last))
        with store.snapshot() as conn:
            rows = list(conn.execute(query).all())
        if not rows:
            return
        yield rows
        last = tuple(getattr(rows[-1], k) for k in table.key)


def _rewrite(
    store: Store,
    keyring: Keyring,
    table: SealedTable,
    rows: list[Any],
    new_data_key: bool,
    result: Rotated,
) -> None:
    raw = _raw(table)
    with store.transaction() as conn:
        for row in rows:
            where = [raw.c[k] == getattr(row, k) for k in table.key]
            for column, label in table.columns:
                stored = getattr(row, column)
                fresh = _resealed(keyring, stored, label, new_data_key)
                if fresh is None:
                    continue
                # Text stored before sealing (SQLite keeps it as text) compares as text.
                was = sa.bindparam(None, stored, sa.String if isinstance(stored, str) else None)
                done = conn.execute(
                    sa.update(raw).where(*where, raw.c[column] == was).values({column: fresh})
                ).rowcount
                if done:
                    result.rewritten[table.name] += 1
                else:
                    result.skipped += 1
            if table.name == "contact_points":
                address = _plaintext(keyring, row.address, label=b"contact_points.address")
                digest = keyring.lookup_hash(address.decode())
                if digest != row.address_hash:
                    result.rehashed += conn.execute(
                        sa.update(raw)
                        .where(*where, raw.c.address_hash == row.address_hash)
                        .values(address_hash=digest)
                    ).rowcount


def _resealed(keyring: Keyring, stored: Any, label: bytes, new_data_key: bool) -> bytes | None:
    """The value to store instead of ``stored``, or ``None`` when it is current."""
    if stored is None:
        return None
    if isinstance(stored, str) or not stored or stored[0] == PLAIN:
        if not keyring.enabled:
            return None
        return keyring.seal(_plaintext(keyring, stored, label=label), label)
    stored = bytes(stored)
    if stored[0] != SEALED:
        return None
    if new_data_key:
        if keyring.sealed_by_current_data_key(stored):
            return None
        return keyring.seal(keyring.open(stored, label), label)
    fresh = keyring.rewrap(stored)
    return None if fresh == stored else fresh


def _plaintext(keyring: Keyring, stored: Any, *, label: bytes) -> bytes:
    if isinstance(stored, str):
        return stored.encode()
    return keyring.open(bytes(stored), label)
