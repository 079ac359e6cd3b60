"""Google's OAuth2 token endpoint and FCM HTTP v1 ``messages:send``, under ``/fcm``.

``/fcm/token`` verifies the JWT-bearer assertion against the public half of the service
account in ``FCM_SERVICE_ACCOUNT_JSON`` (RS256, issuer, audience, scope, expiry) and issues
an access token; ``/fcm/v1/projects/{project}/messages:send`` accepts only tokens it issued
and unexpired, checks the project and the message, and answers with Google's error bodies
(registration tokens beginning ``unregistered`` are ``UNREGISTERED``). FCM posts no
callbacks, so neither does this.
"""

from __future__ import annotations

import secrets
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.google_oauth import GRANT_TYPE, ServiceAccount
from channels.sandbox.faults import Failure
from channels.sandbox.state import SandboxState
from channels.sandbox.wire import bearer, form_pairs, json_answer, json_object
from orchestrator.errors import ConfigError

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
CANONICAL = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def google_error(
    status: int, message: str, fcm_code: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": CANONICAL.get(status, "UNKNOWN"),
    }
    if fcm_code:
        error["details"] = [
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}
        ]
    return json_answer(status, {"error": error}, headers)


def failure_answer(failure: Failure, retry_after: int) -> Response:
    if failure is Failure.THROTTLE:
        return google_error(
            429,
            "Quota exceeded for quota metric",
            "QUOTA_EXCEEDED",
            {"Retry-After": str(retry_after)},
        )
    if failure is Failure.PERMANENT:
        return google_error(404, "Requested entity was not found.", "UNREGISTERED")
    if failure is Failure.TIMEOUT:
        return google_error(504, "Deadline exceeded")
    return google_error(503, "The service is currently unavailable.", "UNAVAILABLE")


class Fcm:
    """The imitation; one instance per sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        text = state.credential("FCM_SERVICE_ACCOUNT_JSON")
        self.account: ServiceAccount | None = None
        self.public_key: Any = None
        if text:
            try:
                self.account = ServiceAccount.from_json(text, setting="FCM_SERVICE_ACCOUNT_JSON")
                private = serialization.load_pem_private_key(
                    self.account.private_key.encode(), password=None
                )
                self.public_key = private.public_key()
            except (ConfigError, ValueError):
                self.account = None

    def routes(self) -> list[Route]:
        return [
            Route("/fcm/token", self.token, methods=["POST"]),
            Route("/fcm/v1/projects/{project}/messages:send", self.send, methods=["POST"]),
        ]

    async def token(self, request: Request) -> Response:
        form = dict(await form_pairs(request))
        if form.get("grant_type") != GRANT_TYPE:
            return json_answer(
                400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
            )
        if self.account is None:
            return json_answer(
                400,
                {"error": "invalid_grant", "error_description": "No service account configured."},
            )
        try:
            claims = jwt.decode(
                form.get("assertion", ""),
                self.public_key,
                algorithms=["RS256"],
                audience=str(request.url),
                issuer=self.account.client_email,
                # Expiry is judged on the sandbox's own (injected) clock, below.
                options={
                    "require": ["exp", "iat", "iss", "aud"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            return json_answer(
                400, {"error": "invalid_grant", "error_description": f"Invalid JWT: {exc}"}
            )
        now = self.state.clock.now().timestamp()
        if not float(claims["iat"]) - 60 <= now <= float(claims["exp"]) + 60:
            return json_answer(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Invalid JWT: Signature has expired",
                },
            )
        if SCOPE not in str(claims.get("scope", "")).split():
            return json_answer(
                400,
                {
                    "error": "invalid_scope",
                    "error_description": "firebase.messaging scope required",
                },
            )
        token = "ya29.sandbox-" + secrets.token_urlsafe(24)
        self.state.fcm_tokens[token] = self.state.clock.now().timestamp() + 3599
        return json_answer(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    async def send(self, request: Request) -> Response:
        token = bearer(request)
        expires = self.state.fcm_tokens.get(token or "")
        if expires is None or expires < self.state.clock.now().timestamp():
            return google_error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            )
        if self.account is None or request.path_params["project"] != self.account.project_id:
            return google_error(403, "SenderId mismatch", "SENDER_ID_MISMATCH")
        failure, fault = await self.state.faults.draw("fcm_push")
        if failure:
            return failure_answer(failure, fault.retry_after_seconds)
        payload = await json_object(request)
        message = payload.get("message") if payload else None
        if not isinstance(message, dict):
            return google_error(
                400, "Invalid JSON payload received. Unknown name \"\": 'message' is required."
            )
        targets = [key for key in ("token", "topic", "condition") if message.get(key)]
        if len(targets) != 1:
            return google_error(
                400,
                "Exactly one of token, topic or condition must be specified.",
                "INVALID_ARGUMENT",
            )
        data = message.get("data") or {}
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            return google_error(
                400, "Invalid value at 'message.data' (TYPE_STRING)", "INVALID_ARGUMENT"
            )
        device = str(message.get("token", ""))
        if device.startswith("unregistered"):
            return google_error(404, "Requested entity was not found.", "UNREGISTERED")
        name = f"projects/{self.account.project_id}/messages/0:{secrets.token_hex(8)}"
        notification = message.get("notification") or {}
        self.state.journal.message(
            "fcm_push",
            at=self.state.clock.now(),
            to=device,
            body=str(notification.get("body", "")),
            attempt_ref=data.get("attempt_ref"),
            provider_message_id=name,
            title=notification.get("title"),
        )
        return await self.state.faults.answer("fcm_push", json_answer(200, {"name": name}))
