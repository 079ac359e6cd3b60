"""ops users and their console sessions

Named people with a role in one tenant sign in to the ops console; their browser sessions are
rows, found by the SHA-256 of the cookie.

Revision ID: 0003
Revises: 0005
Create Date: 2026-11-28 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from orchestrator.store.types import UTCDateTime

revision = "0003"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ops_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("link_hash", sa.String(length=64), nullable=True),
        sa.Column("link_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ops_users_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_users")),
        sa.UniqueConstraint("link_hash", name=op.f("uq_ops_users_link_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_ops_users_name")),
    )
    op.create_index(op.f("ix_ops_users_tenant_id"), "ops_users", ["tenant_id"], unique=False)
    op.create_table(
        "ops_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["ops_users.id"],
            name=op.f("fk_ops_sessions_user_id_ops_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_ops_sessions_token_hash")),
    )
    op.create_index(op.f("ix_ops_sessions_user_id"), "ops_sessions", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ops_sessions_user_id"), table_name="ops_sessions")
    op.drop_table("ops_sessions")
    op.drop_index(op.f("ix_ops_users_tenant_id"), table_name="ops_users")
    op.drop_table("ops_users")
