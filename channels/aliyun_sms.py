"""SMS through Alibaba Cloud's Short Message Service (dysmsapi, API version 2017-05-25).

Sources:
- SendSms: https://help.aliyun.com/zh/sms/developer-reference/api-dysmsapi-2017-05-25-sendsms
  (``PhoneNumbers``, ``SignName``, ``TemplateCode``, ``TemplateParam``, ``OutId``; answer
  ``Code``/``Message``/``BizId``/``RequestId``).
- RPC signature: https://help.aliyun.com/zh/sdk/product-overview/rpc-mechanism
- Error codes: https://help.aliyun.com/document_detail/101346.html (API) and
  https://help.aliyun.com/document_detail/101347.htm (receipts).
- QuerySendDetails: https://help.aliyun.com/zh/sms/developer-reference/api-dysmsapi-2017-05-25-querysenddetails
  (``PhoneNumber``, ``SendDate`` yyyyMMdd, ``PageSize``, ``CurrentPage``; rows carry our
  ``OutId``, ``SendStatus`` 1 waiting / 2 failed / 3 delivered).
- SmsReport (delivery) and SmsUp (replies), HTTP batch push:
  https://help.aliyun.com/zh/sms/developer-reference/smsreport-2 and
  https://help.aliyun.com/zh/sms/developer-reference/smsup-http — a JSON array, answered
  with ``{"code": 0, "msg": "接收成功"}``.

Webhook security, plainly: Aliyun does **not** sign its HTTP batch pushes (the pages above
define no signature header, and the receipts are re-pushed unchanged on failure). The
endpoint is protected by a shared secret token we put in the callback URL configured in
the console (``…/v1/webhooks/aliyun_sms?token=<secret>``), compared in constant time. That
proves the caller knows the URL, not that Aliyun sent the body; serve it over HTTPS only.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import httpx
from pydantic import Field, ValidationInfo, field_validator

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
from channels.keywords import classify
from channels.signatures import aliyun_signature, same_secret
from channels.transport import json_body
from orchestrator.domain import Channel, DeliveryStatus
from orchestrator.errors import PermanentError, ProviderError, SignatureError, TransientError
from orchestrator.messages.approved_texts import ApprovedText, missing_disclosures, placeholders

API_VERSION = "2017-05-25"
# Flow control and platform faults: the same request can succeed later.
TRANSIENT_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",  # per-number flow control (1/min, 5/h, 10/day…)
        "isv.DAY_LIMIT_CONTROL",  # the account's daily quota, lifted at midnight
        "isv.MONTH_LIMIT_CONTROL",
        "isp.SYSTEM_ERROR",
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
        "ServiceUnavailable",
        "InternalError",
        "SignatureNonceUsed",  # our nonce collided; a retry draws a new one
    }
)
INVALID_NUMBER_CODES = frozenset({"isv.MOBILE_NUMBER_ILLEGAL"})
# Receipt (SmsReport ``err_code``) values that say the number itself is dead.
DEAD_NUMBER_RECEIPTS = frozenset({"MOBILE_NOT_ON_SERVICE", "MOBILE_NUMBER_ILLEGAL"})
SEND_STATUS = {1: DeliveryStatus.SENT, 2: DeliveryStatus.UNDELIVERED, 3: DeliveryStatus.DELIVERED}
BEIJING = ZoneInfo("Asia/Shanghai")


def provider_number(e164: str, country_code: str) -> str:
    """E.164 to Aliyun's form: mainland numbers without ``+86``, others as digits with
    their country code."""
    digits = e164.lstrip("+")
    if e164.startswith("+") and digits.startswith(country_code):
        return digits[len(country_code) :]
    return digits


def e164_number(number: str, country_code: str) -> str:
    """Aliyun's report form back to E.164 (11-digit mainland numbers get ``+86``)."""
    digits = number.lstrip("+")
    if len(digits) == 11 and digits.startswith("1"):
        return f"+{country_code}{digits}"
    return f"+{digits}"


class AliyunSmsSettings(AdapterSettings):
    """Aliyun SMS settings.

    Parameters:
      access_key_id_env / access_key_secret_env: names of the variables holding the RAM
        user's AccessKey (grant it ``AliyunDysmsFullAccess`` or narrower).
      sign_name: the approved signature (短信签名).
      template_codes: our template name → Aliyun's approved ``TemplateCode``; a name not
        listed is sent as the code itself.
      approved_texts: per ``TemplateCode``, the text Aliyun approved (``${param}``
        placeholders, locale, the disclosures it carries); every code in
        ``template_codes`` needs one. Configuration loading lints and render-checks them
        (:mod:`orchestrator.messages.approved_texts`); a send passes only the parameters
        the text uses.
      region_id: ``cn-hangzhou`` for the mainland endpoint.
      callback_token_env: the variable holding the shared secret in our callback URL.
      callback_token_param: the query parameter carrying it.
      callback_token_header: the header a reverse proxy may move it to (see
        docs/webhooks.md); checked first.
      country_code: the home country's calling code (mainland numbers drop it).
    """

    # The approved texts describe the codes a tenant sends and are checked like templates
    # wherever a config enters; the codes themselves are senders (the allow-list).
    tenant_fields = AdapterSettings.tenant_fields | {"approved_texts"}
    sender_fields = frozenset({"sign_name", "template_codes"})

    base_url: str = "https://dysmsapi.aliyuncs.com"
    access_key_id_env: str = "ALIYUN_ACCESS_KEY_ID"
    access_key_secret_env: str = "ALIYUN_ACCESS_KEY_SECRET"  # noqa: S105 - a variable name
    sign_name: str
    template_codes: dict[str, str] = Field(default_factory=dict)
    approved_texts: dict[str, ApprovedText] = Field(default_factory=dict, validate_default=True)
    region_id: str = "cn-hangzhou"
    callback_token_env: str = "ALIYUN_CALLBACK_TOKEN"  # noqa: S105 - a variable name
    callback_token_param: str = "token"  # noqa: S105 - a variable name
    callback_token_header: str = "X-Callback-Token"  # noqa: S105 - a header name
    country_code: str = "86"

    @field_validator("approved_texts")
    @classmethod
    def _every_code_approved(
        cls, value: dict[str, ApprovedText], info: ValidationInfo
    ) -> dict[str, ApprovedText]:
        codes = (info.data.get("template_codes") or {}).values()
        missing = sorted(set(codes) - set(value))
        if missing:
            raise ValueError(
                f"declare the text Aliyun approved for {', '.join(missing)} "
                "(the borrower reads that text, not our template)"
            )
        return value


# QuerySendDetails answers for the last 30 days only.
QUERY_DAYS = 30


class AliyunSms(HttpAdapter):
    """Aliyun SMS: SendSms with our attempt ref as ``OutId``, SmsReport and SmsUp pushes,
    and ``lookup`` through QuerySendDetails (matched on ``OutId``)."""

    name = "aliyun_sms"
    channel = Channel.SMS
    Settings = AliyunSmsSettings
    supports_lookup = True
    settings: AliyunSmsSettings

    def __init__(self, settings: AdapterSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.access_key_id = secret(
            self.settings.access_key_id_env, setting=f"{self.name}.access_key_id_env"
        )
        self.access_key_secret = secret(
            self.settings.access_key_secret_env, setting=f"{self.name}.access_key_secret_env"
        )
        self.callback_token = secret(
            self.settings.callback_token_env, setting=f"{self.name}.callback_token_env"
        )

    def rpc(self, action: str, params: dict[str, str]) -> httpx.Response:
        """One signed RPC call (POST, form-encoded)."""
        signed = {
            "Action": action,
            "Version": API_VERSION,
            "Format": "JSON",
            "RegionId": self.settings.region_id,
            "AccessKeyId": self.access_key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            **params,
        }
        signed["Signature"] = aliyun_signature(self.access_key_secret, "POST", signed)
        return self.request("POST", "/", data=signed)

    def error_details(
        self, response: httpx.Response, body: dict[str, Any]
    ) -> tuple[str | None, str]:
        code = str(body.get("Code") or response.status_code)
        return code, str(body.get("Message") or response.text[:200])

    def refused(self, code: str, message: str, body: dict[str, Any]) -> ProviderError:
        if code in TRANSIENT_CODES:
            return TransientError(self.name, code, message)
        return PermanentError(
            self.name, code, message, invalid_address=code in INVALID_NUMBER_CODES
        )

    def send(self, message: OutboundMessage) -> Receipt:
        if not message.template:
            raise PermanentError(
                self.name,
                "no_template",
                "Aliyun sends pre-approved templates only; the message has none",
            )
        code = self.settings.template_codes.get(message.template, message.template)
        template_params = dict(message.template_params)
        approved = self.settings.approved_texts.get(code)
        if approved is not None:
            missing = missing_disclosures(approved, message.disclosures)
            if missing:
                raise PermanentError(
                    self.name,
                    "disclosure_not_approved",
                    f"the text approved for {code} does not carry {', '.join(missing)}, "
                    "which this message needs",
                )
            # Only the parameters the approved text uses: nothing else leaves our hands.
            wanted = placeholders(approved.text)
            template_params = {k: v for k, v in template_params.items() if k in wanted}
        params = {
            "PhoneNumbers": provider_number(message.to, self.settings.country_code),
            "SignName": self.settings.sign_name,
            "TemplateCode": code,
            "TemplateParam": json.dumps(template_params, ensure_ascii=False),
            "OutId": message.attempt_ref,
        }
        response = self.rpc("SendSms", params)
        body = json_body(response)
        if response.status_code != 200 or body.get("Code") != "OK":
            raise self.error(response)
        return Receipt(self.name, str(body["BizId"]), DeliveryStatus.QUEUED)

    def lookup(self, message: OutboundMessage) -> Receipt | None:
        """Search the records to the number for our ``OutId``, one Beijing date at a time,
        from today back to the day before the send was reserved (at least yesterday; at most
        the 30 days Aliyun keeps). QuerySendDetails returns no ``BizId``, so the receipt's
        id is ``OutId:<attempt ref>``."""
        today = self.clock.now().astimezone(BEIJING).date()
        first = today - timedelta(days=1)
        if message.reserved_at is not None:
            first = min(first, message.reserved_at.astimezone(BEIJING).date() - timedelta(days=1))
        first = max(first, today - timedelta(days=QUERY_DAYS - 1))
        days = [today - timedelta(days=n) for n in range((today - first).days + 1)]
        for day in days:
            params = {
                "PhoneNumber": provider_number(message.to, self.settings.country_code),
                "SendDate": day.strftime("%Y%m%d"),
                "PageSize": "50",
                "CurrentPage": "1",
            }
            response = self.rpc("QuerySendDetails", params)
            body = json_body(response)
            if response.status_code != 200 or body.get("Code") != "OK":
                raise self.error(response)
            rows = (body.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
            for row in rows:
                if row.get("OutId") == message.attempt_ref:
                    status = SEND_STATUS.get(int(row.get("SendStatus", 1)), DeliveryStatus.SENT)
                    return Receipt(self.name, f"OutId:{message.attempt_ref}", status)
        return None

    def verify(self, request: WebhookRequest) -> None:
        """Compare the callback's token with our secret (Aliyun signs nothing).

        Aliyun's console takes a callback URL and nothing else, so the token travels in its
        query string, where a reverse proxy's access log can record it. A proxy that moves
        it into the ``callback_token_header`` header (and logs no query strings) keeps it
        out of every log behind it; the header wins when both are present."""
        presented = request.header(self.settings.callback_token_header)
        if presented is None:
            query = dict(parse_qsl(urlsplit(request.url).query))
            presented = query.get(self.settings.callback_token_param)
        if not same_secret(self.callback_token, presented):
            raise SignatureError(f"{self.name}: callback token missing or wrong")

    def parse(self, request: WebhookRequest) -> list[Report]:
        items = request.json()
        if not isinstance(items, list):
            raise SignatureError(f"{self.name}: expected a JSON array")
        reports = []
        for item in items:
            if not isinstance(item, dict):
                continue
            if "content" in item:
                reports.append(self._uplink(item))
            elif "biz_id" in item or "success" in item:
                reports.append(self._receipt(item))
        return reports

    def _receipt(self, item: dict[str, Any]) -> Report:
        delivered = item.get("success") in (True, "true")
        code = str(item.get("err_code") or "")
        biz_id = str(item.get("biz_id") or "")
        phone = str(item.get("phone_number") or "")
        return Report(
            provider=self.name,
            kind=ReportKind.DELIVERY,
            dedupe_key=f"{self.name}:{biz_id}:{phone}:{delivered}:{code}",
            attempt_ref=str(item["out_id"]) if item.get("out_id") else None,
            provider_message_id=biz_id or None,
            status=DeliveryStatus.DELIVERED if delivered else DeliveryStatus.UNDELIVERED,
            error_code=None if delivered else code or None,
            invalid_address=not delivered and code in DEAD_NUMBER_RECEIPTS,
            recipient=e164_number(phone, self.settings.country_code) if phone else None,
            details={
                "report_time": str(item.get("report_time") or ""),
                "err_msg": str(item.get("err_msg") or ""),
            },
        )

    def _uplink(self, item: dict[str, Any]) -> Report:
        text = str(item.get("content") or "")
        phone = str(item.get("phone_number") or "")
        intent = classify(text)
        sequence = str(item.get("sequence_id") or "")
        return Report(
            provider=self.name,
            kind=ReportKind.INBOUND,
            dedupe_key=f"{self.name}:up:{sequence}:{phone}:{item.get('send_time', '')}",
            opted_out=intent == "opt_out",
            sender=e164_number(phone, self.settings.country_code) if phone else None,
            recipient=str(item.get("dest_code") or "") or None,
            text=text,
            details={"intent": str(intent), "sign_name": str(item.get("sign_name") or "")},
        )

    def webhook_reply(self, reports: list[Report]) -> tuple[str, bytes]:
        """Aliyun re-pushes unless answered 200 with a numeric ``code``. Aliyun cannot
        reply inline: the opt-out confirmation goes out as its own message
        (``Purpose.OPT_OUT_CONFIRMATION``)."""
        return "application/json", json.dumps(
            {"code": 0, "msg": "接收成功"}, ensure_ascii=False
        ).encode()
