"""Column types that mean the same on SQLite and PostgreSQL.

SQLite has no time zones and no decimals: instants are stored as UTC and always read back
timezone-aware; money is stored as text there (never as a float) and as NUMERIC on PostgreSQL.
Personal data is sealed (encrypted) in and opened out here, so that call sites read and write
plain values (:class:`EncryptedText`, :class:`EncryptedJSON`; keys in
:mod:`orchestrator.store.keys`).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators

from orchestrator.store.keys import Keyring, benchmark_null_cipher


class UTCDateTime(sa.TypeDecorator[datetime]):
    """An aware instant in, an aware UTC instant out; a naive datetime is a bug and refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use an aware UTC one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(sa.TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC(20, 4) on PostgreSQL, text on SQLite."""

    impl = sa.Numeric(20, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.Numeric(20, 4, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be a Decimal, got {type(value).__name__}")
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)


JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


# --- personal data at rest (orchestrator.store.keys) -----------------------------------------

_DEFAULT_KEYRING: list[Keyring] = []
_DEFAULT_LOCK = threading.Lock()


def keyring_for(dialect: Dialect) -> Keyring:
    """The keyring of the engine ``dialect`` belongs to (``create_engine(keyring=...)``),
    else the process's, from the environment (:meth:`Keyring.from_environment`)."""
    found = getattr(dialect, "orchestrator_keyring", None)
    if found is not None:
        return cast(Keyring, found)
    null = benchmark_null_cipher()
    if null is not None:
        return null
    if not _DEFAULT_KEYRING:
        with _DEFAULT_LOCK:
            if not _DEFAULT_KEYRING:
                _DEFAULT_KEYRING.append(Keyring.from_environment())
    return _DEFAULT_KEYRING[0]


_UNCOMPARABLE = frozenset(
    {
        operators.eq,
        operators.ne,
        operators.in_op,
        operators.not_in_op,
        operators.like_op,
        operators.ilike_op,
        operators.lt,
        operators.le,
        operators.gt,
        operators.ge,
    }
)


class Sealed(sa.TypeDecorator[Any]):
    """Shared by the sealed types: bytes in the database, plain values in Python.

    A sealed value cannot be compared in SQL (each sealing of the same text differs): a
    comparison raises at once instead of silently matching nothing. Compare a keyed hash
    (``contact_points.address_hash``) instead.
    """

    impl = sa.LargeBinary
    cache_ok = True

    class comparator_factory(sa.types.TypeDecorator.Comparator[Any]):
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            # Against a value (not another column: SQLAlchemy compares columns internally).
            if op in _UNCOMPARABLE and not all(isinstance(o, sa.Column) for o in other):
                raise TypeError(
                    f"{self.expr} is encrypted at rest and cannot be compared in SQL; "
                    "compare its keyed hash (contact_points.address_hash) instead"
                )
            return super().operate(op, *other, **kwargs)

    def __init__(self, label: str) -> None:
        super().__init__()
        # Bound into each value (AEAD associated data): a value copied into another column
        # does not open there.
        self.label = label
        self._aad = label.encode()

    def _seal(self, plaintext: bytes, dialect: Dialect) -> bytes:
        return keyring_for(dialect).seal(plaintext, self._aad)

    def _open(self, stored: Any, dialect: Dialect) -> bytes:
        if isinstance(stored, str):  # stored as text before 0007 (SQLite keeps it so)
            return stored.encode()
        return keyring_for(dialect).open(bytes(stored), self._aad)


class EncryptedText(Sealed):
    """Text sealed at rest (a borrower's name, a contact address, a message body)."""

    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(f"{self.label} takes text, got {type(value).__name__}")
        return self._seal(value.encode(), dialect)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self._open(value, dialect).decode()


class EncryptedJSON(Sealed):
    """A JSON document sealed at rest (the account document, a provider's payload)."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return self._seal(orjson.dumps(value, default=str), dialect)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return orjson.loads(self._open(value, dialect))


LookupHash = sa.String(64)
"""A contact address's keyed hash (HMAC-SHA256, hex): what lookups compare
(:meth:`Keyring.lookup_hash`)."""


def sealed_label(column: Any) -> bytes:
    """The associated data a sealed ``column``'s values are bound to (its label)."""
    if not isinstance(column.type, Sealed):
        raise TypeError(f"{column} is not a sealed column")
    return column.type._aad


def address_lookup(column: Any, address: str, dialect: Dialect) -> Any:
    """``column`` (a :data:`LookupHash` column) matches ``address``: under the current
    lookup key or one still being rotated away."""
    return column.in_(keyring_for(dialect).lookup_hashes(address))
