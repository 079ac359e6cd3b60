"""Push notifications through JPush (极光推送), Push API v3.

Chosen over APNs because most lenders in China reach Android users through domestic push
services (Google's FCM is unreachable there), and JPush fronts both Android vendors and APNs
behind one HTTP/1.1 JSON API with Basic auth; APNs needs HTTP/2 and an ES256 provider
token and reaches iOS only.

Sources:
- Push: https://docs.jiguang.cn/jpush/server/push/rest_api_v3_push (``POST /v3/push``,
  ``Authorization: Basic base64(appKey:masterSecret)``; ``platform``,
  ``audience.registration_id``, ``notification`` with per-platform ``extras``,
  ``options.sendno``/``time_to_live``/``apns_production``; answer ``{"sendno", "msg_id"}``).
- HTTP status codes: https://docs.jiguang.cn/jpush/server/push/http_status_code (400/401/403
  refused, 429 over the rate limit, 5xx retry later). Business codes in the error body
  ``{"error": {"code", "message"}}``: 1011 no push target matched, 1003 invalid parameter,
  1004 authentication failed, 2002 API rate limited.
- Delivery/click callbacks (回执 API): https://docs.jiguang.cn/jpush/server/push/rest_api_v3_callback
  — authenticated like the Push API (HTTP Basic appKey:masterSecret). **Uncertain:** Jiguang
  gives the callback's field list to customers on request only. ``parse`` reads the layout
  documented in docs/channels.md (a JSON array of ``{"msg_id", "registration_id", "type",
  "time", "params"}`` with ``type`` ``delivered``/``undelivered``/``click``), which the
  sandbox emits; check it against the layout Jiguang hands over before production.

``lookup`` is not possible: the Report API finds a push by ``msg_id`` only, never by a value
of ours, so ``supports_lookup`` stays False.
"""

from __future__ import annotations

import hashlib
from typing import Any

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
from channels.signatures import basic_auth, same_secret
from channels.transport import json_body
from orchestrator.domain import Channel, DeliveryStatus
from orchestrator.errors import PermanentError, ProviderError, SignatureError, TransientError

TRANSIENT_CODES = frozenset({"2002", "1000"})  # rate limited, internal error
DEAD_TARGET_CODES = frozenset({"1011"})  # no device matched the registration id
CALLBACK_TYPES = {
    "delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "click": None,
}


class JpushSettings(AdapterSettings):
    """JPush settings.

    Parameters:
      app_key_env / master_secret_env: names of the variables with the app's credentials.
      apns_production: deliver iOS pushes through APNs production (else sandbox).
      time_to_live_seconds: how long JPush keeps the push for an offline device.
    """

    tenant_fields = AdapterSettings.tenant_fields | {"time_to_live_seconds"}

    base_url: str = "https://api.jpush.cn"
    app_key_env: str = "JPUSH_APP_KEY"
    master_secret_env: str = "JPUSH_MASTER_SECRET"  # noqa: S105 - a variable name
    apns_production: bool = True
    time_to_live_seconds: int = 86_400


class JpushPush(HttpAdapter):
    """JPush: push to one registration id with our attempt ref in ``extras`` and the
    callback ``params``."""

    name = "jpush_push"
    channel = Channel.PUSH
    delivery_note = (
        "JPush reports delivery per device through its receipt callback, only once the "
        "device's push channel confirms it; until then a push stays sent"
    )
    Settings = JpushSettings
    settings: JpushSettings

    def __init__(self, settings: AdapterSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        app_key = secret(self.settings.app_key_env, setting=f"{self.name}.app_key_env")
        master = secret(self.settings.master_secret_env, setting=f"{self.name}.master_secret_env")
        self.authorization = basic_auth(app_key, master)

    def payload(self, message: OutboundMessage) -> dict[str, Any]:
        """The push object. ``sendno`` is derived from the idempotency key (JPush echoes
        it back; it does not deduplicate on it)."""
        extras = {str(k): str(v) for k, v in message.tags.items()}
        extras["attempt_ref"] = message.attempt_ref
        android: dict[str, Any] = {"alert": message.body, "extras": extras}
        ios: dict[str, Any] = {"alert": message.body, "sound": "default", "extras": extras}
        if message.title:
            android["title"] = message.title
            ios["alert"] = {"title": message.title, "body": message.body}
        sendno = int(hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:7], 16)
        body: dict[str, Any] = {
            "platform": "all",
            "audience": {"registration_id": [message.to]},
            "notification": {"alert": message.body, "android": android, "ios": ios},
            "options": {
                "sendno": sendno,
                "time_to_live": self.settings.time_to_live_seconds,
                "apns_production": self.settings.apns_production,
            },
            "callback": {"params": {"attempt_ref": message.attempt_ref}, "type": 3},
        }
        if message.callback_url:
            body["callback"]["url"] = message.callback_url
        return body

    def error_details(
        self, response: httpx.Response, body: dict[str, Any]
    ) -> tuple[str | None, str]:
        error = body.get("error") or {}
        code = str(error.get("code") or response.status_code)
        return code, str(error.get("message") or response.text[:200])

    def refused(self, code: str, message: str, body: dict[str, Any]) -> ProviderError:
        if code in TRANSIENT_CODES:
            return TransientError(self.name, code, message)
        return PermanentError(self.name, code, message, invalid_address=code in DEAD_TARGET_CODES)

    def send(self, message: OutboundMessage) -> Receipt:
        response = self.request(
            "POST",
            "/v3/push",
            json=self.payload(message),
            headers={"Authorization": self.authorization},
        )
        if response.status_code != 200:
            raise self.error(response)
        msg_id = json_body(response).get("msg_id")
        if not msg_id:
            raise PermanentError(self.name, "no_msg_id", "JPush answered without msg_id")
        return Receipt(self.name, str(msg_id), DeliveryStatus.SENT)

    def verify(self, request: WebhookRequest) -> None:
        if not same_secret(self.authorization, request.header("authorization")):
            raise SignatureError(f"{self.name}: callback Authorization does not match")

    def parse(self, request: WebhookRequest) -> list[Report]:
        items = request.json()
        items = items if isinstance(items, list) else [items]
        reports = []
        for item in items:
            kind = item.get("type") if isinstance(item, dict) else None
            if not isinstance(kind, str) or kind not in CALLBACK_TYPES:
                continue
            msg_id = str(item.get("msg_id") or "")
            device = str(item.get("registration_id") or "")
            params = item["params"] if isinstance(item.get("params"), dict) else {}
            reports.append(
                Report(
                    provider=self.name,
                    kind=ReportKind.DELIVERY,
                    dedupe_key=f"{self.name}:{msg_id}:{device}:{kind}",
                    attempt_ref=str(params["attempt_ref"]) if params.get("attempt_ref") else None,
                    provider_message_id=msg_id or None,
                    status=CALLBACK_TYPES[kind],
                    recipient=device or None,
                    details={"event": kind},
                )
            )
        return reports
