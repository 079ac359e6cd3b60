"""indexes for the results and the overview

The results (``orchestrator/reporting/results.py``) and the overview's reads
(``reporting/activity.py``) select one tenant's tasks by step date and its attempts, events
and ledger entries by instant. On PostgreSQL each index also carries the columns those
queries read, so they are answered from the index alone; the ledger's holds only the
entries that name a rule (most name none).

Revision ID: 0009
Revises: 0002b
Create Date: 2026-11-28 09:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0002b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_tenant_id_local_date",
        "tasks",
        ["tenant_id", "local_date"],
        postgresql_include=["account_id", "id", "step", "variant"],
    )
    op.create_index(
        "ix_attempts_tenant_id_at",
        "attempts",
        ["tenant_id", "at"],
        postgresql_include=["account_id", "channel", "provider", "status", "contact_kind"],
    )
    op.create_index(
        "ix_account_events_tenant_id_type_at",
        "account_events",
        ["tenant_id", "type", "at"],
        postgresql_include=["account_id", "amount", "until"],
    )
    op.create_index(
        "ix_ledger_entries_tenant_id_at",
        "ledger_entries",
        ["tenant_id", "at"],
        postgresql_include=["kind", "rules"],
        postgresql_where=sa.text("rules <> '[]'::jsonb"),
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_tenant_id_at", table_name="ledger_entries")
    op.drop_index("ix_account_events_tenant_id_type_at", table_name="account_events")
    op.drop_index("ix_attempts_tenant_id_at", table_name="attempts")
    op.drop_index("ix_tasks_tenant_id_local_date", table_name="tasks")
