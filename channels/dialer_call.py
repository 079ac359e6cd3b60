"""Calls by human agents: hand a call task to the lender's dialer, receive its outcome.

This is our own protocol (docs/channels.md, "Dialer protocol"): we POST a signed JSON call
task to the dialer; the dialer POSTs back one signed outcome per task. Both directions sign
with HMAC-SHA256 over ``"<unix timestamp>." + raw body``, carried as
``X-Dialer-Signature: t=<timestamp>,v1=<hex>`` (the scheme Stripe documents for its
webhooks), and a receiver refuses a timestamp older than the tolerance, which bounds replay.

The task carries the send window the compliance engine allowed: the dialer must not place
the call outside it. Dispatch passes the window and the lender's account reference in the
message's ``tags`` (``window_opens_at``, ``window_closes_at``, ``account_ref``).
"""

from __future__ import annotations

import json
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
from channels.signatures import DIALER_HEADER, dialer_sign, dialer_valid
from channels.transport import json_body
from orchestrator.domain import CallOutcome, Channel, DeliveryStatus
from orchestrator.errors import PermanentError, ProviderError, SignatureError

OUTCOMES = {
    "no_answer": CallOutcome.NO_ANSWER,
    "not_connected": CallOutcome.NOT_CONNECTED,
    "voicemail": CallOutcome.VOICEMAIL,
    "right_party_contact": CallOutcome.RIGHT_PARTY_CONTACT,
    "wrong_number": CallOutcome.WRONG_NUMBER,
    "promise_to_pay": CallOutcome.PROMISE_TO_PAY,
    "dispute": CallOutcome.DISPUTE,
    "cease_request": CallOutcome.CEASE_REQUEST,
}
UNCONNECTED = frozenset({"no_answer", "not_connected"})


class DialerSettings(AdapterSettings):
    """Dialer settings.

    Parameters:
      base_url: the dialer's API root; tasks go to ``{base_url}/tasks``.
      secret_env: the variable holding the shared HMAC secret (both directions).
      tolerance_seconds: how old a signed outcome may be.
    """

    stricter: ClassVar[Mapping[str, str]] = {"tolerance_seconds": "lower"}

    secret_env: str = "DIALER_SECRET"  # noqa: S105 - a variable name
    tolerance_seconds: int = 300


class DialerCall(HttpAdapter):
    """The agent-queue dialer: a call task out, an outcome back.

    ``lookup`` is not part of the protocol (a dialer deduplicates tasks on their
    ``Idempotency-Key`` instead, so a resend after a crash is harmless).
    """

    name = "dialer_call"
    channel = Channel.CALL
    Settings = DialerSettings
    settings: DialerSettings

    def __init__(self, settings: AdapterSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.secret = secret(self.settings.secret_env, setting=f"{self.name}.secret_env")

    def task(self, message: OutboundMessage) -> dict[str, Any]:
        """The call task document."""
        tags = message.tags
        return {
            "attempt_ref": message.attempt_ref,
            "idempotency_key": message.idempotency_key,
            "number": message.to,
            "locale": message.locale,
            "script": message.template,
            "text": message.body,
            "limited_content": message.limited_content,
            "account_reference": tags.get("account_ref"),
            "window": {
                "not_before": tags.get("window_opens_at"),
                "not_after": tags.get("window_closes_at"),
            },
            "callback_url": message.callback_url,
        }

    def send(self, message: OutboundMessage) -> Receipt:
        body = json.dumps(self.task(message), separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = int(self.clock.now().timestamp())
        response = self.request(
            "POST",
            "/tasks",
            content=body,
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": message.idempotency_key,
                DIALER_HEADER: dialer_sign(self.secret, timestamp, body),
            },
        )
        answer = json_body(response)
        if response.status_code in (200, 201, 202) or (
            response.status_code == 409 and answer.get("task_id")
        ):
            task_id = answer.get("task_id")
            if not task_id:
                raise PermanentError(self.name, "no_task_id", "the dialer answered without task_id")
            return Receipt(self.name, str(task_id), DeliveryStatus.QUEUED)
        raise self.error(response)

    def error_details(
        self, response: httpx.Response, body: dict[str, Any]
    ) -> tuple[str | None, str]:
        code = body.get("code")
        return (str(code) if code else None), str(body.get("message") or response.text[:200])

    def refused(self, code: str, message: str, body: dict[str, Any]) -> ProviderError:
        return PermanentError(self.name, code, message, invalid_address=code == "invalid_number")

    def verify(self, request: WebhookRequest) -> None:
        if not dialer_valid(
            self.secret,
            request.header(DIALER_HEADER),
            request.body,
            now=self.clock.now().timestamp(),
            tolerance=self.settings.tolerance_seconds,
        ):
            raise SignatureError(f"{self.name}: {DIALER_HEADER} missing, wrong or stale")

    def parse(self, request: WebhookRequest) -> list[Report]:
        data = request.json()
        items = data if isinstance(data, list) else [data]
        return [
            self._outcome(item)
            for item in items
            if isinstance(item, dict)
            and isinstance(item.get("outcome"), str)
            and item["outcome"] in OUTCOMES
        ]

    def _outcome(self, item: dict[str, Any]) -> Report:
        outcome = str(item["outcome"])
        details = {
            key: str(item[key])
            for key in ("agent_id", "duration_seconds", "note", "occurred_at")
            if item.get(key)
        }
        promise = item["promise"] if isinstance(item.get("promise"), dict) else {}
        for key in ("date", "amount", "currency"):
            if promise.get(key):
                details[f"promise_{key}"] = str(promise[key])
        task_id = str(item.get("task_id") or "")
        return Report(
            provider=self.name,
            kind=ReportKind.CALL,
            dedupe_key=f"{self.name}:{item.get('event_id') or task_id + ':' + outcome}",
            attempt_ref=str(item["attempt_ref"]) if item.get("attempt_ref") else None,
            provider_message_id=task_id or None,
            status=DeliveryStatus.UNDELIVERED
            if outcome in UNCONNECTED
            else DeliveryStatus.DELIVERED,
            call_outcome=OUTCOMES[outcome],
            invalid_address=outcome == "wrong_number",
            details=details,
        )
