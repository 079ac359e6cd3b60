"""Letters through Lob's Print & Mail API, with its signed tracking webhooks.

Sources:
- Create a letter: https://docs.lob.com/#tag/Letters/operation/letter_create
  (``POST /v1/letters``; HTTP Basic auth with the API key as user name and an empty
  password; form or multipart body with ``to`` and ``from`` address objects
  (``name``, ``address_line1``, ``address_line2``, ``address_city``, ``address_state``,
  ``address_zip``, ``address_country``), ``file`` (a PDF upload), ``color``,
  ``use_type`` (``operational`` for account notices), ``mail_type``, ``address_placement``
  and up to 20 ``metadata`` keys; answers the letter object, ``id`` ``ltr_…`` and
  ``expected_delivery_date``).
- Idempotent requests: https://docs.lob.com/#section/Idempotent-Requests
  (``Idempotency-Key`` header; a repeat with the same key answers the first letter).
- Errors: https://docs.lob.com/#section/Errors (``{"error": {"message", "status_code",
  "code"}}``; 429 rate limited, 5xx retry).
- List letters by metadata: https://docs.lob.com/#tag/Letters/operation/letters_list
  (``GET /v1/letters?metadata[attempt_ref]=…``).
- Webhooks: https://docs.lob.com/#tag/Webhooks and https://help.lob.com/developer-docs/webhooks
  (an ``event`` object with ``event_type.id`` such as ``letter.mailed``,
  ``letter.in_transit``, ``letter.in_local_area``, ``letter.processed_for_delivery``,
  ``letter.re-routed``, ``letter.delivered``, ``letter.returned_to_sender``, and ``body``,
  the letter with its ``metadata``; signed with ``Lob-Signature``, the hex HMAC-SHA256 of
  ``Lob-Signature-Timestamp + "." + raw body`` keyed with the webhook's secret).

Lob prints only US Letter sheets, and prints the addresses itself: the adapter renders the
letter on US Letter (``orchestrator.messages.letters``) and asks for
``address_placement: insert_blank_page``, so the letter's own first page, laid out for our
window envelopes, is not overprinted. Lob's webhook timestamp is read as Unix seconds or
milliseconds, whichever its size says.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

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
from channels.signatures import basic_auth, lob_valid
from channels.transport import json_body
from orchestrator.channel_types.addresses import PostalAddress
from orchestrator.domain import Channel, DeliveryStatus
from orchestrator.errors import PermanentError, ProviderError, SignatureError
from orchestrator.messages.letters import US_NO10, Letter, LetterFonts, Letterhead, letter_pdf

ATTEMPT_REF = "attempt_ref"
EVENTS: dict[str, DeliveryStatus | None] = {
    "letter.created": DeliveryStatus.QUEUED,
    "letter.rendered_pdf": None,
    "letter.rendered_thumbnails": None,
    "letter.mailed": DeliveryStatus.SENT,
    "letter.in_transit": DeliveryStatus.SENT,
    "letter.in_local_area": DeliveryStatus.SENT,
    "letter.processed_for_delivery": DeliveryStatus.SENT,
    "letter.re-routed": DeliveryStatus.SENT,
    "letter.delivered": DeliveryStatus.DELIVERED,
    "letter.returned_to_sender": DeliveryStatus.UNDELIVERED,
    "letter.deleted": DeliveryStatus.FAILED,
}
# Lob's error codes that say the recipient's address cannot be mailed to.
DEAD_ADDRESS_CODES = frozenset(
    {"failed_deliverability_strictness", "address_length_exceeds_limit", "invalid_address"}
)


class LobSettings(AdapterSettings):
    """Lob settings.

    Parameters:
      api_key_env: the variable holding the API key (``test_…`` or ``live_…``).
      webhook_secret_env: the variable holding the webhook's signing secret.
      sender_name, sender_line1, sender_line2, sender_city, sender_state, sender_zip,
        sender_country: the lender's return address (Lob's ``from``), also printed in the
        letterhead.
      letterhead_contact: a line of contact details under the letterhead.
      use_type: ``operational`` (an account notice) or ``marketing``; Lob requires one.
      mail_type: ``usps_first_class`` or ``usps_standard``.
      color: print in colour.
      webhook_max_age_seconds: refuse signed events older than this.
      latin_font / cjk_font: TrueType files to embed instead of Debian's DejaVu Sans and
        WenQuanYi Micro Hei.
    """

    sender_fields = frozenset(
        {"sender_name", "sender_line1", "sender_line2", "sender_city", "sender_state",
         "sender_zip", "sender_country", "letterhead_contact"}
    )  # fmt: skip
    stricter: ClassVar[Mapping[str, str]] = {"webhook_max_age_seconds": "lower"}

    base_url: str = "https://api.lob.com"
    api_key_env: str = "LOB_API_KEY"
    webhook_secret_env: str = "LOB_WEBHOOK_SECRET"  # noqa: S105 - a variable's name
    sender_name: str
    sender_line1: str
    sender_line2: str = ""
    sender_city: str
    sender_state: str = ""
    sender_zip: str
    sender_country: str = "US"
    letterhead_contact: str = ""
    use_type: Literal["operational", "marketing"] = "operational"
    mail_type: Literal["usps_first_class", "usps_standard"] = "usps_first_class"
    color: bool = False
    webhook_max_age_seconds: int = 86_400
    latin_font: str | None = None
    cjk_font: str | None = None


class LobLetter(HttpAdapter):
    """Lob: render the letter to PDF, post it with ``metadata[attempt_ref]``, read signed
    tracking events, look letters up by that metadata."""

    name = "lob_letter"
    channel = Channel.LETTER
    Settings = LobSettings
    supports_lookup = True
    settings: LobSettings

    def __init__(self, settings: AdapterSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.api_key = secret(self.settings.api_key_env, setting=f"{self.name}.api_key_env")
        self.webhook_secret = secret(
            self.settings.webhook_secret_env, setting=f"{self.name}.webhook_secret_env"
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        auth = {"Authorization": basic_auth(self.api_key, "")}
        return self.request(method, path, headers={**auth, **kwargs.pop("headers", {})}, **kwargs)

    @property
    def letterhead(self) -> Letterhead:
        s = self.settings
        place = " ".join(p for p in (s.sender_city, s.sender_state, s.sender_zip) if p)
        lines = tuple(line for line in (s.sender_line1, s.sender_line2, place) if line)
        return Letterhead(s.sender_name, lines, s.letterhead_contact, s.sender_country)

    def document(self, message: OutboundMessage) -> bytes:
        """The letter as the PDF Lob prints (US Letter)."""
        fonts = LetterFonts(
            latin=_path(self.settings.latin_font), cjk=_path(self.settings.cjk_font)
        )
        letter = Letter(
            recipient=PostalAddress.parse(message.to),
            subject=message.subject or "",
            body=message.body,
            locale=message.locale,
            dated=self.clock.now().date(),
        )
        return letter_pdf(letter, self.letterhead, fonts, window=US_NO10)

    def form(self, message: OutboundMessage) -> dict[str, str]:
        """The create-letter fields other than the file, in Lob's bracket form encoding."""
        to = PostalAddress.parse(message.to)
        s = self.settings
        fields = {
            "description": f"attempt {message.attempt_ref}"[:255],
            "to[name]": to.name,
            "to[address_line1]": to.line1,
            "to[address_line2]": to.line2,
            "to[address_city]": to.city,
            "to[address_state]": to.region,
            "to[address_zip]": to.postal_code,
            "to[address_country]": to.country,
            "from[name]": s.sender_name,
            "from[address_line1]": s.sender_line1,
            "from[address_line2]": s.sender_line2,
            "from[address_city]": s.sender_city,
            "from[address_state]": s.sender_state,
            "from[address_zip]": s.sender_zip,
            "from[address_country]": s.sender_country,
            "color": "true" if s.color else "false",
            "use_type": s.use_type,
            "mail_type": s.mail_type,
            "address_placement": "insert_blank_page",
            f"metadata[{ATTEMPT_REF}]": message.attempt_ref,
        }
        return {key: value for key, value in fields.items() if value}

    def send(self, message: OutboundMessage) -> Receipt:
        try:
            pdf = self.document(message)
        except ValueError as exc:  # the stored address no longer parses
            raise PermanentError(
                self.name, "invalid_address", str(exc), invalid_address=True
            ) from None
        response = self._request(
            "POST",
            "/v1/letters",
            data=self.form(message),
            files={"file": ("letter.pdf", pdf, "application/pdf")},
            headers={"Idempotency-Key": message.idempotency_key},
        )
        if response.status_code != 200:
            raise self.error(response)
        letter_id = str(json_body(response).get("id") or "")
        if not letter_id:
            raise PermanentError(self.name, "no_id", "Lob answered without a letter id")
        return Receipt(self.name, letter_id, DeliveryStatus.QUEUED)

    def error_details(
        self, response: httpx.Response, body: dict[str, Any]
    ) -> tuple[str | None, str]:
        error = _mapping(body.get("error"))
        code = error.get("code")
        return (str(code) if code else None), str(error.get("message") or response.text[:200])

    def refused(self, code: str, message: str, body: dict[str, Any]) -> ProviderError:
        return PermanentError(self.name, code, message, invalid_address=code in DEAD_ADDRESS_CODES)

    def lookup(self, message: OutboundMessage) -> Receipt | None:
        response = self._request(
            "GET", "/v1/letters", params={f"metadata[{ATTEMPT_REF}]": message.attempt_ref}
        )
        if response.status_code != 200:
            raise self.error(response)
        for found in json_body(response).get("data") or []:
            if isinstance(found, dict) and found.get("id"):
                return Receipt(self.name, str(found["id"]), DeliveryStatus.QUEUED)
        return None

    def verify(self, request: WebhookRequest) -> None:
        timestamp = request.header("lob-signature-timestamp")
        signature = request.header("lob-signature")
        if not lob_valid(self.webhook_secret, timestamp, request.body, signature):
            raise SignatureError(f"{self.name}: webhook signature does not match")
        assert timestamp is not None
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 15):
            raise SignatureError(f"{self.name}: webhook timestamp is malformed")
        stamp = int(timestamp) / (1000 if len(timestamp) > 11 else 1)
        if abs(self.clock.now().timestamp() - stamp) > self.settings.webhook_max_age_seconds:
            raise SignatureError(f"{self.name}: webhook timestamp is stale")

    def parse(self, request: WebhookRequest) -> list[Report]:
        event = request.json()
        if not isinstance(event, dict):
            raise SignatureError(f"{self.name}: expected a JSON event object")
        kind = str(_mapping(event.get("event_type")).get("id") or "")
        if kind not in EVENTS or EVENTS[kind] is None:
            return []
        letter = _mapping(event.get("body"))
        metadata = _mapping(letter.get("metadata"))
        letter_id = str(letter.get("id") or event.get("reference_id") or "")
        event_id = str(event.get("id") or f"{letter_id}:{kind}")
        returned = kind == "letter.returned_to_sender"
        return [
            Report(
                provider=self.name,
                kind=ReportKind.DELIVERY,
                dedupe_key=f"{self.name}:{event_id}",
                attempt_ref=str(metadata[ATTEMPT_REF]) if metadata.get(ATTEMPT_REF) else None,
                provider_message_id=letter_id or None,
                status=EVENTS[kind],
                error_code="returned_to_sender" if returned else None,
                invalid_address=returned,
                details={"event": kind.removeprefix("letter.")},
            )
        ]


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
