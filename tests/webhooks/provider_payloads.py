"""Real-format provider webhooks, signed the way each provider documents it.

The signatures here are computed independently of ``channels.signatures`` (which the
adapters verify with), so a test that passes shows both sides agree with the provider's
published algorithm, not merely with each other:

- Twilio: the ``twilio`` package's own ``RequestValidator.compute_signature``
  (https://www.twilio.com/docs/usage/security#validating-requests).
- SendGrid: ECDSA P-256 / SHA-256 over ``timestamp + raw body`` with ``cryptography``
  (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features).
- Dialer: HMAC-SHA256 over ``"<t>." + body`` per docs/channels.md ("Dialer protocol").
- Aliyun: the shared token in the callback URL's query (Aliyun signs nothing).
- JPush: HTTP Basic ``appKey:masterSecret``.

Field lists follow the providers' example payloads (cited per builder).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

BEIJING_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Webhook:
    """One webhook as a provider would send it: where, what and how it is signed.

    Parameters:
      provider: the path segment (``/v1/webhooks/{provider}``).
      query: the query string of the callback URL (Twilio's ``attempt_ref``, Aliyun's token).
      body: the raw bytes signed.
      headers: content type and signature headers.
    """

    provider: str
    body: bytes
    headers: dict[str, str]
    query: str = ""
    tenant: str | None = None
    form: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        base = f"/v1/webhooks/{self.provider}" + (f"/{self.tenant}" if self.tenant else "")
        return base + (f"?{self.query}" if self.query else "")

    def with_body(self, body: bytes) -> Webhook:
        """The same signature and headers over another body: a tampered request."""
        return Webhook(self.provider, body, dict(self.headers), self.query, self.tenant)

    def with_headers(self, **changes: str | None) -> Webhook:
        """Headers changed (``None`` removes one)."""
        headers = dict(self.headers)
        for name, value in changes.items():
            name = name.replace("_", "-")
            headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
            if value is not None:
                headers[name] = value
        return Webhook(self.provider, self.body, headers, self.query, self.tenant, self.form)

    def with_query(self, query: str) -> Webhook:
        return Webhook(self.provider, self.body, dict(self.headers), query, self.tenant, self.form)


def new_sid(prefix: str) -> str:
    """A Twilio-shaped resource sid (``SM…``, ``CA…``)."""
    return prefix + secrets.token_hex(16)


# --- Twilio ---------------------------------------------------------------------------------


def twilio_webhook(
    provider: str,
    public_url: str,
    auth_token: str,
    form: dict[str, str],
    *,
    query: str = "",
    tenant: str | None = None,
) -> Webhook:
    """A form-encoded Twilio webhook with ``X-Twilio-Signature`` from the twilio package."""
    path = f"/v1/webhooks/{provider}" + (f"/{tenant}" if tenant else "")
    url = public_url.rstrip("/") + path + (f"?{query}" if query else "")
    signature = RequestValidator(auth_token).compute_signature(url, form)
    return Webhook(
        provider,
        urlencode(form).encode(),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
        },
        query,
        tenant,
        dict(form),
    )


def twilio_message_status(
    account_sid: str, sid: str, status: str, *, to: str, sender: str, error_code: str | None = None
) -> dict[str, str]:
    """A Messaging status callback's fields.

    Source: https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
    ("MessageStatus", "MessageSid", "ErrorCode", plus the common request parameters).
    """
    form = {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "From": sender,
        "MessageSid": sid,
        "MessageStatus": status,
        "SmsSid": sid,
        "SmsStatus": status,
        "To": to,
    }
    if error_code:
        form["ErrorCode"] = error_code
    if status == "delivered":
        form["RawDlrDoneDate"] = "2611021500"
    return form


def twilio_inbound(account_sid: str, *, sender: str, to: str, body: str) -> dict[str, str]:
    """An incoming message's fields.

    Source: https://www.twilio.com/docs/messaging/guides/webhook-request
    """
    sid = new_sid("SM")
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "10001",
        "SmsSid": sid,
        "FromState": "NY",
        "SmsStatus": "received",
        "FromCity": "NEW YORK",
        "Body": body,
        "FromCountry": "US",
        "To": to,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def twilio_call_status(
    account_sid: str,
    sid: str,
    status: str,
    *,
    to: str,
    sender: str,
    answered_by: str | None = None,
    duration: str | None = None,
    sequence: int = 0,
) -> dict[str, str]:
    """A Voice status callback's fields.

    Sources: https://www.twilio.com/docs/voice/api/call-resource#statuscallback and
    https://www.twilio.com/docs/voice/answering-machine-detection (``AnsweredBy``).
    """
    form = {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": status,
        "Called": to,
        "Caller": sender,
        "Direction": "outbound-api",
        "From": sender,
        "To": to,
        "CallbackSource": "call-progress-events",
        "SequenceNumber": str(sequence),
        "Timestamp": "Mon, 02 Nov 2026 15:00:30 +0000",
    }
    if answered_by:
        form["AnsweredBy"] = answered_by
    if duration is not None:
        form["CallDuration"] = duration
        form["Duration"] = str(max(1, (int(duration) + 59) // 60))
    return form


# --- SendGrid -------------------------------------------------------------------------------


def sendgrid_event(
    event: str,
    *,
    email: str,
    sg_message_id: str,
    attempt_ref: str | None,
    at: datetime,
    **extra: Any,
) -> dict[str, Any]:
    """One Event Webhook event (our ``custom_args`` appear at the top level).

    Source: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
    """
    item: dict[str, Any] = {
        "email": email,
        "timestamp": int(at.timestamp()),
        "smtp-id": f"<{sg_message_id.split('.')[0]}@ismtpd0001p1las1.sendgrid.net>",
        "event": event,
        "category": ["collections"],
        "sg_event_id": base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("="),
        "sg_message_id": sg_message_id,
        **extra,
    }
    if attempt_ref is not None:
        item["attempt_ref"] = attempt_ref
    return item


def sendgrid_webhook(private_key_pem: str, events: list[dict[str, Any]], timestamp: int) -> Webhook:
    """A signed Event Webhook post: ECDSA (P-256, SHA-256) over ``timestamp + body``."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    body = json.dumps(events).encode()
    stamp = str(timestamp)
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return Webhook(
        "sendgrid_email",
        body,
        {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        },
    )


def sendgrid_message_id() -> str:
    """An ``sg_message_id``: the ``X-Message-Id`` the send returned plus a filter suffix."""
    return secrets.token_urlsafe(16)[:22]


# --- Aliyun ---------------------------------------------------------------------------------


def aliyun_report(
    *, phone: str, biz_id: str, out_id: str | None, success: bool, at: datetime, code: str = ""
) -> dict[str, Any]:
    """One SmsReport item.

    Source: https://help.aliyun.com/zh/sms/developer-reference/smsreport-2
    """
    return {
        "phone_number": phone,
        "send_time": at.strftime(BEIJING_FORMAT),
        "report_time": at.strftime(BEIJING_FORMAT),
        "success": success,
        "err_code": code or ("DELIVERED" if success else "MOBILE_NOT_ON_SERVICE"),
        "err_msg": "用户接收成功" if success else "停机",
        "sms_size": "1",
        "biz_id": biz_id,
        "out_id": out_id,
    }


def aliyun_uplink(*, phone: str, content: str, at: datetime) -> dict[str, Any]:
    """One SmsUp item (a borrower's reply).

    Source: https://help.aliyun.com/zh/sms/developer-reference/smsup-http
    """
    return {
        "phone_number": phone,
        "send_time": at.strftime(BEIJING_FORMAT),
        "content": content,
        "sign_name": "示例金融",
        "dest_code": "1234",
        "sequence_id": secrets.randbelow(10**10),
    }


def aliyun_webhook(token: str | None, items: list[dict[str, Any]]) -> Webhook:
    """An HTTP batch push to the callback URL configured in the console (token in it)."""
    query = urlencode({"token": token}) if token is not None else ""
    return Webhook(
        "aliyun_sms",
        json.dumps(items, ensure_ascii=False).encode(),
        {"Content-Type": "application/json"},
        query,
    )


def aliyun_biz_id() -> str:
    return f"{secrets.randbelow(10**15):015d}^0"


# --- The dialer -----------------------------------------------------------------------------


def dialer_webhook(secret: str, outcome: dict[str, Any], timestamp: int) -> Webhook:
    """An outcome signed ``X-Dialer-Signature: t=<ts>,v1=<hex HMAC-SHA256("<ts>." + body)>``."""
    body = json.dumps(outcome, separators=(",", ":")).encode()
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return Webhook(
        "dialer_call",
        body,
        {"Content-Type": "application/json", "X-Dialer-Signature": f"t={timestamp},v1={mac}"},
    )


def dialer_outcome(
    outcome: str, *, task_id: str, attempt_ref: str, at: datetime, **extra: Any
) -> dict[str, Any]:
    """One outcome document (docs/channels.md, "Dialer protocol", Outcome)."""
    return {
        "event_id": "E-" + secrets.token_hex(6),
        "task_id": task_id,
        "attempt_ref": attempt_ref,
        "outcome": outcome,
        "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "agent_id": "agent-7",
        "duration_seconds": 95,
        **extra,
    }


# --- JPush ----------------------------------------------------------------------------------


def jpush_webhook(app_key: str, master_secret: str, items: list[dict[str, Any]]) -> Webhook:
    """A receipt callback with HTTP Basic ``appKey:masterSecret``."""
    credentials = base64.b64encode(f"{app_key}:{master_secret}".encode()).decode()
    return Webhook(
        "jpush_push",
        json.dumps(items).encode(),
        {"Content-Type": "application/json", "Authorization": f"Basic {credentials}"},
    )


def jpush_receipt(
    kind: str, *, msg_id: str, registration_id: str, attempt_ref: str | None, at: datetime
) -> dict[str, Any]:
    """One receipt in the layout docs/channels.md records (see "What is uncertain")."""
    item: dict[str, Any] = {
        "msg_id": msg_id,
        "registration_id": registration_id,
        "platform": "android",
        "type": kind,
        "time": int(at.timestamp()),
    }
    if attempt_ref is not None:
        item["params"] = {"attempt_ref": attempt_ref}
    return item
