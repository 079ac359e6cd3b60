"""SendGrid's v3 Mail Send and Email Activity APIs, under ``/sendgrid``.

Checks the Bearer key (``SENDGRID_API_KEY``) and the Mail Send body as SendGrid does
(``personalizations`` with recipients, ``from.email``, ``subject``, ``content``), answers
202 with ``X-Message-Id``, and posts Event Webhook batches (``processed``, then
``delivered`` or a hard ``bounce``, then ``unsubscribe`` when the borrower opts out) to
``{callback_base}/sendgrid_email``, signed with ECDSA P-256 over timestamp + body.
``GET /v3/messages`` answers ``unique_args['…']="…"`` and ``to_email="…"`` queries.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.sandbox.faults import Failure
from channels.sandbox.state import SandboxState
from channels.sandbox.wire import bearer, json_answer, json_object
from channels.signatures import same_secret, sendgrid_sign

QUERY = re.compile(
    r"""^\s*(?:unique_args\['(?P<arg>[^']+)'\]|(?P<field>to_email|msg_id))\s*=\s*"(?P<value>[^"]*)"\s*$"""
)


def errors(
    status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    return json_answer(
        status, {"errors": [{"message": message, "field": field, "help": None}]}, headers
    )


def failure_answer(failure: Failure, retry_after: int) -> Response:
    if failure is Failure.THROTTLE:
        return errors(429, "too many requests", headers={"Retry-After": str(retry_after)})
    if failure is Failure.PERMANENT:
        return errors(400, "Does not contain a valid address.", "personalizations.0.to.0.email")
    if failure is Failure.TIMEOUT:
        return errors(504, "gateway timeout")
    return errors(503 if failure is Failure.DOWN else 500, "internal server error")


def _invalid(payload: dict[str, Any]) -> tuple[str, str] | None:
    """The first thing SendGrid would refuse in a Mail Send body: (field, message)."""
    personalizations = payload.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        return (
            "personalizations",
            "The personalizations field is required and must have at least one personalization.",
        )
    for index, entry in enumerate(personalizations):
        recipients = entry.get("to") if isinstance(entry, dict) else None
        if not isinstance(recipients, list) or not recipients:
            return (
                f"personalizations.{index}.to",
                "The to array is required for all personalization objects.",
            )
        for number, recipient in enumerate(recipients):
            if not isinstance(recipient, dict) or "@" not in str(recipient.get("email", "")):
                return (
                    f"personalizations.{index}.to.{number}.email",
                    "Does not contain a valid address.",
                )
    if "@" not in str((payload.get("from") or {}).get("email", "")):
        return "from.email", "The from email does not contain a valid address."
    if not payload.get("subject") and not payload.get("template_id"):
        return "subject", "The subject is required."
    content = payload.get("content")
    if not payload.get("template_id") and (not isinstance(content, list) or not content):
        return (
            "content",
            "Unless a valid template_id is provided, the content parameter is required.",
        )
    return None


class Sendgrid:
    """The imitation; one instance per sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.api_key = state.credential("SENDGRID_API_KEY")

    def routes(self) -> list[Route]:
        return [
            Route("/sendgrid/v3/mail/send", self.send, methods=["POST"]),
            Route("/sendgrid/v3/messages", self.activity, methods=["GET"]),
        ]

    def _authorised(self, request: Request) -> bool:
        return bool(self.api_key) and same_secret(self.api_key or "", bearer(request))

    async def send(self, request: Request) -> Response:
        if not self._authorised(request):
            return errors(401, "The provided authorization grant is invalid, expired, or revoked")
        failure, fault = await self.state.faults.draw("sendgrid_email")
        if failure:
            return failure_answer(failure, fault.retry_after_seconds)
        payload = await json_object(request)
        if payload is None:
            return errors(400, "Bad Request", None)
        problem = _invalid(payload)
        if problem:
            return errors(400, problem[1], problem[0])
        message_id = secrets.token_urlsafe(16)[:22]
        custom_args = {str(k): str(v) for k, v in (payload.get("custom_args") or {}).items()}
        now = self.state.clock.now()
        for entry in payload["personalizations"]:
            args = {
                **custom_args,
                **{str(k): str(v) for k, v in (entry.get("custom_args") or {}).items()},
            }
            for recipient in entry["to"]:
                stored = {
                    "msg_id": f"{message_id}.filterdrecv-{uuid.uuid4().hex[:8]}-1-0",
                    "to_email": recipient["email"],
                    "from_email": payload["from"]["email"],
                    "subject": payload.get("subject", ""),
                    "status": "processing",
                    "unique_args": args,
                    "opens_count": 0,
                    "clicks_count": 0,
                    "last_event_time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
                self.state.sendgrid_messages.append(stored)
                text = next(
                    (
                        c.get("value", "")
                        for c in payload.get("content", [])
                        if c.get("type") == "text/plain"
                    ),
                    "",
                )
                self.state.journal.message(
                    "sendgrid_email",
                    at=now,
                    to=recipient["email"],
                    body=text,
                    attempt_ref=args.get("attempt_ref"),
                    provider_message_id=message_id,
                    subject=payload.get("subject", ""),
                )
                self.state.courier.run(partial(self._story, stored))
        return await self.state.faults.answer(
            "sendgrid_email", Response(status_code=202, headers={"X-Message-Id": message_id})
        )

    async def activity(self, request: Request) -> Response:
        if not self._authorised(request):
            return errors(401, "authorization required")
        match = QUERY.match(request.query_params.get("query", ""))
        if match is None:
            return errors(400, "invalid query", "query")
        value = match["value"]
        found = [
            {k: v for k, v in m.items() if k != "unique_args"}
            for m in self.state.sendgrid_messages
            if (match["arg"] and m["unique_args"].get(match["arg"]) == value)
            or (match["field"] == "to_email" and m["to_email"] == value)
            or (match["field"] == "msg_id" and m["msg_id"] == value)
        ]
        limit = int(request.query_params.get("limit", "10"))
        return json_answer(200, {"messages": found[:limit]})

    def _event(self, stored: dict[str, Any], event: str, **extra: Any) -> dict[str, Any]:
        return {
            "email": stored["to_email"],
            "timestamp": int(self.state.clock.now().timestamp()),
            "event": event,
            "sg_event_id": secrets.token_urlsafe(16),
            "sg_message_id": stored["msg_id"],
            "smtp-id": f"<{stored['msg_id'].split('.')[0]}@sandbox.local>",
            **stored["unique_args"],
            **extra,
        }

    async def _story(self, stored: dict[str, Any]) -> None:
        await self._post([self._event(stored, "processed")], stored, "processed")
        if self.state.borrowers.bounced(stored["msg_id"]):
            stored["status"] = "not_delivered"
            bounce = self._event(
                stored,
                "bounce",
                type="bounce",
                status="5.1.1",
                reason="550 5.1.1 The email account that you tried to reach does not exist.",
            )
            await self._post([bounce], stored, "bounce")
            return
        stored["status"] = "delivered"
        await self._post(
            [self._event(stored, "delivered", response="250 2.0.0 OK")], stored, "delivered"
        )
        if self.state.borrowers.replies_stop(stored["msg_id"]):
            await self._post([self._event(stored, "unsubscribe")], stored, "unsubscribe")

    async def _post(self, events: list[dict[str, Any]], stored: dict[str, Any], name: str) -> None:
        body = json.dumps(events).encode()
        timestamp = str(int(self.state.clock.now().timestamp()))
        await self.state.courier.post(
            "sendgrid_email",
            self.state.webhook("sendgrid_email"),
            body,
            {
                "Content-Type": "application/json",
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
                "X-Twilio-Email-Event-Webhook-Signature": sendgrid_sign(
                    self.state.sendgrid_key, timestamp, body
                ),
            },
            attempt_ref=stored["unique_args"].get("attempt_ref"),
            event=name,
        )
