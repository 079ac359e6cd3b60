"""Email through Twilio SendGrid's v3 Mail Send API, with its signed Event Webhook.

Sources:
- Mail Send: https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send
  (``personalizations``, ``from``, ``subject``, ``content``, ``custom_args``; 202 with
  ``X-Message-Id``; 400 body ``{"errors": [{"message", "field", "help"}]}``).
- Rate limits: https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/rate-limits
  (429 with ``X-RateLimit-Reset``, a unix time).
- Event Webhook: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
  (``processed``, ``dropped``, ``deferred``, ``delivered``, ``bounce`` with ``type``
  bounce/blocked, ``open``, ``click``, ``spamreport``, ``unsubscribe``,
  ``group_unsubscribe``; ``sg_event_id`` unique per event; our ``custom_args`` at top level).
- Signature: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
  (ECDSA P-256 / SHA-256 over timestamp + raw body; headers
  ``X-Twilio-Email-Event-Webhook-Signature`` and ``-Timestamp``).
- Email Activity: https://www.twilio.com/docs/sendgrid/api-reference/email-activity/filter-all-messages
  (``GET /v3/messages?query=unique_args['attempt_ref']="…"``; needs the Email Activity
  History add-on and an API key with ``email_activity.read``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from channels.base import (
    AdapterSettings,
    OutboundMessage,
    Receipt,
    Report,
    ReportKind,
    WebhookRequest,
    secret,
)
from channels.http_adapter import HttpAdapter
from channels.signatures import load_public_key, sendgrid_valid
from channels.transport import json_body, retryable_status
from orchestrator.domain import Channel, DeliveryStatus
from orchestrator.errors import (
    ConfigError,
    PermanentError,
    Problem,
    ProviderError,
    SignatureError,
    TransientError,
)

ATTEMPT_REF_ARG = "attempt_ref"
EVENTS: dict[str, DeliveryStatus | None] = {
    "processed": DeliveryStatus.QUEUED,
    "deferred": DeliveryStatus.QUEUED,
    "delivered": DeliveryStatus.DELIVERED,
    "bounce": DeliveryStatus.BOUNCED,
    "dropped": DeliveryStatus.FAILED,
    "open": None,
    "click": None,
    "spamreport": None,
    "unsubscribe": None,
    "group_unsubscribe": None,
}
OPT_OUT_EVENTS = frozenset({"spamreport", "unsubscribe", "group_unsubscribe"})
# ``dropped`` reasons that mean the address is dead or has opted out.
DEAD_DROP_REASONS = ("Bounced Address", "Invalid")
OPTED_OUT_DROP_REASONS = ("Unsubscribed Address", "Spam Reporting Address")


class SendgridSettings(AdapterSettings):
    """SendGrid settings.

    Parameters:
      api_key_env: the variable holding the API key (``mail.send``; add
        ``email_activity.read`` for lookup).
      webhook_public_key_env: the variable holding the Event Webhook's verification key
        (base64 DER as the console shows it, or PEM).
      from_address / from_name: the verified sender.
      webhook_max_age_seconds: refuse signed events older than this. SendGrid retries a
        failed post for up to 24 hours, so the default accepts a day; replays inside it are
        harmless (every event has a dedupe key).
      lookup: use the Email Activity API (a paid add-on) for ``lookup``. Off, the adapter
        cannot look messages up (:attr:`~channels.base.Adapter.can_look_up` is false): an
        ambiguous send waits for its event and otherwise becomes ``unknown``.
    """

    # Whether to ask Email Activity about an unheard send concerns only the tenant's own sends.
    tenant_fields = AdapterSettings.tenant_fields | {"lookup"}
    sender_fields = frozenset({"from_address", "from_name"})
    stricter: ClassVar[Mapping[str, str]] = {"webhook_max_age_seconds": "lower"}

    base_url: str = "https://api.sendgrid.com"
    api_key_env: str = "SENDGRID_API_KEY"
    webhook_public_key_env: str = "SENDGRID_WEBHOOK_PUBLIC_KEY"
    from_address: str
    from_name: str = ""
    webhook_max_age_seconds: int = 86_400
    lookup: bool = True


class SendgridEmail(HttpAdapter):
    """SendGrid: send with ``custom_args.attempt_ref``, read signed events, look up by
    ``unique_args['attempt_ref']`` in Email Activity."""

    name = "sendgrid_email"
    channel = Channel.EMAIL
    Settings = SendgridSettings
    supports_lookup = True
    settings: SendgridSettings

    def __init__(self, settings: AdapterSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.api_key = secret(self.settings.api_key_env, setting=f"{self.name}.api_key_env")
        key_text = secret(
            self.settings.webhook_public_key_env, setting=f"{self.name}.webhook_public_key_env"
        )
        try:
            self.public_key = load_public_key(key_text)
        except ValueError as exc:
            raise ConfigError(
                f"{self.name}.webhook_public_key_env",
                [Problem(self.settings.webhook_public_key_env, f"not an EC public key: {exc}")],
            ) from None

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(
            method, path, headers={"Authorization": f"Bearer {self.api_key}"}, **kwargs
        )

    def error(self, response: httpx.Response) -> ProviderError:
        errors = json_body(response).get("errors") or []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        message = str(first.get("message") or response.text[:200])
        if response.status_code == 429 and "retry-after" not in response.headers:
            reset = response.headers.get("x-ratelimit-reset", "")
            wait = float(reset) - self.clock.now().timestamp() if reset.isdigit() else None
            return TransientError(
                self.name, "429", message, retry_after=max(0.0, wait) if wait else None
            )
        transient = retryable_status(self.name, response, now=self.clock.now())
        if transient is not None:
            return transient
        field = str(first.get("field") or "")
        # A malformed recipient is refused by field path: the address itself is unusable.
        dead = bool(re.fullmatch(r"personalizations\.\d+\.to\.\d+\.email", field))
        return PermanentError(
            self.name, str(response.status_code), f"{field} {message}".strip(), invalid_address=dead
        )

    def payload(self, message: OutboundMessage) -> dict[str, Any]:
        """The Mail Send body."""
        sender: dict[str, str] = {"email": self.settings.from_address}
        if self.settings.from_name:
            sender["name"] = self.settings.from_name
        content = [{"type": "text/plain", "value": message.body}]
        if message.html:
            content.append({"type": "text/html", "value": message.html})
        return {
            "personalizations": [{"to": [{"email": message.to}]}],
            "from": sender,
            "subject": message.subject or "",
            "content": content,
            "custom_args": {ATTEMPT_REF_ARG: message.attempt_ref},
        }

    def send(self, message: OutboundMessage) -> Receipt:
        response = self._request("POST", "/v3/mail/send", json=self.payload(message))
        if response.status_code not in (200, 202):
            raise self.error(response)
        message_id = response.headers.get("x-message-id")
        if not message_id:
            raise PermanentError(
                self.name, "no_message_id", "SendGrid answered without X-Message-Id"
            )
        return Receipt(self.name, message_id, DeliveryStatus.QUEUED)

    @property
    def can_look_up(self) -> bool:
        return self.settings.lookup

    def lookup(self, message: OutboundMessage) -> Receipt | None:
        if not self.settings.lookup:
            # "Not found" here would have the message sent again.
            return super().lookup(message)
        query = f"unique_args['{ATTEMPT_REF_ARG}']=\"{message.attempt_ref}\""
        response = self._request("GET", "/v3/messages", params={"query": query, "limit": "10"})
        if response.status_code != 200:
            raise self.error(response)
        for found in json_body(response).get("messages", []):
            msg_id = str(found.get("msg_id") or "")
            if msg_id:
                status = {
                    "delivered": DeliveryStatus.DELIVERED,
                    "not_delivered": DeliveryStatus.FAILED,
                }
                # Activity's msg_id is the full sg_message_id; X-Message-Id is its prefix.
                return Receipt(
                    self.name,
                    msg_id.split(".", 1)[0],
                    status.get(str(found.get("status")), DeliveryStatus.QUEUED),
                )
        return None

    def verify(self, request: WebhookRequest) -> None:
        timestamp = request.header("x-twilio-email-event-webhook-timestamp")
        signature = request.header("x-twilio-email-event-webhook-signature")
        if not sendgrid_valid(self.public_key, timestamp, request.body, signature):
            raise SignatureError(f"{self.name}: event webhook signature does not match")
        assert timestamp is not None
        age = self.clock.now().timestamp() - float(timestamp) if timestamp.isdigit() else None
        if age is None or abs(age) > self.settings.webhook_max_age_seconds:
            raise SignatureError(f"{self.name}: event webhook timestamp is stale or malformed")

    def parse(self, request: WebhookRequest) -> list[Report]:
        events = request.json()
        if not isinstance(events, list):
            raise SignatureError(f"{self.name}: expected a JSON array of events")
        return [
            report for event in events if isinstance(event, dict) for report in self._event(event)
        ]

    def _event(self, event: dict[str, Any]) -> list[Report]:
        kind = str(event.get("event") or "")
        if kind not in EVENTS:
            return []
        sg_id = str(event.get("sg_message_id") or "")
        reason = str(event.get("reason") or event.get("response") or "")
        hard_bounce = kind == "bounce" and event.get("type", "bounce") == "bounce"
        dropped_dead = kind == "dropped" and reason.startswith(DEAD_DROP_REASONS)
        dropped_out = kind == "dropped" and reason.startswith(OPTED_OUT_DROP_REASONS)
        event_id = str(event.get("sg_event_id") or f"{sg_id}:{kind}:{event.get('timestamp', '')}")
        details = {"event": kind}
        if reason:
            details["reason"] = reason[:300]
        return [
            Report(
                provider=self.name,
                kind=ReportKind.DELIVERY,
                dedupe_key=f"{self.name}:{event_id}",
                attempt_ref=str(event[ATTEMPT_REF_ARG]) if event.get(ATTEMPT_REF_ARG) else None,
                # sg_message_id is X-Message-Id plus a filter suffix.
                provider_message_id=sg_id.split(".", 1)[0] or None,
                status=EVENTS[kind],
                error_code=str(event["status"]) if event.get("status") else None,
                invalid_address=hard_bounce or dropped_dead,
                opted_out=kind in OPT_OUT_EVENTS or dropped_out,
                recipient=str(event.get("email") or "") or None,
                details=details,
            )
        ]
