"""The store's tables: the source of truth.

Redis may hold queues, caches and rate-limit buckets; nothing that must not be lost lives
only there. Schema changes go through Alembic (``orchestrator/store/migrations``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from orchestrator.store.types import (
    EncryptedJSON,
    EncryptedText,
    JSONDocument,
    LookupHash,
    Money,
    UTCDateTime,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy's documented way
        datetime: UTCDateTime(),
        Decimal: Money(),
        dict[str, Any]: JSONDocument,
        list[Any]: JSONDocument,
    }


class Tenant(Base):
    """A lender. Everything else belongs to exactly one tenant."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # What borrowers see in messages: who writes, how to pay, how to reach a person.
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class ApiKey(Base):
    """A tenant's API key, stored as a SHA-256 hash; the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    role: Mapped[str] = mapped_column(sa.String(16))  # lender | ops
    label: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Account(Base):
    """One overdue account (one debt) as the lender last described it."""

    __tablename__ = "accounts"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "external_id"),
        sa.Index("ix_accounts_tenant_id_due_date", "tenant_id", "due_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    external_id: Mapped[str] = mapped_column(sa.String(128))
    jurisdiction: Mapped[str] = mapped_column(sa.String(16))
    # Personal data is sealed at rest (store/types.py): read and written as plain values,
    # never compared in SQL.
    borrower_name: Mapped[str] = mapped_column(EncryptedText("accounts.borrower_name"))
    locale: Mapped[str] = mapped_column(sa.String(35))
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    region: Mapped[str | None] = mapped_column(sa.String(8))
    postal_code: Mapped[str | None] = mapped_column(EncryptedText("accounts.postal_code"))
    # Candidate IANA zones, primary first, space-separated (resolved at intake).
    zones: Mapped[str] = mapped_column(sa.String(400))
    amount_due: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(sa.String(3))
    due_date: Mapped[date] = mapped_column(sa.Date)
    product: Mapped[str] = mapped_column(sa.String(64))
    risk_score: Mapped[float | None] = mapped_column(sa.Float)
    # The normalised document (without events), and its hash: an identical re-send changes
    # nothing (not even updated_at).
    document: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("accounts.document"))
    document_hash: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Set when the borrower's personal data was erased (orchestrator/erasure.py): the
    # account keeps its facts and can no longer be contacted or re-filled.
    erased_at: Mapped[datetime | None]


class ContactPoint(Base):
    """A number, email address or push token of an account."""

    __tablename__ = "contact_points"
    __table_args__ = (sa.UniqueConstraint("account_id", "channel", "address_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(sa.String(32))
    address: Mapped[str] = mapped_column(EncryptedText("contact_points.address"))
    # The address's keyed hash (Keyring.lookup_hash): what finds a sender, never the address.
    address_hash: Mapped[str] = mapped_column(LookupHash, index=True)
    consent: Mapped[bool] = mapped_column(default=False)
    workplace: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    # Set when a provider says the address is dead; survives a re-send of the same account.
    invalid_at: Mapped[datetime | None]
    invalid_reason: Mapped[str | None] = mapped_column(sa.String(200))


class AccountEvent(Base):
    """Append-only: what happened to an account (payments, disputes, opt-outs...)."""

    __tablename__ = "account_events"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "dedupe_key"),
        sa.UniqueConstraint("tenant_id", "account_id", "event_id"),
        sa.Index("ix_account_events_account_id_at", "account_id", "at"),
        # The results' reads of one tenant's payments and promises (reporting/results.py).
        sa.Index(
            "ix_account_events_tenant_id_type_at",
            "tenant_id",
            "type",
            "at",
            postgresql_include=["account_id", "amount", "until"],
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[datetime]
    until: Mapped[datetime | None]
    channel: Mapped[str | None] = mapped_column(sa.String(32))
    amount: Mapped[Decimal | None]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(sa.String(16))  # api | import | webhook | call
    # The lender's own id for the event (its payment id): the business key a retry is
    # recognised by. Without one, an event is recognised by its content.
    event_id: Mapped[str | None] = mapped_column(sa.String(128))
    # With an event_id: the hash of the event as the lender sent it, so the same id with
    # other content is refused rather than silently taken for a retry.
    content_hash: Mapped[str | None] = mapped_column(sa.String(32))
    dedupe_key: Mapped[str] = mapped_column(sa.String(64))
    recorded_at: Mapped[datetime]


class Task(Base):
    """A planned contact: one step of a strategy for one account on one local date."""

    __tablename__ = "tasks"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "account_id", "step", "local_date"),
        sa.Index("ix_tasks_status_not_before", "status", "not_before"),
        sa.Index("ix_tasks_account_id_status", "account_id", "status"),
        # The results' cohorts: one tenant's tasks by step date (reporting/results.py).
        sa.Index(
            "ix_tasks_tenant_id_local_date",
            "tenant_id",
            "local_date",
            postgresql_include=["account_id", "id", "step", "variant"],
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    strategy: Mapped[str] = mapped_column(sa.String(128))  # name@version
    step: Mapped[str] = mapped_column(sa.String(128))  # segment.step
    variant: Mapped[str] = mapped_column(sa.String(64), default="")
    channel: Mapped[str] = mapped_column(sa.String(32))
    template: Mapped[str] = mapped_column(sa.String(128))
    purpose: Mapped[str] = mapped_column(sa.String(32), default="collection")
    fallback: Mapped[list[Any]] = mapped_column(default=list)  # channels still to try
    local_date: Mapped[date] = mapped_column(sa.Date)
    not_before: Mapped[datetime]  # the send window, moved by holds and quiet hours
    not_after: Mapped[datetime]
    expires_at: Mapped[datetime]  # after this the step is stale and is not sent at all
    status: Mapped[str] = mapped_column(sa.String(16))
    attempt_count: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
    reasons: Mapped[list[Any]] = mapped_column(default=list)  # rule ids behind its last move
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Attempt(Base):
    """One try at delivering a task through one provider: the contact ledger's facts.

    The row is created (and the contact reserved) before the provider is called; its status
    only moves forward.
    """

    __tablename__ = "attempts"
    __table_args__ = (
        sa.Index("ix_attempts_account_id_at", "account_id", "at"),
        sa.Index("ix_attempts_provider_message", "provider", "provider_message_id"),
        sa.Index("ix_attempts_status_lease_until", "status", "lease_until"),
        # One tenant's contacts over time: the results and the overview (reporting/).
        sa.Index(
            "ix_attempts_tenant_id_at",
            "tenant_id",
            "at",
            postgresql_include=["account_id", "channel", "provider", "status", "contact_kind"],
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(sa.String(40), unique=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(sa.String(32))
    provider: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(EncryptedText("attempts.address"))
    at: Mapped[datetime]  # the instant the contact was reserved (and checked)
    status: Mapped[str] = mapped_column(sa.String(16))  # DeliveryStatus or unknown/abandoned
    contact_kind: Mapped[str] = mapped_column(sa.String(16))  # ContactKind, what rules count
    call_outcome: Mapped[str | None] = mapped_column(sa.String(32))
    provider_message_id: Mapped[str | None] = mapped_column(sa.String(200))
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    error_message: Mapped[str | None] = mapped_column(sa.String(500))
    segments: Mapped[int | None]
    # What was said, as sent: the record of the communication, and what lets a send a crash
    # left ambiguous be looked up at the provider. NULL means it was never handed over.
    subject: Mapped[str | None] = mapped_column(EncryptedText("attempts.subject"))
    body: Mapped[str | None] = mapped_column(EncryptedText("attempts.body"))
    lease_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class LedgerEntry(Base):
    """Append-only: every decision and state change, in words a compliance officer reads."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.Index("ix_ledger_entries_account_id_at", "account_id", "at"),
        # Blocks and deferrals by rule over a period (reporting/activity.py).
        sa.Index(
            "ix_ledger_entries_tenant_id_at",
            "tenant_id",
            "at",
            postgresql_include=["kind", "rules"],
            postgresql_where=sa.text("rules <> '[]'::jsonb"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    attempt_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(sa.String(32))
    channel: Mapped[str | None] = mapped_column(sa.String(32))
    rules: Mapped[list[Any]] = mapped_column(default=list)
    message: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The trace (OpenTelemetry, 32 hex digits) the decision was made in, when one was.
    trace_id: Mapped[str | None] = mapped_column(sa.String(32))


class DeliveryReport(Base):
    """Append-only: each distinct fact a provider reported (replays are dropped here).

    A report is a replay of another only on the same route (the global webhook or one
    tenant's, ``route`` is ``""`` or the tenant's slug: whose credentials signed it) and only
    if both concern something we know (``matched``) or both do not: a report that matched
    nothing, early, misrouted or hostile, never makes the genuine one a duplicate.
    """

    __tablename__ = "delivery_reports"
    __table_args__ = (
        sa.UniqueConstraint("provider", "route", "dedupe_key", "matched"),
        sa.Index("ix_delivery_reports_received_at", "received_at"),  # retention
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(sa.String(64))
    route: Mapped[str] = mapped_column(sa.String(64))
    dedupe_key: Mapped[str] = mapped_column(sa.String(200))
    matched: Mapped[bool]
    kind: Mapped[str] = mapped_column(sa.String(16))
    attempt_id: Mapped[int | None] = mapped_column(sa.BigInteger, index=True)
    status: Mapped[str | None] = mapped_column(sa.String(16))
    # NULL once erased or past the tenant's retention (orchestrator/retention.py).
    payload: Mapped[dict[str, Any] | None] = mapped_column(
        EncryptedJSON("delivery_reports.payload"), default=dict
    )
    received_at: Mapped[datetime]


class ConfigVersion(Base):
    """Every accepted version of an ops-edited config (channels, strategies, rule packs)."""

    __tablename__ = "config_versions"
    __table_args__ = (sa.UniqueConstraint("scope", "kind", "name", "version"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(64))  # "global" or a tenant slug
    kind: Mapped[str] = mapped_column(sa.String(16))  # channels | strategy | rules
    name: Mapped[str] = mapped_column(sa.String(128))
    version: Mapped[int]
    content: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]


class IdempotencyRecord(Base):
    """The stored answer to a POST sent with an ``Idempotency-Key``, kept for the key's
    time to live (the scheduler deletes older ones)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.Index("ix_idempotency_keys_created_at", "created_at"),)

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("idempotency_keys.response"))
    created_at: Mapped[datetime]


class WebhookEndpoint(Base):
    """Where a tenant wants its lender events: a URL, the event types it takes, and the
    secret that signs what is posted there (the previous one too, until its overlap ends)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(40), unique=True)  # ep_...
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(2048))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    event_types: Mapped[list[Any]] = mapped_column(default=list)  # empty: every type
    # The signing key itself (it must be, to sign): shown once, never logged or returned.
    secret: Mapped[str] = mapped_column(sa.String(100))
    previous_secret: Mapped[str | None] = mapped_column(sa.String(100))
    previous_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class LenderEvent(Base):
    """Append-only, the outbox: what a tenant's endpoints are told, written in the same
    transaction as the change it reports (so nothing is lost, nothing reported that rolled
    back). ``key`` makes an event that is detected rather than recorded (a broken promise)
    reported once."""

    __tablename__ = "lender_events"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(sa.String(40), unique=True)  # evt_...: the webhook-id
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    key: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event on its way to one endpoint: pending until delivered (a 2xx) or dead (the
    retry schedule ran out); an account's deliveries to an endpoint go in event order."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "event_id"),
        sa.Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index(
            "ix_webhook_deliveries_endpoint_id_account_id_event_id",
            "endpoint_id",
            "account_id",
            "event_id",
        ),
        sa.Index("ix_webhook_deliveries_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(sa.String(40), unique=True)  # dlv_...
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("lender_events.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(16))  # pending | delivered | dead | cancelled
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookAttempt(Base):
    """Append-only: one POST of a delivery, and what the endpoint answered."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.String(500))
    duration_ms: Mapped[int]


class OpsUser(Base):
    """A named person who works in the ops console, with one role in one tenant. The
    password is kept only as a scrypt hash; a one-time link to set it, only as a SHA-256."""

    __tablename__ = "ops_users"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[str] = mapped_column(sa.String(16))  # viewer | operator | compliance | admin
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    link_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    link_expires_at: Mapped[datetime | None]
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class OpsSession(Base):
    """A signed-in browser: the cookie's SHA-256 finds the row; the CSRF token is checked
    on every form sent."""

    __tablename__ = "ops_sessions"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ops_users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class SelfServiceLink(Base):
    """A borrower's signed link to the self-service page.

    The token itself is never stored: it is an HMAC of the account and ``nonce`` under the
    deployment's link secret, so the same link can be put in every message while it lives,
    and is looked up by its SHA-256 (``token_hash``). Revoking or expiring it makes the next
    message carry a new one.
    """

    __tablename__ = "self_service_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    nonce: Mapped[str] = mapped_column(sa.String(32))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(200))


class FieldAgent(Base):
    """A lender's field agent (上门): who may be sent to a visit, and where."""

    __tablename__ = "field_agents"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    regions: Mapped[list[Any]] = mapped_column(default=list)  # regions or cities, as written
    created_at: Mapped[datetime]


class Visit(Base):
    """A field visit's work-queue state: the visit is its attempt (channel ``visit``); this
    row holds who it is assigned to and how it ended. Made at its first assignment, outcome
    or expiry; an open visit without one is simply unassigned."""

    __tablename__ = "visits"

    attempt_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("field_agents.id"))
    assigned_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(sa.String(32))
    outcome_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class RollupTotal(Base):
    """Counts kept as rows are written, for the overview (``store/rollup.py``): how many
    rows of a ``kind`` fell in one UTC ``hour`` with keys ``k1``/``k2``. The kinds:
    ``contact`` (attempts: channel, status), ``blocked`` / ``deferred`` (ledger entries
    naming a rule: rule, ``''``), ``task`` (tasks: status, ``''``) and ``account``. Timeless
    kinds (``task``, ``account``) use the hour :data:`~orchestrator.store.rollup.TIMELESS`.
    Triggers on those tables append each change to :class:`RollupChange`; a fold moves them
    here. A figure is the sum over both tables."""

    __tablename__ = "rollup_totals"

    tenant_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    k1: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    k2: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    n: Mapped[int] = mapped_column(sa.BigInteger)


class RollupChange(Base):
    """Append-only, written by triggers in the transaction of the row they count: +1 or -1
    on one :class:`RollupTotal` key. Inserts never wait for one another (no shared counter
    row is locked by writers); the fold deletes what it adds to the totals."""

    __tablename__ = "rollup_changes"
    __table_args__ = (
        sa.Index("ix_rollup_changes_tenant_id_kind_hour", "tenant_id", "kind", "hour"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(16))
    hour: Mapped[datetime]
    k1: Mapped[str] = mapped_column(sa.Text)
    k2: Mapped[str] = mapped_column(sa.String(32))
    n: Mapped[int] = mapped_column(sa.Integer)


class ResultsMark(Base):
    """Append-only, written by triggers in the transaction of the row they mark: a write
    that can move ``account_id``'s results in ``month`` (and, when ``onward``, in every
    later month). ``orchestrator/store/kept_results.py`` folds them."""

    __tablename__ = "results_marks"
    __table_args__ = (sa.Index("ix_results_marks_tenant_id_month", "tenant_id", "month"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(sa.Integer)
    month: Mapped[date] = mapped_column(sa.Date)
    account_id: Mapped[int] = mapped_column(sa.BigInteger)
    onward: Mapped[bool] = mapped_column(sa.Boolean)


# Money summed exactly: NUMERIC on PostgreSQL, ten-thousandths as an integer on SQLite.
ResultsMoney = sa.Numeric(28, 4).with_variant(sa.BigInteger(), "sqlite")


class ResultsMonth(Base):
    """A calendar month whose results are kept: its :class:`ResultsAccount` rows and
    :class:`ResultsTotal` rows exist and every write since is in a :class:`ResultsMark`."""

    __tablename__ = "results_months"

    tenant_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    built_at: Mapped[datetime]


class ResultsAccount(Base):
    """One account's part of one kept month's results, rows told apart by ``kind`` as
    :func:`orchestrator.store.kept_results.account_rows` defines them. No foreign key: an
    erased or deleted account's rows leave through the fold, which takes them off the
    totals."""

    __tablename__ = "results_accounts"

    tenant_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    k1: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    k2: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    segment: Mapped[str] = mapped_column(sa.String(128))
    arm: Mapped[str] = mapped_column(sa.String(64))
    first_date: Mapped[date | None] = mapped_column(sa.Date)  # the cohort's first task
    first_task: Mapped[int | None] = mapped_column(sa.BigInteger)
    n1: Mapped[int] = mapped_column(sa.BigInteger)
    n2: Mapped[int] = mapped_column(sa.BigInteger)
    n3: Mapped[int] = mapped_column(sa.BigInteger)
    n4: Mapped[int] = mapped_column(sa.BigInteger)
    n5: Mapped[int] = mapped_column(sa.BigInteger)
    n6: Mapped[int] = mapped_column(sa.BigInteger)
    money: Mapped[Any] = mapped_column(ResultsMoney)


class ResultsTotal(Base):
    """One kept month's figures per segment and arm: the sums of its
    :class:`ResultsAccount` rows by (kind, segment, arm, k1, k2), kept by the fold."""

    __tablename__ = "results_totals"

    tenant_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    segment: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    arm: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    k1: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    k2: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    n1: Mapped[int] = mapped_column(sa.BigInteger)
    n2: Mapped[int] = mapped_column(sa.BigInteger)
    n3: Mapped[int] = mapped_column(sa.BigInteger)
    n4: Mapped[int] = mapped_column(sa.BigInteger)
    n5: Mapped[int] = mapped_column(sa.BigInteger)
    n6: Mapped[int] = mapped_column(sa.BigInteger)
    money: Mapped[Any] = mapped_column(ResultsMoney)
