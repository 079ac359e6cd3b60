"""Twilio's Messages and Calls resources, under ``/twilio``.

Imitates ``POST /2010-04-01/Accounts/{sid}/Messages.json`` and ``…/Calls.json`` (Basic auth
with the Account SID and auth token from ``TWILIO_ACCOUNT_SID`` / ``TWILIO_AUTH_TOKEN``,
form fields, 201 JSON answers, Twilio's error bodies), ``GET …/Messages.json`` with the
``To``/``From``/``DateSent>`` filters, and Twilio's magic test numbers (+15005550001
invalid, +15005550004 opted out, +15005550009 not a mobile). After acceptance it posts
status callbacks to the message's ``StatusCallback`` and inbound replies to
``{callback_base}/twilio_sms``, each with a valid ``X-Twilio-Signature``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.sandbox.faults import Failure
from channels.sandbox.stamps import sent_at
from channels.sandbox.state import SandboxState, new_id
from channels.sandbox.wire import E164, basic_matches, form_pairs, json_answer
from channels.signatures import twilio_signature
from channels.twilio_api import attempt_ref_of

PREFIX = "/twilio/2010-04-01/Accounts/{sid}"
MAGIC_NUMBERS = {
    "+15005550001": (21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}


def twilio_error(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return json_answer(status, body, headers)


def failure_answer(failure: Failure, retry_after: int) -> Response:
    if failure is Failure.THROTTLE:
        return twilio_error(429, 20429, "Too Many Requests", {"Retry-After": str(retry_after)})
    if failure is Failure.PERMANENT:
        return twilio_error(400, 21211, "The 'To' number is not a valid phone number.")
    if failure is Failure.TIMEOUT:
        return twilio_error(504, 20504, "Gateway Timeout")
    return twilio_error(503 if failure is Failure.DOWN else 500, 20500, "Internal Server Error")


class Twilio:
    """The imitation; one instance per sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.sid = state.credential("TWILIO_ACCOUNT_SID")
        self.token = state.credential("TWILIO_AUTH_TOKEN")

    def routes(self) -> list[Route]:
        return [
            Route(f"{PREFIX}/Messages.json", self.messages, methods=["GET", "POST"]),
            Route(f"{PREFIX}/Calls.json", self.calls, methods=["POST"]),
        ]

    def _authorised(self, request: Request) -> bool:
        return (
            basic_matches(request, self.sid, self.token) and request.path_params["sid"] == self.sid
        )

    async def messages(self, request: Request) -> Response:
        if not self._authorised(request):
            return twilio_error(401, 20003, "Authenticate")
        if request.method == "GET":
            return self._list(request)
        failure, fault = await self.state.faults.draw("twilio_sms")
        if failure:
            return failure_answer(failure, fault.retry_after_seconds)
        form = dict(await form_pairs(request))
        to, body = form.get("To", ""), form.get("Body", "")
        sender = form.get("From") or form.get("MessagingServiceSid")
        if not sender:
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return twilio_error(400, 21602, "Message body is required.")
        if to in MAGIC_NUMBERS:
            code, text = MAGIC_NUMBERS[to]
            return twilio_error(400, code, text)
        if not E164.match(to):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        now = self.state.clock.now()
        message: dict[str, Any] = {
            "sid": new_id("SM"),
            "account_sid": self.sid,
            "to": to,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": body,
            "status": "queued",
            "direction": "outbound-api",
            "date_created": format_datetime(now),
            "date_sent": None,
            "error_code": None,
            "num_segments": "1",
        }
        self.state.twilio_messages.append(message)
        callback = form.get("StatusCallback")
        self.state.journal.message(
            "twilio_sms",
            at=now,
            to=to,
            body=body,
            attempt_ref=_attempt_ref(callback),
            provider_message_id=message["sid"],
            status_callback=callback,
            **sent_at(request.headers),
        )
        self.state.courier.run(lambda: self._sms_story(message, callback))
        return await self.state.faults.answer("twilio_sms", json_answer(201, message))

    def _list(self, request: Request) -> Response:
        query = request.query_params
        since = query.get("DateSent>")
        found = []
        for message in reversed(self.state.twilio_messages):
            if query.get("To") and message["to"] != query["To"]:
                continue
            if query.get("From") and message["from"] != query["From"]:
                continue
            sent_day = message.get("_sent_day")
            if since and (sent_day is None or sent_day < since):
                continue
            found.append({k: v for k, v in message.items() if not k.startswith("_")})
        size = int(query.get("PageSize", "50"))
        return json_answer(200, {"messages": found[:size], "page": 0, "page_size": size})

    async def _sms_story(self, message: dict[str, Any], callback: str | None) -> None:
        sid = message["sid"]
        now = self.state.clock.now()
        message.update(
            status="sent", date_sent=format_datetime(now), _sent_day=now.date().isoformat()
        )
        if callback:
            await self._post(callback, "twilio_sms", self._status_form(message, "sent"), "sent")
        delivered = self.state.borrowers.delivered(sid)
        final = "delivered" if delivered else "undelivered"
        message.update(status=final, error_code=None if delivered else 30003)
        if callback:
            await self._post(callback, "twilio_sms", self._status_form(message, final), final)
        if delivered and message["from"] and self.state.borrowers.replies_stop(sid):
            reply = {
                "MessageSid": new_id("SM"),
                "SmsSid": "",
                "AccountSid": self.sid or "",
                "From": message["to"],
                "To": message["from"],
                "Body": "STOP",
                "NumMedia": "0",
                "SmsStatus": "received",
                "ApiVersion": "2010-04-01",
            }
            reply["SmsSid"] = reply["MessageSid"]
            await self._post(self.state.webhook("twilio_sms"), "twilio_sms", reply, "inbound")

    def _status_form(self, message: dict[str, Any], status: str) -> dict[str, str]:
        form = {
            "MessageSid": message["sid"],
            "SmsSid": message["sid"],
            "AccountSid": self.sid or "",
            "From": message["from"] or "",
            "To": message["to"],
            "MessageStatus": status,
            "SmsStatus": status,
            "ApiVersion": "2010-04-01",
        }
        if message.get("error_code"):
            form["ErrorCode"] = str(message["error_code"])
        return form

    async def _post(self, url: str, provider: str, form: dict[str, str], event: str) -> None:
        signature = twilio_signature(self.token or "", url, form.items())
        await self.state.courier.post(
            provider,
            url,
            urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
            attempt_ref=_attempt_ref(url),
            event=event,
        )

    async def calls(self, request: Request) -> Response:
        if not self._authorised(request):
            return twilio_error(401, 20003, "Authenticate")
        failure, fault = await self.state.faults.draw("twilio_voice")
        if failure:
            return failure_answer(failure, fault.retry_after_seconds)
        pairs = await form_pairs(request)
        form = dict(pairs)
        to = form.get("To", "")
        if not form.get("From"):
            return twilio_error(400, 21213, "No 'From' number is specified")
        if not (form.get("Twiml") or form.get("Url")):
            return twilio_error(400, 21205, "Url parameter is required.")
        if to in MAGIC_NUMBERS or not E164.match(to):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        spoken = _spoken_text(form.get("Twiml", ""))
        if form.get("Twiml") and spoken is None:
            return twilio_error(400, 21218, "Invalid TwiML")
        now = self.state.clock.now()
        call: dict[str, Any] = {
            "sid": new_id("CA"),
            "account_sid": self.sid,
            "to": to,
            "from": form["From"],
            "status": "queued",
            "direction": "outbound-api",
            "date_created": format_datetime(now),
        }
        callback = form.get("StatusCallback")
        events = [value for name, value in pairs if name == "StatusCallbackEvent"]
        self.state.journal.message(
            "twilio_voice",
            at=now,
            to=to,
            body=spoken or form.get("Url", ""),
            attempt_ref=_attempt_ref(callback),
            provider_message_id=call["sid"],
            machine_detection=form.get("MachineDetection"),
        )
        if callback:
            self.state.courier.run(
                lambda: self._call_story(call, callback, events, form.get("MachineDetection"))
            )
        return await self.state.faults.answer("twilio_voice", json_answer(201, call))

    async def _call_story(
        self, call: dict[str, Any], callback: str, events: list[str], detection: str | None
    ) -> None:
        ending = self.state.borrowers.call_ending(call["sid"])
        base = {
            "CallSid": call["sid"],
            "AccountSid": self.sid or "",
            "From": call["from"],
            "To": call["to"],
            "Direction": "outbound-api",
            "ApiVersion": "2010-04-01",
            "CallbackSource": "call-progress-events",
        }
        stages: list[tuple[str, dict[str, str]]] = []
        if "initiated" in events:
            stages.append(("initiated", {"CallStatus": "initiated"}))
        if "ringing" in events:
            stages.append(("ringing", {"CallStatus": "ringing"}))
        answered_by = {
            "human": "human",
            "machine": "machine_end_beep" if detection == "DetectMessageEnd" else "machine_start",
        }
        if ending in answered_by:
            extra = {"AnsweredBy": answered_by[ending]} if detection else {}
            if "answered" in events:
                stages.append(("answered", {"CallStatus": "in-progress", **extra}))
            stages.append(("completed", {"CallStatus": "completed", "CallDuration": "23", **extra}))
        else:
            stages.append(("completed", {"CallStatus": ending, "CallDuration": "0"}))
        for number, (event, fields) in enumerate(stages):
            now = self.state.clock.now()
            form = {
                **base,
                **fields,
                "SequenceNumber": str(number),
                "Timestamp": format_datetime(now),
            }
            await self._post(callback, "twilio_voice", form, event)


def _attempt_ref(url: str | None) -> str | None:
    return attempt_ref_of(url) if url else None


def _spoken_text(twiml: str) -> str | None:
    """The text of every ``<Say>`` in a TwiML document; ``None`` when it is not TwiML."""
    if not twiml:
        return ""
    try:
        root = ET.fromstring(twiml)  # noqa: S314 - our own adapter's TwiML, on loopback
    except ET.ParseError:
        return None
    if root.tag != "Response":
        return None
    return " ".join((say.text or "").strip() for say in root.iter("Say"))
