"""self-service links, recent contacts by tenant

A borrower's signed, expiring, revocable link to the self-service page: the token's hash,
the nonce it is derived from, and its life. Attempts indexed by tenant and instant: the
scheduler finds recent first contacts, which call for a validation notice.

Revision ID: 0004
Revises: 0007
Create Date: 2026-11-28 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import orchestrator.store.types

revision = "0004"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "self_service_links",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", orchestrator.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "expires_at", orchestrator.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("revoked_at", orchestrator.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_self_service_links_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_self_service_links_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_service_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_self_service_links_token_hash")),
    )
    with op.batch_alter_table("self_service_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_self_service_links_account_id"), ["account_id"], unique=False
        )
    # Recent first contacts (planning/notices.py) use migration 0009's ix_attempts_tenant_id_at.


def downgrade() -> None:
    with op.batch_alter_table("self_service_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_self_service_links_account_id"))
    op.drop_table("self_service_links")
