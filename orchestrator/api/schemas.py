"""What the API answers with, as the OpenAPI document declares it.

Lenders generate clients from ``/openapi.json``, so every JSON answer has a model here and
the routes name it (``response_model``). The routes build their bodies as plain data (they
are rendered by orjson); a schemathesis run in the test suite checks that the bodies match
these models. New fields may be added to an answer; a field is never removed or retyped
within v1.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

# --- operations ---------------------------------------------------------------------------


class Health(BaseModel):
    """``/healthz``: each dependency is ``ok`` or ``unavailable`` (details go to the log)."""

    status: str = Field(description="`ok`, or `unavailable` when a dependency is down")
    database: str = Field(description="`ok` or `unavailable`")
    redis: str = Field(description="`ok` or `unavailable`")


class Readiness(Health):
    """``/readyz``: ``/healthz``'s checks and the schema: ``ok``, ``behind`` (run ``orchestrator
    db upgrade``) or ``unavailable``."""

    schema_: str = Field(alias="schema", description="`ok`, `behind` or `unavailable`")


# --- accounts -----------------------------------------------------------------------------


class AddressView(BaseModel):
    country: str
    region: str | None = None
    postal_code: str | None = None
    city: str | None = None


class BorrowerView(BaseModel):
    name: str
    locale: str
    time_zone: str | None = None
    address: AddressView | None = None


class DebtView(BaseModel):
    amount_due: str = Field(description="decimal string")
    currency: str
    due_date: str = Field(description="ISO 8601 date")
    product: str
    risk_score: float | None = None


class InvalidAddress(BaseModel):
    at: str | None
    reason: str | None


class ContactPointView(BaseModel):
    channel: str
    address: str
    consent: bool
    workplace: bool
    invalid: InvalidAddress | None = Field(
        description="set when a provider reported the address unusable (e.g. a hard bounce)"
    )


class EventView(BaseModel):
    type: str
    at: str | None
    until: str | None = None
    channel: str | None = None
    amount: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    source: str | None = None
    recorded_at: str | None = None


class AccountView(BaseModel):
    """An account as last sent, with its contact points and events."""

    external_id: str
    jurisdiction: str | None
    zones: list[str] = Field(description="candidate IANA time zones, primary first")
    borrower: BorrowerView
    contact_points: list[ContactPointView]
    debt: DebtView
    events: list[EventView]
    created_at: str | None
    updated_at: str | None
    erased_at: str | None = Field(
        None, description="when the borrower's personal data was erased (then never contacted)"
    )


class AccountWritten(BaseModel):
    """``PUT /v1/accounts/{external_id}``: 201 when created, 200 when updated or unchanged."""

    created: bool
    changed: bool
    account: AccountView
    warnings: list[str] = Field(
        default_factory=list,
        description="what was accepted but looks wrong (e.g. a currency unusual for the "
        "jurisdiction); empty when nothing does",
    )


class FieldProblem(BaseModel):
    field: str
    message: str


class RejectedAccount(BaseModel):
    index: int = Field(description="position in the batch")
    external_id: str | None
    errors: list[FieldProblem]


class AccountWarnings(BaseModel):
    index: int
    external_id: str
    warnings: list[str]


class BatchWritten(BaseModel):
    """``POST /v1/accounts:batch``: counts, and the accounts refused with their errors."""

    accepted: int
    created: int
    updated: int
    unchanged: int
    events_added: int
    rejected: list[RejectedAccount]
    warnings: list[AccountWarnings] = Field(
        default_factory=list,
        description="accepted accounts that look wrong, each with its index in the batch",
    )


class EventRecorded(BaseModel):
    """``POST /v1/accounts/{external_id}/events``: 201 when recorded, 200 for a duplicate."""

    duplicate: bool
    event: EventView


class TimelineEntry(BaseModel):
    at: str
    kind: str
    channel: str | None
    message: str
    rules: list[str] = Field(description="ids of the rules behind a block or a move")
    task_id: int | None
    attempt: str | None = Field(description="the attempt's reference, if any")
    delivery_status: str | None
    data: dict[str, Any] | None = None


class Timeline(BaseModel):
    external_id: str
    entries: list[TimelineEntry]
    next: str | None = Field(description="`before` cursor of the next page; null at the end")


# --- configuration ------------------------------------------------------------------------


class InForceView(BaseModel):
    source: str = Field(description="`tenant` (a version of its own) or `file` (the default)")
    version: int | None
    sha256: str | None
    path: str | None
    created_by: str | None
    created_at: str | None
    stored_version: int | None = Field(description="the newest version stored")
    pending: bool = Field(description="a newer stored version is not in force (yet)")


class ConfigRefusal(BaseModel):
    refused_at: str | None
    problems: list[FieldProblem]


class KindsInForce(BaseModel):
    strategy: InForceView
    rules: InForceView
    channels: InForceView


class ConfigOverview(BaseModel):
    """``GET /v1/config``."""

    tenant: str
    config_version: str = Field(description="digest of the whole running configuration")
    kinds: KindsInForce
    last_error: ConfigRefusal | None


class ConfigInForce(InForceView):
    """``GET /v1/config/{kind}`` as JSON."""

    kind: str
    content: str | None = Field(description="the YAML; null when the shipped files apply")


class VersionView(BaseModel):
    version: int
    sha256: str
    created_by: str
    created_at: str | None
    file_default: bool = Field(description="this version returned to the file default")


class VersionListed(VersionView):
    in_force: bool


class ConfigVersions(BaseModel):
    """``GET /v1/config/{kind}/versions``, newest first."""

    kind: str
    versions: list[VersionListed]


class ConfigVersion(VersionView):
    """``GET /v1/config/{kind}/versions/{version}`` as JSON."""

    kind: str
    content: str


class ConfigChanged(BaseModel):
    """``PUT`` and ``DELETE /v1/config/{kind}``: the version stored (or already in force)."""

    kind: str
    version: int | None
    sha256: str | None = None
    created_by: str | None = None
    created_at: str | None = None
    file_default: bool | None = None
    changed: bool = Field(description="false when the content was already the newest")
    source: str
    in_force: bool
    config_version: str


# --- dashboard ----------------------------------------------------------------------------


class RuleCount(BaseModel):
    rule: str
    count: int


class ProviderState(BaseModel):
    channel: str
    provider: str
    state: str = Field(description="`ready`, `circuit open`, or why it is unusable")


class RecentEntry(BaseModel):
    at: str
    account: str
    kind: str
    channel: str | None
    message: str


class Dashboard(BaseModel):
    """``GET /v1/dashboard``: the key's tenant's numbers."""

    tenant: str
    now: str
    config_version: str
    accounts: int
    tasks: dict[str, int] = Field(description="tasks by status")
    contacts_24h: dict[str, dict[str, int]] = Field(description="channel → status → count")
    blocked_or_moved_7d: list[RuleCount]
    providers: list[ProviderState]
    recent: list[RecentEntry]


# --- results and simulation --------------------------------------------------------------


class ChannelCostView(BaseModel):
    messages: int = Field(description="messages (or calls) the providers accepted")
    cost: dict[str, str] = Field(description="currency → decimal string, at configured costs")
    unpriced: int = Field(description="messages through a provider with no cost configured")


class ArmView(BaseModel):
    """One arm of one strategy segment; docs/results.md defines each figure."""

    segment: str
    arm: str = Field(description="the variant id; `champion` for a segment without variants")
    accounts: int
    attempts: int
    contacted: int
    contact_rate: float | None
    right_party: int
    right_party_rate: float | None
    promised: int
    promise_rate: float | None
    promises_due: int
    promises_kept: int
    kept_rate: float | None = Field(description="`null` when no promise fell due")
    paying: int
    payment_rate: float | None
    collected: dict[str, str] = Field(description="currency → decimal string")
    channels: dict[str, ChannelCostView]


class ResultsView(BaseModel):
    """``GET /v1/results``: champion against challengers over a period."""

    tenant: str
    from_: str = Field(alias="from", description="ISO date, included")
    to: str = Field(description="ISO date, excluded")
    arms: list[ArmView]


class RuleBlocks(BaseModel):
    rule: str
    citation: str | None = Field(description="the rule's legal source, `null` when unknown")
    count: int


class StrategyRun(BaseModel):
    """What one strategy did over the sample (simulated)."""

    strategy: str
    contacts: dict[str, int] = Field(description="channel → contacts sent")
    blocked: int
    blocks_by_rule: list[RuleBlocks]
    payments: int
    collected: dict[str, str] = Field(description="currency → expected amount collected")
    accounts_reached: int


class ContactChange(BaseModel):
    step: str
    variant: str
    channel: str
    template: str
    decision: str
    day: str = Field(description="the borrower's local date")


class TreatmentChange(BaseModel):
    account: str = Field(description="the account's external id")
    removed: list[ContactChange] = Field(description="contacts the current strategy makes only")
    added: list[ContactChange] = Field(description="contacts the proposed strategy makes only")


class SimulationComparison(BaseModel):
    """``POST /v1/config/strategy/simulate``: the current and the proposed strategy side by
    side over the same sample, the same days and the same seed."""

    tenant: str
    sample: int = Field(description="accounts simulated")
    days: int
    start: str
    seed: int
    current: StrategyRun
    proposed: StrategyRun
    changed_accounts: int = Field(description="accounts whose treatment changes")
    changes: list[TreatmentChange] = Field(description="the first `limit` of them")


class ErasedCounts(BaseModel):
    contact_points: int
    messages: int
    reports: int


class PersonalDataErased(BaseModel):
    """What ``DELETE /v1/accounts/{id}/personal-data`` did (or did the first time)."""

    external_id: str
    erased_at: str
    already_erased: bool
    removed: ErasedCounts
    tasks_cancelled: int
    kept: str
