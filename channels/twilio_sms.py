"""SMS through Twilio's Programmable Messaging API.

Sources:
- Send: https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
  (``To``, ``From`` or ``MessagingServiceSid``, ``Body``, ``StatusCallback``; 201 with
  ``sid`` and ``status``).
- Status callbacks: https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
  (``MessageSid``, ``MessageStatus``, ``ErrorCode``).
- Inbound: https://www.twilio.com/docs/messaging/guides/webhook-request (``From``, ``To``,
  ``Body``, ``SmsStatus=received``); replies are TwiML:
  https://www.twilio.com/docs/messaging/twiml.
- Opt-out: https://help.twilio.com/articles/223134027 (Twilio answers STOP, STOPALL,
  UNSUBSCRIBE, CANCEL, END, QUIT itself on long codes and toll-free numbers) and
  https://help.twilio.com/articles/360034798533 (Advanced Opt-Out: a Messaging Service's
  own keywords and replies; the inbound webhook then carries ``OptOutType``).
- Lookup: https://www.twilio.com/docs/messaging/api/message-resource#read-multiple-message-resources
  (filters ``To``, ``From``, ``DateSent>``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from xml.sax.saxutils import escape

from pydantic import Field, model_validator

from channels.base import OutboundMessage, Receipt, Report, ReportKind, WebhookRequest
from channels.keywords import Intent, classify, provider_confirms
from channels.transport import json_body
from channels.twilio_api import (
    INVALID_ADDRESS_CODES,
    OPTED_OUT_CODES,
    TwilioAdapter,
    TwilioSettings,
    attempt_ref_of,
    last_values,
    status_callback,
)
from orchestrator.domain import Channel, DeliveryStatus

# Advanced Opt-Out's ``OptOutType`` on an inbound message (help.twilio.com/articles/360034798533).
TWILIO_OPT_OUT_TYPES = {"STOP": Intent.OPT_OUT, "START": Intent.OPT_IN, "HELP": Intent.HELP}
# MessageStatus → our ordered delivery status.
STATUSES = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}


class TwilioSmsSettings(TwilioSettings):
    """Twilio SMS settings.

    Parameters:
      from_number: our E.164 sender, or
      messaging_service_sid: a Messaging Service (``MG…``) that picks the sender.
      confirm_opt_outs: answer an opt-out reply with ``opt_out_confirmation``. Twilio
        already confirms its own six keywords, so by default we confirm only the others
        (REVOKE, 退订, TD…); set ``always`` when Advanced Opt-Out is switched off.
      lookup_days: how far back ``lookup`` searches at least (it always reaches back to the
        day the send was reserved).
    """

    tenant_fields = TwilioSettings.tenant_fields | {
        "confirm_opt_outs",
        "opt_out_confirmation",
        "lookup_days",
    }
    sender_fields = frozenset({"from_number", "messaging_service_sid"})

    from_number: str | None = None
    messaging_service_sid: str | None = None
    confirm_opt_outs: str = "unhandled"
    opt_out_confirmation: str = (
        "You have been unsubscribed and will receive no more text messages from us. "
        "Reply START to resubscribe."
    )
    lookup_days: int = Field(2, ge=1)

    @model_validator(mode="after")
    def _one_sender(self) -> TwilioSmsSettings:
        if not (self.from_number or self.messaging_service_sid):
            raise ValueError("set from_number or messaging_service_sid")
        if self.confirm_opt_outs not in ("unhandled", "always", "never"):
            raise ValueError("confirm_opt_outs must be unhandled, always or never")
        return self


class TwilioSms(TwilioAdapter):
    """Twilio Messages: send, status callbacks, inbound replies (STOP) and lookup.

    ``lookup`` lists the messages sent to the same number from the same sender in the last
    ``lookup_days`` days and matches the exact body. Twilio keeps no field of ours on a
    message, so two identical texts to one number inside that window cannot be told apart;
    the newest is returned (the safe direction: the task is taken as sent, never sent twice).
    """

    name = "twilio_sms"
    channel = Channel.SMS
    Settings = TwilioSmsSettings
    supports_lookup = True
    replies_inline = True
    resource = "Messages"
    statuses = STATUSES
    settings: TwilioSmsSettings

    def send(self, message: OutboundMessage) -> Receipt:
        form: dict[str, str] = {"To": message.to, "Body": message.body}
        if self.settings.messaging_service_sid:
            form["MessagingServiceSid"] = self.settings.messaging_service_sid
        else:
            form["From"] = self.settings.from_number or ""
        callback = status_callback(message.callback_url, message.attempt_ref)
        if callback:
            form["StatusCallback"] = callback
        return self.create(form, "message")

    def parse(self, request: WebhookRequest) -> list[Report]:
        form = last_values(request.form())
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        status = form.get("MessageStatus") or form.get("SmsStatus") or ""
        if "Body" in form and status in ("received", "receiving", ""):
            return [self._inbound(sid, form)]
        if status not in STATUSES:
            return []
        code = form.get("ErrorCode") or None
        return [
            Report(
                provider=self.name,
                kind=ReportKind.DELIVERY,
                dedupe_key=f"{self.name}:{sid}:{status}",
                attempt_ref=attempt_ref_of(request.url),
                provider_message_id=sid,
                status=STATUSES[status],
                error_code=code,
                invalid_address=code in INVALID_ADDRESS_CODES,
                opted_out=code in OPTED_OUT_CODES,
                recipient=form.get("To"),
            )
        ]

    def _inbound(self, sid: str, form: dict[str, str]) -> Report:
        text = form.get("Body", "")
        # With Advanced Opt-Out, Twilio names the keyword type it acted on (and answered):
        # a lender's own keywords (BAJA, ARRET…) count even where ours do not know them.
        twilio_type = (form.get("OptOutType") or "").upper()
        intent = TWILIO_OPT_OUT_TYPES.get(twilio_type) or classify(text)
        details = {"intent": str(intent)}
        if twilio_type:
            details["opt_out_type"] = twilio_type
        return Report(
            provider=self.name,
            kind=ReportKind.INBOUND,
            dedupe_key=f"{self.name}:in:{sid}",
            provider_message_id=sid,
            opted_out=intent == "opt_out",
            sender=form.get("From"),
            recipient=form.get("To"),
            text=text,
            details=details,
        )

    def webhook_reply(self, reports: list[Report]) -> tuple[str, bytes]:
        """TwiML: empty, or the opt-out confirmation when the law wants one and Twilio did
        not already send it (CTIA 5.1.2: one confirmation, no further messages)."""
        messages = [
            f"<Message>{escape(self.settings.opt_out_confirmation)}</Message>"
            for report in reports
            if report.kind is ReportKind.INBOUND and report.opted_out and self._confirm(report)
        ]
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><Response>'
            + "".join(messages[:1])
            + "</Response>"
        )
        return "text/xml", xml.encode()

    def _confirm(self, report: Report) -> bool:
        mode = self.settings.confirm_opt_outs
        if mode == "never":
            return False
        if "opt_out_type" in report.details:
            return False  # Advanced Opt-Out already answered with the configured reply
        return mode == "always" or not provider_confirms(report.text or "")

    def lookup(self, message: OutboundMessage) -> Receipt | None:
        since = (self.clock.now() - timedelta(days=self.settings.lookup_days)).date()
        if message.reserved_at is not None:
            # A send reconciled late is still searched for, never taken as "not found".
            since = min(since, (message.reserved_at - timedelta(days=1)).date())
        params: dict[str, Any] = {"To": message.to, "DateSent>": since.isoformat(), "PageSize": 100}
        if self.settings.from_number:
            params["From"] = self.settings.from_number
        response = self.call_resource("GET", params=params)
        if response.status_code != 200:
            raise self.error(response)
        for found in json_body(response).get("messages", []):
            if found.get("body") == message.body and found.get("to") == message.to:
                status = STATUSES.get(str(found.get("status")), DeliveryStatus.QUEUED)
                return Receipt(self.name, str(found["sid"]), status)
        return None
