"""The control API under ``/_sandbox/``: faults, outcomes, the log, keys, reset.

- ``GET /_sandbox/faults`` — every provider's fault settings.
- ``PUT /_sandbox/faults/{provider}`` — set one provider's (adapter name, e.g.
  ``twilio_sms``): ``{"error_rate", "throttle_rate", "retry_after_seconds", "timeout_rate",
  "hang_seconds", "permanent_rate", "late_answer_rate", "latency_ms", "down",
  "duplicate_report_rate"}``;
  ``late_answer_rate`` accepts the message and answers after ``hang_seconds``;
  ``duplicate_report_rate`` posts a delivered callback a second time, unchanged.
- ``DELETE /_sandbox/faults`` — clear all.
- ``GET /PUT /_sandbox/outcomes`` — the simulated borrowers' rates (a PUT changes the
  rates it names and keeps the others).
- ``GET /_sandbox/log?provider=&kind=`` — journal entries (``kind`` is ``message`` or
  ``callback``).
- ``GET /_sandbox/keys`` — the SendGrid event-signing public key (base64 DER) and the
  SMTP port.
- ``POST /_sandbox/reset`` — forget messages, faults and the log.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.sandbox.faults import Fault
from channels.sandbox.settings import OutcomeRates
from channels.sandbox.state import SandboxState
from channels.sandbox.wire import json_answer, json_object
from channels.signatures import public_key_b64

PROVIDERS = frozenset(
    {
        "twilio_sms",
        "twilio_voice",
        "aliyun_sms",
        "sendgrid_email",
        "smtp_email",
        "fcm_push",
        "jpush_push",
        "dialer_call",
        "lob_letter",
        "wechat_official",
    }
)


class Control:
    """The control endpoints; one instance per sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            Route("/_sandbox/faults", self.faults, methods=["GET", "DELETE"]),
            Route("/_sandbox/faults/{provider}", self.set_fault, methods=["PUT"]),
            Route("/_sandbox/outcomes", self.outcomes, methods=["GET", "PUT"]),
            Route("/_sandbox/log", self.log, methods=["GET"]),
            Route("/_sandbox/keys", self.keys, methods=["GET"]),
            Route("/_sandbox/reset", self.reset, methods=["POST"]),
        ]

    async def faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.state.faults.clear()
        return json_answer(
            200, {name: fault.model_dump() for name, fault in self.state.faults.all().items()}
        )

    async def set_fault(self, request: Request) -> Response:
        provider = request.path_params["provider"]
        if provider not in PROVIDERS:
            return json_answer(
                404, {"error": f"unknown provider {provider!r}", "known": sorted(PROVIDERS)}
            )
        try:
            fault = Fault.model_validate(await json_object(request) or {})
        except ValidationError as exc:
            return json_answer(422, {"error": exc.errors(include_url=False, include_context=False)})
        self.state.faults.set(provider, fault)
        return json_answer(200, fault.model_dump())

    async def outcomes(self, request: Request) -> Response:
        if request.method == "PUT":
            try:
                self.state.borrowers.rates = OutcomeRates.model_validate(
                    await json_object(request) or {}
                )
            except ValidationError as exc:
                return json_answer(
                    422, {"error": exc.errors(include_url=False, include_context=False)}
                )
        return json_answer(200, self.state.borrowers.rates.model_dump())

    async def log(self, request: Request) -> Response:
        query = request.query_params
        return json_answer(
            200, self.state.journal.entries(provider=query.get("provider"), kind=query.get("kind"))
        )

    async def keys(self, request: Request) -> Response:
        return json_answer(
            200,
            {
                "sendgrid_webhook_public_key": public_key_b64(self.state.sendgrid_key),
                "smtp_port": self.state.smtp_port,
            },
        )

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        return json_answer(200, {"reset": True})
