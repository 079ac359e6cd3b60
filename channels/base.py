"""The one small interface every provider adapter implements.

Like an httpx transport: an adapter sends one rendered message and returns a
:class:`Receipt` or raises a typed error (:class:`~orchestrator.errors.TransientError`,
:class:`~orchestrator.errors.PermanentError`); and it reads that provider's webhooks
(signature first, then the reports in it). Everything provider-specific stays in the
adapter's module; dispatch and the webhook endpoint only see these types.

An adapter declares its settings as a pydantic model (credentials as the *names* of
environment variables, never as values) and is registered under the entry-point group
``orchestrator.channels`` so a lender can add one without touching the core.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from channels.egress import Egress
from orchestrator.clock import Clock
from orchestrator.domain import CallOutcome, Channel, DeliveryStatus
from orchestrator.errors import ConfigError, PermanentError, Problem, SignatureError


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One rendered message, ready for a provider.

    Parameters:
      attempt_ref: our attempt's public id; the adapter puts it where the provider carries
        it back in reports (Twilio ``StatusCallback`` query, SendGrid ``custom_args``,
        Aliyun ``OutId``, FCM ``data``), so a report always finds its attempt.
      idempotency_key: stable per task: a resend of the same task carries the same key.
      to: E.164 number, email address or push token.
      body: the text (SMS/push body, email plain-text part, call script).
      subject / html: email only.
      title: push only.
      template / template_params: providers with pre-approved templates (Aliyun) send these
        instead of ``body``.
      callback_url: our webhook for this provider (``{public_url}/v1/webhooks/{provider}``).
      limited_content: a call or voicemail that may only carry a limited-content message.
      disclosures: the disclosures the rule pack required (appended to ``body``); a
        provider that sends a pre-approved text must refuse one its text does not carry.
      tags: free labels; ``reserved_at`` (ISO 8601) is when dispatch reserved the send, which
        a ``lookup`` searches from.
    """

    attempt_ref: str
    idempotency_key: str
    channel: Channel
    to: str
    body: str
    locale: str = "en-US"
    subject: str | None = None
    html: str | None = None
    title: str | None = None
    template: str | None = None
    template_params: Mapping[str, str] = field(default_factory=dict)
    callback_url: str | None = None
    limited_content: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    disclosures: tuple[str, ...] = ()

    @property
    def reserved_at(self) -> datetime | None:
        """When dispatch reserved the send (``tags['reserved_at']``), if it says."""
        value = self.tags.get("reserved_at")
        if not value:
            return None
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return None
        return instant if instant.tzinfo is not None else None


@dataclass(frozen=True, slots=True)
class Receipt:
    """A provider accepted a message."""

    provider: str
    provider_message_id: str
    status: DeliveryStatus = DeliveryStatus.QUEUED


class ReportKind(StrEnum):
    DELIVERY = "delivery"  # a status change of one of our messages
    INBOUND = "inbound"  # a borrower wrote to us (e.g. STOP)
    CALL = "call"  # how a call ended


@dataclass(frozen=True, slots=True)
class Report:
    """One fact a provider reported, in our terms.

    Parameters:
      dedupe_key: unique per reported fact; a replayed webhook yields the same key, so
        storing reports is idempotent.
      attempt_ref: our correlation, when the provider carried it back.
      status: for delivery and call reports, the delivery status it moves the attempt to.
      call_outcome: for call reports.
      invalid_address: the report says the address is dead (hard bounce, unknown number).
      opted_out: the report says the recipient unsubscribed (SendGrid ``unsubscribe``,
        Twilio 21610).
      sender / recipient / text: inbound messages.
      details: anything else worth keeping (dialer promise date and amount, duration).
      channel: for inbound reports, the channel ``sender`` is an address on (a WeChat
        openid, a phone number); SMS when not said.
    """

    provider: str
    kind: ReportKind
    dedupe_key: str
    attempt_ref: str | None = None
    provider_message_id: str | None = None
    status: DeliveryStatus | None = None
    call_outcome: CallOutcome | None = None
    error_code: str | None = None
    invalid_address: bool = False
    opted_out: bool = False
    sender: str | None = None
    recipient: str | None = None
    text: str | None = None
    occurred_at: datetime | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    channel: Channel | None = None


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """An incoming webhook exactly as received, for signature checks and parsing.

    Parameters:
      url: the full URL the provider called (scheme, host, path and query), as the provider
        saw it; Twilio signs it.
      headers: lower-cased header names.
      body: the raw body bytes; signatures are computed over them.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def form(self) -> list[tuple[str, str]]:
        """The form-encoded body as (name, value) pairs, in order, repeats kept.

        Raises :class:`SignatureError` when the body is not UTF-8: no provider signs such a
        form, and a stranger's bytes must be refused, not crash the endpoint.
        """
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise SignatureError("body is not UTF-8 form data") from None
        return parse_qsl(text, keep_blank_values=True)

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise SignatureError(f"body is not JSON: {exc}") from None


class AdapterSettings(BaseModel):
    """Base for an adapter's declared settings. Unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_fields: ClassVar[frozenset[str]] = frozenset({"timeout_seconds"})
    """Settings a tenant may choose for itself while it sends through the *platform's*
    provider account; every other setting must be the platform's own (see
    ``orchestrator/configuration/tenant_providers.py``)."""
    sender_fields: ClassVar[frozenset[str]] = frozenset()
    """Settings that say whom a message is from (a number, an address, a brand): with the
    platform's account only the platform's value or one the platform allows the tenant."""
    stricter: ClassVar[Mapping[str, str]] = {}
    """Compliance toggles and which way is stricter (``"true"``: on; ``"lower"``: a
    smaller number): any tenant may tighten them, none may loosen them."""

    base_url: str
    timeout_seconds: float = 10.0


def settings_problems(exc: ValidationError, path: str) -> list[Problem]:
    """Pydantic's errors as :class:`Problem` s whose paths continue ``path``."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        full = f"{path}.{where}" if path and where else (path or where)
        problems.append(Problem(full, error["msg"]))
    return problems


def secret(env_name: str, *, setting: str) -> str:
    """Read a credential from the environment.

    Raises :class:`ConfigError` naming the variable when it is missing, so a worker refuses
    to start rather than failing at the first send.
    """
    value = os.environ.get(env_name)
    if not value:
        raise ConfigError(
            setting, [Problem(setting, f"environment variable {env_name} is not set")]
        )
    return value


class Adapter(ABC):
    """A provider adapter.

    Parameters:
      settings: an instance of the class's ``Settings`` model.
      http: the shared httpx client (its transport is what tests may inject).
      clock: the injected clock.
      egress: the guard for connections the adapter opens itself (SMTP) when its endpoint
        is one a tenant named (``None``: the platform's own endpoint); HTTP adapters get a
        guarded ``http`` client instead.

    Class attributes:
      name: registry name, e.g. ``twilio_sms``; also the webhook path segment.
      channel: the channel it serves.
      Settings: its pydantic settings model.
      supports_lookup: the provider offers a way to find a message by our attempt ref, which
        lets dispatch reconcile a send a crash left ambiguous instead of giving up on it.
        Whether a given configuration may use it is :attr:`can_look_up`.
      replies_inline: the answer to an inbound webhook reaches the borrower as a message
        (Twilio's TwiML), so an opt-out confirmation goes there rather than as a new send.
      delivery_note: for a provider whose delivery reports are missing or partial, what a
        reader of "sent, not delivered" should know (the timeline and the demo say it).
    """

    name: ClassVar[str]
    channel: ClassVar[Channel]
    Settings: ClassVar[type[AdapterSettings]]
    supports_lookup: ClassVar[bool] = False
    replies_inline: ClassVar[bool] = False
    delivery_note: ClassVar[str] = ""

    def __init__(
        self,
        settings: AdapterSettings,
        *,
        http: httpx.Client,
        clock: Clock,
        egress: Egress | None = None,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self.egress = egress

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        *,
        http: httpx.Client,
        clock: Clock,
        path: str = "",
        egress: Egress | None = None,
    ) -> Adapter:
        """Build the adapter from its settings mapping (one provider block of
        ``config/channels.yaml``).

        Parameters:
          config: the provider's ``settings`` mapping.
          http / clock / egress: as for the constructor.
          path: where the mapping sits in its file (e.g. ``channels.sms.providers[0].settings``),
            so every problem names the exact field.

        Raises :class:`ConfigError` listing every bad field, or the missing environment
        variable a credential names.
        """
        try:
            settings = cls.Settings.model_validate(dict(config))
        except ValidationError as exc:
            raise ConfigError(path or cls.name, settings_problems(exc, path)) from None
        return cls(settings, http=http, clock=clock, egress=egress)

    @abstractmethod
    def send(self, message: OutboundMessage) -> Receipt:
        """Send one message. Raises TransientError or PermanentError on failure."""

    def verify(self, request: WebhookRequest) -> None:
        """Check the webhook's signature; raise :class:`SignatureError` when it is wrong.

        A provider that posts no webhooks (SMTP reports bounces by email) need not override
        this: every request on its route is refused."""
        raise SignatureError(f"{self.name} receives no webhooks")

    def parse(self, request: WebhookRequest) -> list[Report]:
        """Read the reports in a verified webhook (none, for a provider that posts none)."""
        return []

    @property
    def limited_content_only(self) -> bool:
        """Whether this adapter, as configured, may only carry a limited-content message
        (12 CFR 1006.2(j): what an automated call or a voicemail may say). Dispatch then
        renders the limited-content template, with only the disclosures it allows. ``False``
        unless the adapter says otherwise (Twilio Voice's ``require_limited_content``)."""
        return False

    @property
    def can_look_up(self) -> bool:
        """Whether :meth:`lookup` answers, as this adapter is configured.

        Dispatch trusts a ``None`` from ``lookup`` as "the provider never accepted it" and
        sends the message again, so an adapter that cannot really ask (the feature is off,
        a paid add-on is not bought) must say ``False`` here: its ambiguous sends then wait
        for a report and otherwise become ``unknown``, never sent twice. The class's
        ``supports_lookup`` by default; adapters whose lookup depends on a setting narrow it.
        """
        return self.supports_lookup

    def lookup(self, message: OutboundMessage) -> Receipt | None:
        """Ask the provider whether it accepted ``message`` (by our attempt ref).

        Only called when :attr:`can_look_up` is true. Returns ``None`` only when the provider
        never saw it; raises :class:`PermanentError` when this adapter cannot ask.
        """
        raise PermanentError(self.name, "no_lookup", f"{self.name} cannot look messages up")

    def webhook_reply(self, reports: list[Report]) -> tuple[str, bytes]:
        """The body to answer the provider's webhook with: (content type, body)."""
        return "application/json", b'{"ok":true}'
