"""Lob's Print & Mail letters API, under ``/lob``.

Checks Basic auth (``LOB_API_KEY`` as the user name, an empty password) and the
create-letter body as Lob does (a multipart form with ``to`` and ``from`` addresses in
bracket notation, a PDF ``file``, ``color`` and ``use_type``), answers the letter object
(``ltr_…``, ``expected_delivery_date``) and the same letter again for a repeated
``Idempotency-Key``, then posts tracking events (``letter.created``, ``letter.mailed``,
``letter.in_transit``, then ``letter.delivered`` or ``letter.returned_to_sender``) to
``{callback_base}/lob_letter``, signed with ``Lob-Signature`` (HMAC-SHA256 over
``timestamp.body`` with ``LOB_WEBHOOK_SECRET``). ``GET /v1/letters?metadata[k]=v`` lists the
letters carrying that metadata.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.sandbox.faults import Failure
from channels.sandbox.state import SandboxState, new_id
from channels.sandbox.wire import basic_credentials, json_answer, multipart_form
from channels.signatures import lob_sign, same_secret

US_REQUIRED = ("address_line1", "address_city", "address_state", "address_zip")
STORY = ("letter.created", "letter.mailed", "letter.in_transit")


def error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> Response:
    return json_answer(
        status, {"error": {"message": message, "status_code": status, "code": code}}, headers
    )


def failure_answer(failure: Failure, retry_after: int) -> Response:
    if failure is Failure.THROTTLE:
        return error(
            429, "Rate limit exceeded", "rate_limit_exceeded", {"Retry-After": str(retry_after)}
        )
    if failure is Failure.PERMANENT:
        return error(
            422,
            "the address did not meet the account's deliverability strictness",
            "failed_deliverability_strictness",
        )
    if failure is Failure.TIMEOUT:
        return error(504, "gateway timeout", "service_unavailable")
    return error(
        503 if failure is Failure.DOWN else 500, "internal server error", "internal_server_error"
    )


def _invalid(fields: dict[str, str], files: dict[str, bytes]) -> str | None:
    """What Lob would refuse in a create-letter form, as its message."""
    for side in ("to", "from"):
        if not fields.get(f"{side}[name]") and not fields.get(f"{side}[company]"):
            return f"{side}.name is required"
        if not fields.get(f"{side}[address_line1]"):
            return f"{side}.address_line1 is required"
        country = fields.get(f"{side}[address_country]", "US")
        for key in US_REQUIRED if country == "US" else ():
            if not fields.get(f"{side}[{key}]"):
                return f"{side}.{key} is required"
    if "file" in files:
        if not files["file"].startswith(b"%PDF-"):
            return "file must be a PDF"
    elif not fields.get("file"):
        return "file is required"
    if fields.get("color") not in ("true", "false"):
        return "color is required"
    if fields.get("use_type") not in ("marketing", "operational"):
        return "use_type must be one of [marketing, operational]"
    if fields.get("address_placement", "top_first_page") not in (
        "top_first_page",
        "insert_blank_page",
    ):
        return "address_placement must be one of [top_first_page, insert_blank_page]"
    return None


class Lob:
    """The imitation; one instance per sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.api_key = state.credential("LOB_API_KEY")
        self.webhook_secret = state.credential("LOB_WEBHOOK_SECRET") or ""

    def routes(self) -> list[Route]:
        return [Route("/lob/v1/letters", self.letters, methods=["GET", "POST"])]

    def _authorised(self, request: Request) -> bool:
        given = basic_credentials(request)
        return (
            bool(self.api_key) and given is not None and same_secret(self.api_key or "", given[0])
        )

    async def letters(self, request: Request) -> Response:
        if not self._authorised(request):
            return error(401, "Your API key is not valid.", "unauthorized")
        if request.method == "GET":
            return self.listing(request)
        failure, fault = await self.state.faults.draw("lob_letter")
        if failure:
            return failure_answer(failure, fault.retry_after_seconds)
        form = await multipart_form(request)
        if form is None:
            return error(422, "the body must be multipart/form-data", "invalid")
        fields, files = form
        problem = _invalid(fields, files)
        if problem:
            return error(422, problem, "invalid")
        key = request.headers.get("idempotency-key", "")
        if key and key in self.state.lob_keys:
            return json_answer(200, self._public(self.state.lob_letters[self.state.lob_keys[key]]))
        now = self.state.clock.now()
        letter_id = new_id("ltr_", 20)
        metadata = {
            name[len("metadata[") : -1]: value
            for name, value in fields.items()
            if name.startswith("metadata[") and name.endswith("]")
        }
        stored: dict[str, Any] = {
            "id": letter_id,
            "object": "letter",
            "description": fields.get("description"),
            "to": {k[3:-1]: v for k, v in fields.items() if k.startswith("to[")},
            "from": {k[5:-1]: v for k, v in fields.items() if k.startswith("from[")},
            "metadata": metadata,
            "color": fields["color"] == "true",
            "use_type": fields["use_type"],
            "mail_type": fields.get("mail_type", "usps_first_class"),
            "address_placement": fields.get("address_placement", "top_first_page"),
            "expected_delivery_date": (now + timedelta(days=5)).date().isoformat(),
            "date_created": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "tracking_events": [],
            "pages": files.get("file", b"").count(b"/Type /Page\n")
            or files.get("file", b"").count(b"/Type /Page"),
        }
        self.state.lob_letters[letter_id] = stored
        if key:
            self.state.lob_keys[key] = letter_id
        self.state.journal.message(
            "lob_letter",
            at=now,
            to=json.dumps(stored["to"], ensure_ascii=False),
            body=f"[PDF, {len(files.get('file', b''))} bytes]",
            attempt_ref=metadata.get("attempt_ref"),
            provider_message_id=letter_id,
            idempotency_key=key or None,
        )
        self.state.courier.run(partial(self._story, stored))
        return await self.state.faults.answer("lob_letter", json_answer(200, self._public(stored)))

    def listing(self, request: Request) -> Response:
        wanted = {
            name[len("metadata[") : -1]: value
            for name, value in request.query_params.multi_items()
            if name.startswith("metadata[") and name.endswith("]")
        }
        found = [
            self._public(letter)
            for letter in self.state.lob_letters.values()
            if all(letter["metadata"].get(k) == v for k, v in wanted.items())
        ]
        return json_answer(200, {"data": found, "object": "list", "count": len(found)})

    @staticmethod
    def _public(stored: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in stored.items() if k != "pages"}

    async def _story(self, stored: dict[str, Any]) -> None:
        for kind in STORY:
            await self._post(stored, kind)
        last = (
            "letter.returned_to_sender"
            if self.state.borrowers.returned(stored["id"])
            else "letter.delivered"
        )
        await self._post(stored, last)

    async def _post(self, stored: dict[str, Any], kind: str) -> None:
        now = self.state.clock.now()
        stored["tracking_events"].append({"name": kind, "time": now.isoformat()})
        event = {
            "id": "evt_" + secrets.token_hex(10),
            "object": "event",
            "reference_id": stored["id"],
            "date_created": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "event_type": {"id": kind, "resource": "letters", "object": "event_type"},
            "body": self._public(stored),
        }
        body = json.dumps(event).encode()
        timestamp = str(int(now.timestamp() * 1000))
        await self.state.courier.post(
            "lob_letter",
            self.state.webhook("lob_letter"),
            body,
            {
                "Content-Type": "application/json",
                "Lob-Signature-Timestamp": timestamp,
                "Lob-Signature": lob_sign(self.webhook_secret, timestamp, body),
            },
            attempt_ref=stored["metadata"].get("attempt_ref"),
            event=kind.removeprefix("letter."),
        )
