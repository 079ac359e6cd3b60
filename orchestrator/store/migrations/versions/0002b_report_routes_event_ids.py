"""report routes, event ids, idempotency expiry

Delivery reports are deduplicated per route (the global webhook or a tenant's own) and only
against reports that also matched (or also did not match) something we know. Account events
get the lender's own ``event_id`` (unique per tenant and account) and the hash of the event
as sent. Idempotency records are indexed by age for their expiry.

Revision ID: 0002b
Revises: 0001
Create Date: 2026-11-28 06:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002b"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_reports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("route", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("matched", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.drop_constraint("uq_delivery_reports_provider_dedupe_key", type_="unique")
    # Reports stored before: those that concerned no attempt (and were not inbound) matched
    # nothing, and must not shadow a genuine report any more.
    op.execute(
        "UPDATE delivery_reports SET matched = false WHERE attempt_id IS NULL AND kind <> 'inbound'"
    )
    with op.batch_alter_table("delivery_reports", schema=None) as batch_op:
        batch_op.alter_column("route", server_default=None)
        batch_op.alter_column("matched", server_default=None)
        batch_op.create_unique_constraint(
            batch_op.f("uq_delivery_reports_provider_route_dedupe_key_matched"),
            ["provider", "route", "dedupe_key", "matched"],
        )

    with op.batch_alter_table("account_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("content_hash", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_account_events_tenant_id_account_id_event_id"),
            ["tenant_id", "account_id", "event_id"],
        )

    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    with op.batch_alter_table("account_events", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_account_events_tenant_id_account_id_event_id"), type_="unique"
        )
        batch_op.drop_column("content_hash")
        batch_op.drop_column("event_id")

    # Route-scoped keys may now repeat across routes: keep the first of each.
    op.execute(
        "DELETE FROM delivery_reports WHERE id NOT IN "
        "(SELECT min(id) FROM delivery_reports GROUP BY provider, dedupe_key)"
    )
    with op.batch_alter_table("delivery_reports", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_delivery_reports_provider_route_dedupe_key_matched"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_delivery_reports_provider_dedupe_key"), ["provider", "dedupe_key"]
        )
        batch_op.drop_column("matched")
        batch_op.drop_column("route")
