"""Push notifications through Firebase Cloud Messaging's HTTP v1 API.

Sources:
- Send: https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send
  (``POST /v1/projects/{project}/messages:send``, body ``{"message": {"token",
  "notification": {"title", "body"}, "data"}}``, answer ``{"name": "projects/…/messages/…"}``).
- Authorisation: https://firebase.google.com/docs/cloud-messaging/auth-server (OAuth2 token
  for scope ``https://www.googleapis.com/auth/firebase.messaging``).
- Errors: https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode and
  https://firebase.google.com/docs/cloud-messaging/error-codes (``UNREGISTERED`` 404,
  ``INVALID_ARGUMENT`` 400, ``SENDER_ID_MISMATCH`` 403, ``QUOTA_EXCEEDED`` 429,
  ``UNAVAILABLE`` 503, ``INTERNAL`` 500, ``THIRD_PARTY_AUTH_ERROR`` 401; the FCM code sits
  in ``error.details[].errorCode`` of type ``google.firebase.fcm.v1.FcmError``).

FCM posts no delivery webhooks (delivery data is exported to BigQuery instead), so
``verify`` refuses every webhook, and a message cannot be looked up by our attempt ref.
"""

from __future__ import annotations

from typing import Any

import httpx

from channels.base import (
    AdapterSettings,
    OutboundMessage,
    Receipt,
    secret,
)
from channels.google_oauth import AccessTokens, ServiceAccount
from channels.http_adapter import HttpAdapter
from channels.transport import json_body, retry_after
from orchestrator.domain import Channel, DeliveryStatus
from orchestrator.errors import PermanentError, ProviderError, TransientError

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
TRANSIENT_CODES = frozenset({"QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL"})


def fcm_error_code(body: dict[str, Any]) -> str:
    """The FCM-specific code from ``details``, else the canonical ``status``."""
    error = body.get("error") or {}
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(error.get("status") or "")


class FcmSettings(AdapterSettings):
    """FCM settings.

    Parameters:
      credentials_env: the variable holding the service-account key file's JSON.
      project_id: the Firebase project; empty to take the key's ``project_id``.
      token_url: the OAuth2 token endpoint; empty to take the key's ``token_uri``.
      android_priority: ``high`` or ``normal``.
    """

    tenant_fields = AdapterSettings.tenant_fields | {"android_priority"}

    base_url: str = "https://fcm.googleapis.com"
    credentials_env: str = "FCM_SERVICE_ACCOUNT_JSON"
    project_id: str = ""
    token_url: str = ""
    android_priority: str = "high"


class FcmPush(HttpAdapter):
    """FCM HTTP v1 with a cached service-account token; our attempt ref rides in ``data``."""

    name = "fcm_push"
    channel = Channel.PUSH
    delivery_note = (
        "FCM sends no delivery receipts (Google exports delivery data to BigQuery, not to a "
        "webhook), so a push it accepted stays sent"
    )
    Settings = FcmSettings
    settings: FcmSettings

    def __init__(self, settings: AdapterSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        setting = f"{self.name}.credentials_env"
        account = ServiceAccount.from_json(
            secret(self.settings.credentials_env, setting=setting), setting=setting
        )
        self.project_id = self.settings.project_id or account.project_id
        self.tokens = AccessTokens(
            self.name,
            account,
            scope=SCOPE,
            token_url=self.settings.token_url or account.token_uri,
            http=self.http,
            clock=self.clock,
            timeout=self.settings.timeout_seconds,
        )

    @property
    def send_url(self) -> str:
        return f"{self.settings.base_url.rstrip('/')}/v1/projects/{self.project_id}/messages:send"

    def payload(self, message: OutboundMessage) -> dict[str, Any]:
        """The ``messages:send`` body; ``data`` values must be strings."""
        notification = {"body": message.body}
        if message.title:
            notification["title"] = message.title
        data = {str(k): str(v) for k, v in message.tags.items()}
        data["attempt_ref"] = message.attempt_ref
        return {
            "message": {
                "token": message.to,
                "notification": notification,
                "data": data,
                "android": {"priority": self.settings.android_priority},
            }
        }

    def error(self, response: httpx.Response) -> ProviderError:
        body = json_body(response)
        code = fcm_error_code(body) or str(response.status_code)
        message = str((body.get("error") or {}).get("message") or response.text[:200])
        wait = retry_after(response.headers, now=self.clock.now())
        if code in TRANSIENT_CODES or response.status_code == 429 or response.status_code >= 500:
            return TransientError(self.name, code, message, retry_after=wait)
        if response.status_code == 401 and code != "THIRD_PARTY_AUTH_ERROR":
            # Our access token was refused (revoked, rotated key): mint a new one next time.
            self.tokens.forget()
            return TransientError(self.name, code or "401", message)
        # FCM reports a malformed token as INVALID_ARGUMENT whose message names the token.
        dead = code == "UNREGISTERED" or (
            code == "INVALID_ARGUMENT" and "registration token" in message
        )
        return PermanentError(self.name, code, message, invalid_address=dead)

    def send(self, message: OutboundMessage) -> Receipt:
        token = self.tokens.get()
        response = self.request(
            "POST",
            self.send_url,
            json=self.payload(message),
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code != 200:
            raise self.error(response)
        name = json_body(response).get("name")
        if not name:
            raise PermanentError(self.name, "no_name", "FCM answered without a message name")
        return Receipt(self.name, str(name), DeliveryStatus.SENT)
