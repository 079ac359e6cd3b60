"""Automated calls through Twilio Programmable Voice: a ``<Say>`` reading the message.

Sources:
- Create a call: https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource
  (``To``, ``From``, ``Twiml``, ``StatusCallback``, ``StatusCallbackEvent``,
  ``MachineDetection``).
- Status callbacks: https://www.twilio.com/docs/voice/api/call-resource#statuscallbackevent
  (``CallSid``, ``CallStatus``, ``CallDuration``, ``AnsweredBy``).
- Answering machine detection: https://www.twilio.com/docs/voice/answering-machine-detection
  (``AnsweredBy``: human, machine_start, machine_end_beep, machine_end_silence,
  machine_end_other, fax, unknown; ``DetectMessageEnd`` waits for the beep).
- ``<Say>``: https://www.twilio.com/docs/voice/twiml/say (``language`` attribute).

Compliance: the TwiML is inline, so the same words play whether a person or a voicemail
box answers. 12 CFR 1006.2(j) allows only a *limited-content message* where a third party
may hear it, so by default this adapter refuses a message not marked ``limited_content``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar
from xml.sax.saxutils import escape, quoteattr

from channels.base import OutboundMessage, Receipt, Report, ReportKind, WebhookRequest
from channels.twilio_api import (
    TwilioAdapter,
    TwilioSettings,
    attempt_ref_of,
    last_values,
    status_callback,
)
from orchestrator.domain import CallOutcome, Channel, DeliveryStatus
from orchestrator.errors import PermanentError

STATUSES = {
    "queued": DeliveryStatus.QUEUED,
    "initiated": DeliveryStatus.QUEUED,
    "ringing": DeliveryStatus.SENT,
    "in-progress": DeliveryStatus.SENT,
    "completed": DeliveryStatus.DELIVERED,
    "busy": DeliveryStatus.UNDELIVERED,
    "no-answer": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}
FINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
CALLBACK_EVENTS = ("initiated", "ringing", "answered", "completed")


def call_outcome(call_status: str, answered_by: str | None) -> CallOutcome | None:
    """How a finished call ended, in the terms the rules count; ``None`` while it runs.

    A completed call whose answerer detection was inconclusive (``unknown`` or absent) is
    taken as a conversation: the stricter reading, since a conversation starts Reg F's
    7-day lock (12 CFR 1006.14(b)(2)(i)(B)).
    """
    if call_status not in FINAL:
        return None
    if call_status == "no-answer":
        return CallOutcome.NO_ANSWER
    if call_status in ("busy", "failed", "canceled"):
        return CallOutcome.NOT_CONNECTED
    if answered_by == "fax":
        return CallOutcome.NOT_CONNECTED
    if answered_by and answered_by.startswith("machine"):
        return CallOutcome.VOICEMAIL
    return CallOutcome.RIGHT_PARTY_CONTACT


class TwilioVoiceSettings(TwilioSettings):
    """Twilio Voice settings.

    Parameters:
      from_number: our E.164 caller id.
      voice: the ``<Say>`` voice (e.g. ``Polly.Joanna``); empty for Twilio's default.
      machine_detection: ``DetectMessageEnd`` (speak after the voicemail beep) or
        ``Enable``.
      ring_timeout_seconds: how long to let it ring (``Timeout``).
      require_limited_content: refuse messages not marked limited-content (see module doc).
    """

    tenant_fields = TwilioSettings.tenant_fields | {"voice", "ring_timeout_seconds"}
    sender_fields = frozenset({"from_number"})
    stricter: ClassVar[Mapping[str, str]] = {"require_limited_content": "true"}

    from_number: str
    voice: str = ""
    machine_detection: str = "DetectMessageEnd"
    ring_timeout_seconds: int = 30
    require_limited_content: bool = True


class TwilioVoice(TwilioAdapter):
    """Twilio Voice: place the call, read its status callbacks into call outcomes.

    ``lookup`` is not possible: a call keeps no field of ours and calls to one number carry
    no distinguishing text, so ``supports_lookup`` stays False.
    """

    name = "twilio_voice"
    channel = Channel.CALL
    Settings = TwilioVoiceSettings
    resource = "Calls"
    statuses = STATUSES
    settings: TwilioVoiceSettings

    def twiml(self, message: OutboundMessage) -> str:
        """``<Response><Say language=…>`` the message ``</Say></Response>``."""
        attributes = f" language={quoteattr(message.locale)}"
        if self.settings.voice:
            attributes += f" voice={quoteattr(self.settings.voice)}"
        return f"<Response><Say{attributes}>{escape(message.body)}</Say></Response>"

    @property
    def limited_content_only(self) -> bool:
        return self.settings.require_limited_content

    def send(self, message: OutboundMessage) -> Receipt:
        if self.settings.require_limited_content and not message.limited_content:
            raise PermanentError(
                self.name,
                "limited_content_required",
                "an automated call may reach voicemail or a third party: only a "
                "limited-content message may be played (12 CFR 1006.2(j))",
            )
        form: dict[str, str | list[str]] = {
            "To": message.to,
            "From": self.settings.from_number,
            "Twiml": self.twiml(message),
            "MachineDetection": self.settings.machine_detection,
            "Timeout": str(self.settings.ring_timeout_seconds),
        }
        callback = status_callback(message.callback_url, message.attempt_ref)
        if callback:
            form["StatusCallback"] = callback
            form["StatusCallbackMethod"] = "POST"
            form["StatusCallbackEvent"] = list(CALLBACK_EVENTS)
        return self.create(form, "call")

    def parse(self, request: WebhookRequest) -> list[Report]:
        form = last_values(request.form())
        status = form.get("CallStatus", "")
        if status not in STATUSES:
            return []
        sid = form.get("CallSid", "")
        answered_by = form.get("AnsweredBy") or None
        details = {
            key: form[name]
            for key, name in (("answered_by", "AnsweredBy"), ("duration_seconds", "CallDuration"))
            if form.get(name)
        }
        return [
            Report(
                provider=self.name,
                kind=ReportKind.CALL,
                dedupe_key=f"{self.name}:{sid}:{status}",
                attempt_ref=attempt_ref_of(request.url),
                provider_message_id=sid,
                status=STATUSES[status],
                call_outcome=call_outcome(status, answered_by),
                error_code=form.get("ErrorCode") or None,
                recipient=form.get("To"),
                details=details,
            )
        ]

    def webhook_reply(self, reports: list[Report]) -> tuple[str, bytes]:
        return "text/xml", b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
