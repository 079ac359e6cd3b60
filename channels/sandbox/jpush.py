"""JPush's Push API v3, under ``/jpush``.

Checks HTTP Basic ``appKey:masterSecret`` (``JPUSH_APP_KEY`` / ``JPUSH_MASTER_SECRET``) and
the push object (``platform``, ``audience``, ``notification`` or ``message``), answers
``{"sendno", "msg_id"}`` or JPush's ``{"error": {"code", "message"}}`` (registration ids
beginning ``unregistered`` match no device: 1011). When the push asks for a ``callback``,
it posts a delivered/undelivered record, authenticated with the same Basic credentials, to
the callback's ``url`` (else ``{callback_base}/jpush_push``) in the layout described in
docs/channels.md.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.sandbox.faults import Failure
from channels.sandbox.state import SandboxState
from channels.sandbox.wire import basic_matches, json_answer, json_object
from channels.signatures import basic_auth


def jpush_error(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    return json_answer(status, {"error": {"code": code, "message": message}}, headers)


def failure_answer(failure: Failure, retry_after: int) -> Response:
    if failure is Failure.THROTTLE:
        return jpush_error(
            429,
            2002,
            "Rate limit exceeded",
            {"Retry-After": str(retry_after), "X-Rate-Limit-Reset": str(retry_after)},
        )
    if failure is Failure.PERMANENT:
        return jpush_error(400, 1011, "cannot find user by this audience")
    if failure is Failure.TIMEOUT:
        return jpush_error(504, 1000, "gateway timeout")
    return jpush_error(503, 1000, "Server inner error")


class Jpush:
    """The imitation; one instance per sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.app_key = state.credential("JPUSH_APP_KEY")
        self.master = state.credential("JPUSH_MASTER_SECRET")

    def routes(self) -> list[Route]:
        return [Route("/jpush/v3/push", self.push, methods=["POST"])]

    async def push(self, request: Request) -> Response:
        if not basic_matches(request, self.app_key, self.master):
            return jpush_error(401, 1004, "Authen failed")
        failure, fault = await self.state.faults.draw("jpush_push")
        if failure:
            return failure_answer(failure, fault.retry_after_seconds)
        payload = await json_object(request)
        if payload is None:
            return jpush_error(400, 1003, "Invalid json")
        if not payload.get("platform") or not payload.get("audience"):
            return jpush_error(400, 1002, "Missing parameter: platform or audience")
        if not payload.get("notification") and not payload.get("message"):
            return jpush_error(400, 1003, "Either notification or message is required")
        audience = payload["audience"]
        devices = audience.get("registration_id") if isinstance(audience, dict) else None
        if not isinstance(devices, list) or not devices:
            return jpush_error(400, 1003, "audience.registration_id must be a non-empty array")
        if all(str(device).startswith("unregistered") for device in devices):
            return jpush_error(400, 1011, "cannot find user by this audience")
        msg_id = str(secrets.randbelow(9 * 10**18) + 10**18)
        options = payload.get("options") or {}
        notification = payload.get("notification") or {}
        extras = (notification.get("android") or {}).get("extras") or {}
        for device in devices:
            self.state.journal.message(
                "jpush_push",
                at=self.state.clock.now(),
                to=str(device),
                body=str(notification.get("alert", "")),
                attempt_ref=extras.get("attempt_ref"),
                provider_message_id=msg_id,
                sendno=options.get("sendno"),
            )
        callback = payload.get("callback")
        if isinstance(callback, dict):
            self.state.courier.run(lambda: self._story(msg_id, [str(d) for d in devices], callback))
        answer = json_answer(200, {"sendno": str(options.get("sendno", 0)), "msg_id": msg_id})
        return await self.state.faults.answer("jpush_push", answer)

    async def _story(self, msg_id: str, devices: list[str], callback: dict[str, Any]) -> None:
        params = callback.get("params") if isinstance(callback.get("params"), dict) else {}
        records = [
            {
                "msg_id": msg_id,
                "registration_id": device,
                "platform": "android",
                "type": "delivered"
                if self.state.borrowers.delivered(f"{msg_id}:{device}")
                else "undelivered",
                "time": int(self.state.clock.now().timestamp()),
                "params": params,
            }
            for device in devices
        ]
        await self.state.courier.post(
            "jpush_push",
            str(callback.get("url") or self.state.webhook("jpush_push")),
            json.dumps(records).encode(),
            {
                "Content-Type": "application/json",
                "Authorization": basic_auth(self.app_key or "", self.master or ""),
            },
            attempt_ref=str(params.get("attempt_ref"))
            if params and params.get("attempt_ref")
            else None,
            event="delivery",
        )
