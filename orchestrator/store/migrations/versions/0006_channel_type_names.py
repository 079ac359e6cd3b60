"""channel type names up to 32 characters

Channel types are pluggable (``orchestrator.channel_types``): a lender's package may name one
``whatsapp_business``. Every ``channel`` column grows from 8 to 32 characters, the longest
name a channel type may have.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-28 09:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("contact_points", False),
    ("account_events", True),
    ("tasks", False),
    ("attempts", False),
    ("ledger_entries", True),
)


def upgrade() -> None:
    for table, nullable in _COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "channel",
                existing_type=sa.String(length=8),
                type_=sa.String(length=32),
                existing_nullable=nullable,
            )


def downgrade() -> None:
    # PostgreSQL refuses this while a row names a channel longer than 8 characters.
    for table, nullable in _COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "channel",
                existing_type=sa.String(length=32),
                type_=sa.String(length=8),
                existing_nullable=nullable,
            )
