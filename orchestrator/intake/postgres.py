"""Intake's PostgreSQL path: ``COPY`` into session-local staging tables, then set-based upserts.

Same meaning as the generic path in :mod:`orchestrator.intake.upsert` (the store tests run
both): an unchanged document writes nothing, a changed one replaces its contact points while
keeping a provider's "this address is dead" verdict. It exists because row-by-row inserts
cannot keep up with a 10,000-account batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from orchestrator.intake.prepared import IntakeResult, PreparedAccount
from orchestrator.store.keys import Keyring
from orchestrator.store.tables import Account, ContactPoint
from orchestrator.store.types import keyring_for, sealed_label

_ACCOUNT_COLUMNS = (
    "external_id",
    "jurisdiction",
    "borrower_name",
    "locale",
    "time_zone",
    "country",
    "region",
    "postal_code",
    "zones",
    "amount_due",
    "currency",
    "due_date",
    "product",
    "risk_score",
    "document",
    "document_hash",
)
_POINT_COLUMNS = (
    "account_id",
    "channel",
    "address",
    "address_hash",
    "consent",
    "workplace",
    "position",
)
# Sealed on the way in (store/types.py), as SQLAlchemy's own INSERT would.
_SEALED = ("borrower_name", "postal_code", "document")

_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS intake_accounts (
    external_id text, jurisdiction text, borrower_name bytea, locale text, time_zone text,
    country text, region text, postal_code bytea, zones text, amount_due numeric,
    currency text, due_date date, product text, risk_score double precision,
    document bytea, document_hash text
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS intake_points (
    account_id bigint, channel text, address bytea, address_hash text, consent boolean,
    workplace boolean, position integer
) ON COMMIT DELETE ROWS;
TRUNCATE intake_accounts, intake_points;
"""

# Column names are constants of this module, never input.
_UPSERT_ACCOUNTS = f"""
INSERT INTO accounts (tenant_id, {", ".join(_ACCOUNT_COLUMNS)}, created_at, updated_at)
SELECT %(tenant)s, {", ".join(_ACCOUNT_COLUMNS)}, %(now)s, %(now)s FROM intake_accounts
ON CONFLICT (tenant_id, external_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _ACCOUNT_COLUMNS if c != "external_id")},
    updated_at = EXCLUDED.updated_at
WHERE accounts.document_hash IS DISTINCT FROM EXCLUDED.document_hash
  AND accounts.erased_at IS NULL
RETURNING id, external_id, (xmax = 0) AS inserted
"""  # noqa: S608

_DELETE_GONE_POINTS = """
DELETE FROM contact_points cp
WHERE cp.account_id = ANY(%(changed)s)
  AND NOT EXISTS (
      SELECT 1 FROM intake_points s
      WHERE s.account_id = cp.account_id AND s.channel = cp.channel
        AND s.address_hash = cp.address_hash
  )
"""

_UPSERT_POINTS = """
INSERT INTO contact_points (account_id, channel, address, address_hash, consent, workplace,
    position)
SELECT account_id, channel, address, address_hash, consent, workplace, position
FROM intake_points
ON CONFLICT (account_id, channel, address_hash) DO UPDATE SET
    consent = EXCLUDED.consent, workplace = EXCLUDED.workplace, position = EXCLUDED.position
"""

_EXISTING_IDS = """
SELECT a.external_id, a.id FROM intake_accounts s
JOIN accounts a ON a.tenant_id = %(tenant)s AND a.external_id = s.external_id
"""


def copy_accounts(
    conn: Connection,
    tenant_id: int,
    accounts: Sequence[PreparedAccount],
    *,
    now: datetime,
    result: IntakeResult,
) -> None:
    """Upsert ``accounts`` and their contact points inside the caller's transaction."""
    raw: Any = conn.connection.driver_connection
    by_id = {a.external_id: a for a in accounts}
    keyring = keyring_for(conn.dialect)
    labels = {c: sealed_label(Account.__table__.c[c]) for c in _SEALED}
    with raw.cursor() as cur:
        cur.execute(_STAGING)
        with cur.copy(f"COPY intake_accounts ({', '.join(_ACCOUNT_COLUMNS)}) FROM STDIN") as copy:
            for account in accounts:
                row = dict(account.row)
                for column, label in labels.items():
                    if row[column] is not None:
                        row[column] = keyring.seal(row[column].encode(), label)
                copy.write_row([row[c] for c in _ACCOUNT_COLUMNS])
        cur.execute(_UPSERT_ACCOUNTS, {"tenant": tenant_id, "now": now})
        written = cur.fetchall()
        created = [(id_, by_id[external_id]) for id_, external_id, inserted in written if inserted]
        changed = [
            (id_, by_id[external_id]) for id_, external_id, inserted in written if not inserted
        ]
        # A new account has no contact points yet: its rows go straight into the table.
        _copy_points(cur, "contact_points", created, keyring)
        if changed:
            _copy_points(cur, "intake_points", changed, keyring)
            cur.execute(_DELETE_GONE_POINTS, {"changed": [id_ for id_, _ in changed]})
            cur.execute(_UPSERT_POINTS)
        result.created += len(created)
        result.updated += len(changed)
        result.unchanged += len(accounts) - len(written)
        result.touched.update(id_ for id_, _, _ in written)
        if len(written) < len(accounts) or any(a.events for a in accounts):
            cur.execute(_EXISTING_IDS, {"tenant": tenant_id})
            result.account_ids.update(dict(cur.fetchall()))
        else:
            result.account_ids.update({external_id: id_ for id_, external_id, _ in written})


def _copy_points(
    cur: Any, table: str, accounts: list[tuple[int, PreparedAccount]], keyring: Keyring
) -> None:
    if not any(account.contact_points for _, account in accounts):
        return
    label = sealed_label(ContactPoint.__table__.c.address)
    with cur.copy(f"COPY {table} ({', '.join(_POINT_COLUMNS)}) FROM STDIN") as copy:
        for account_id, account in accounts:
            for point in account.contact_points:
                copy.write_row(
                    (
                        account_id,
                        point["channel"],
                        keyring.seal(point["address"].encode(), label),
                        keyring.lookup_hash(point["address"]),
                        point["consent"],
                        point["workplace"],
                        point["position"],
                    )
                )
