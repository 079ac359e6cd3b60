"""A lender's dialer speaking our protocol (docs/channels.md), under ``/dialer``.

``POST /dialer/tasks`` checks ``X-Dialer-Signature`` with ``DIALER_SECRET`` (fresh
timestamp, matching HMAC), the number and the callback URL; deduplicates on
``Idempotency-Key`` (a repeat answers 200 with the first task's id); answers 202
``{"task_id"}``. An agent then "calls" and the outcome is posted, signed the same way, to
the task's ``callback_url``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.sandbox.faults import Failure
from channels.sandbox.state import SandboxState, new_id
from channels.sandbox.wire import E164, json_answer
from channels.signatures import DIALER_HEADER, dialer_sign, dialer_valid

TOLERANCE_SECONDS = 300


def dialer_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return json_answer(status, {"code": code, "message": message}, headers)


def failure_answer(failure: Failure, retry_after: int) -> Response:
    if failure is Failure.THROTTLE:
        return dialer_error(
            429, "rate_limited", "too many tasks", {"Retry-After": str(retry_after)}
        )
    if failure is Failure.PERMANENT:
        return dialer_error(422, "invalid_number", "the number cannot be dialled")
    if failure is Failure.TIMEOUT:
        return dialer_error(504, "timeout", "gateway timeout")
    return dialer_error(503, "unavailable", "the dialer is down")


class Dialer:
    """The imitation; one instance per sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.secret = state.credential("DIALER_SECRET")

    def routes(self) -> list[Route]:
        return [Route("/dialer/tasks", self.task, methods=["POST"])]

    async def task(self, request: Request) -> Response:
        body = await request.body()
        now = self.state.clock.now()
        if not self.secret or not dialer_valid(
            self.secret,
            request.headers.get(DIALER_HEADER),
            body,
            now=now.timestamp(),
            tolerance=TOLERANCE_SECONDS,
        ):
            return dialer_error(401, "bad_signature", f"{DIALER_HEADER} missing, wrong or stale")
        failure, fault = await self.state.faults.draw("dialer_call")
        if failure:
            return failure_answer(failure, fault.retry_after_seconds)
        try:
            task = json.loads(body)
        except ValueError:
            return dialer_error(400, "bad_json", "the body is not JSON")
        if (
            not isinstance(task, dict)
            or not task.get("attempt_ref")
            or not task.get("callback_url")
        ):
            return dialer_error(422, "missing_field", "attempt_ref and callback_url are required")
        if not E164.match(str(task.get("number", ""))):
            return dialer_error(422, "invalid_number", "number must be E.164")
        key = request.headers.get("idempotency-key") or str(task.get("idempotency_key") or "")
        if key and key in self.state.dialer_tasks:
            return json_answer(200, {"task_id": self.state.dialer_tasks[key], "duplicate": True})
        task_id = new_id("T-", 16)
        if key:
            self.state.dialer_tasks[key] = task_id
        self.state.journal.message(
            "dialer_call",
            at=now,
            to=str(task["number"]),
            body=str(task.get("text") or ""),
            attempt_ref=str(task["attempt_ref"]),
            provider_message_id=task_id,
            idempotency_key=key or None,
            script=task.get("script"),
            window=task.get("window"),
        )
        self.state.courier.run(lambda: self._story(task_id, task))
        return await self.state.faults.answer("dialer_call", json_answer(202, {"task_id": task_id}))

    async def _story(self, task_id: str, task: dict[str, Any]) -> None:
        outcome = self.state.borrowers.dialer_outcome(task_id)
        now = self.state.clock.now()
        report: dict[str, Any] = {
            "event_id": new_id("E-", 16),
            "task_id": task_id,
            "attempt_ref": task["attempt_ref"],
            "outcome": outcome,
            "occurred_at": now.isoformat(),
            "agent_id": "agent-7",
            "duration_seconds": 0 if outcome == "no_answer" else 95,
        }
        if outcome == "promise_to_pay":
            report["promise"] = {
                "date": (now.date() + timedelta(days=7)).isoformat(),
                "amount": "100.00",
                "currency": "USD",
            }
        body = json.dumps(report).encode()
        await self.state.courier.post(
            "dialer_call",
            str(task["callback_url"]),
            body,
            {
                "Content-Type": "application/json",
                DIALER_HEADER: dialer_sign(self.secret or "", int(now.timestamp()), body),
            },
            attempt_ref=str(task["attempt_ref"]),
            event=outcome,
        )
