"""Reminders through a WeChat Official Account (服务号): template messages to the borrower's
openid, the platform's signed event pushes, a token shared by every worker.

Which message type: a verified service account sends *template messages* (模板消息) from a
template of its service category's library; they are for service notices such as a
repayment reminder (还款提醒) and never for marketing. Since 4 May 2023 the platform drops
the first line, the remark, colours and emoji, and a field shows at most 20 characters on one
line. *Subscription notices* (订阅通知) need the user's own subscription per notice, and
long-term subscriptions are open only to public services, so a collection reminder the
lender starts uses a template message. Sources (docs/channels.md lists them with dates):

- Template message API: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html
  (``POST /cgi-bin/message/template/send?access_token=…`` with ``touser``, ``template_id``,
  ``url``, ``data`` as ``{"key": {"value": …}}`` and ``client_msg_id``, a de-duplication key;
  answers ``{"errcode": 0, "errmsg": "ok", "msgid": …}``; the ``TEMPLATESENDJOBFINISH`` event
  reports ``success``, ``failed:user block`` or ``failed: system failed``).
- 关于规范公众号模板消息的再次公告 (2023-04, in force 2023-05-04): the content rules above.
- 43004 需要接收者关注 (the user does not follow the account) and 43101 用户拒绝接受消息
  (the user refused this template), both reported by the platform's send API.
- Access token: ``GET /cgi-bin/token?grant_type=client_credential&appid=…&secret=…``
  (``expires_in`` 7200; 2000 fetches a day); errors 40001, 40014, 42001 mean the token is bad.
- Server push verification: ``signature`` = SHA-1 of the token, ``timestamp`` and ``nonce``
  sorted and joined (接入概述, "验证消息的确来自微信服务器").
- Follow and unfollow (关注/取消关注事件): the platform pushes ``MsgType`` ``event`` with
  ``Event`` ``subscribe`` or ``unsubscribe`` and ``FromUserName`` the user's openid to the
  same URL, retried up to three times when no answer comes within five seconds; the platform
  recommends de-duplicating retries by ``FromUserName`` + ``CreateTime``
  (http://admin.wechat.com/wiki/index.php?title=Event-based_Messages, "Following/Unfollowing
  Event"). An unfollow is an opt-out of WeChat for that openid; a follow is noted and undoes
  nothing: only the lender's ``opt_in`` (the borrower's renewed consent) lifts the opt-out.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx
import redis
from defusedxml import ElementTree
from pydantic import BaseModel, ConfigDict, Field

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
from channels.signatures import same_secret
from channels.transport import json_body
from channels.wechat_tokens import LocalTokens, RedisTokens, TokenStore
from orchestrator.domain import Channel, DeliveryStatus
from orchestrator.errors import PermanentError, ProviderError, SignatureError, TransientError

FIELD_LENGTH = 20  # characters a template field shows since 2023-05-04
PLACEHOLDER = re.compile(r"\$\{([a-z_]+)\}")
BAD_TOKEN = frozenset({"40001", "40014", "42001"})
OPTED_OUT = frozenset({"43004", "43101"})  # not following; refused this template
DEAD_OPENID = frozenset({"40003"})
TRY_AGAIN = frozenset({"-1", "45009", "45011"})  # busy; daily quota; frequency limit
# The follow events: what each says about the openid's consent to WeChat messages.
FOLLOW_EVENTS = {"unsubscribe": "opt_out", "subscribe": "follow"}
STATUSES = {
    "success": DeliveryStatus.DELIVERED,
    "failed:user block": DeliveryStatus.UNDELIVERED,
    "failed: system failed": DeliveryStatus.FAILED,
}


class WechatTemplate(BaseModel):
    """One of our templates as a template of the account's library.

    Parameters:
      template_id: the platform's id for the template the account added.
      fields: the template's keys and their values, with ``${name}``, ``${amount}``,
        ``${currency}``, ``${due_date}``, ``${reference}`` filled in at send; each value at
        most 20 characters once filled (a longer one is refused, not cut).
      url: where the card opens (the lender's repayment page), if anywhere.
      carries: the disclosures the card stands for. WeChat puts a 拒收 (refuse) switch on
        every template message, which is the opt-out; list ``opt_out`` only if that is how
        the lender meets its opt-out notice.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    template_id: str = Field(min_length=1)
    fields: dict[str, str] = Field(min_length=1)
    url: str = ""
    carries: tuple[str, ...] = ()


class WechatSettings(AdapterSettings):
    """WeChat Official Account settings.

    Parameters:
      appid: the account's AppID.
      app_secret_env: the variable holding the AppSecret.
      callback_token_env: the variable holding the Token set in 服务器配置 (signs pushes).
      templates: our template name → :class:`WechatTemplate`.
      shared_token: keep the token in the deployment's Redis (``REDIS_URL``, or
        ``ORCHESTRATOR_REDIS_URL``), fetched by one worker for all; off (or no Redis
        configured), each process keeps its own, which suits a single worker only.
      token_key_prefix: prepended to the token's Redis keys (default: the deployment's
        ``ORCHESTRATOR_QUEUE_NAMESPACE`` and a colon).
      callback_max_age_seconds: refuse pushes whose timestamp is older.
    """

    sender_fields = frozenset({"appid", "templates"})
    stricter: ClassVar[Mapping[str, str]] = {"callback_max_age_seconds": "lower"}

    base_url: str = "https://api.weixin.qq.com"
    appid: str = Field(pattern=r"^wx[0-9a-f]{16}$")
    app_secret_env: str = "WECHAT_APP_SECRET"  # noqa: S105 - a variable's name
    callback_token_env: str = "WECHAT_CALLBACK_TOKEN"  # noqa: S105 - a variable's name
    templates: dict[str, WechatTemplate] = Field(default_factory=dict)
    shared_token: bool = True
    token_key_prefix: str = ""
    callback_max_age_seconds: int = 600


class WechatOfficial(HttpAdapter):
    """WeChat: template messages with ``client_msg_id``, a token shared through Redis,
    ``TEMPLATESENDJOBFINISH`` pushes verified by their SHA-1 signature."""

    name = "wechat_official"
    channel = Channel.WECHAT
    Settings = WechatSettings
    settings: WechatSettings

    def __init__(self, settings: AdapterSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.app_secret = secret(
            self.settings.app_secret_env, setting=f"{self.name}.app_secret_env"
        )
        self.callback_token = secret(
            self.settings.callback_token_env, setting=f"{self.name}.callback_token_env"
        )
        url = (
            os.environ.get("REDIS_URL") or os.environ.get("ORCHESTRATOR_REDIS_URL")
            if self.settings.shared_token
            else None
        )
        namespace = os.environ.get("ORCHESTRATOR_QUEUE_NAMESPACE", "orchestrator")
        prefix = self.settings.token_key_prefix or f"{namespace}:"
        self.tokens: TokenStore = LocalTokens(self.clock)
        if url:
            self.tokens = RedisTokens(redis.Redis.from_url(url), prefix=prefix)
        # A token belongs to an account at one endpoint (the platform, or a sandbox).
        self.account = f"{self.settings.appid}@{urlsplit(self.settings.base_url).netloc}"

    def _fetch_token(self) -> tuple[str, int]:
        response = self.request(
            "GET",
            "/cgi-bin/token",
            params={
                "grant_type": "client_credential",
                "appid": self.settings.appid,
                "secret": self.app_secret,
            },
        )
        body = json_body(response)
        if response.status_code != 200 or not body.get("access_token"):
            code = str(body.get("errcode", response.status_code))
            message = str(body.get("errmsg") or response.text[:200])
            if code in TRY_AGAIN or response.status_code >= 500:
                raise TransientError(self.name, code, f"token: {message}")
            raise PermanentError(self.name, code, f"token: {message}")
        return str(body["access_token"]), int(body.get("expires_in") or 7200)

    def payload(self, message: OutboundMessage) -> dict[str, Any]:
        """The template message body (refuses what the platform would cut or not carry)."""
        template = self.settings.templates.get(message.template or "")
        if template is None:
            raise PermanentError(
                self.name, "no_template", f"no WeChat template for {message.template!r}"
            )
        missing = [d for d in message.disclosures if d not in template.carries]
        if missing:
            raise PermanentError(
                self.name,
                "disclosure_not_carried",
                f"template {template.template_id} does not carry {', '.join(missing)}",
            )
        data = {}
        for key, pattern in template.fields.items():
            value = PLACEHOLDER.sub(lambda m: message.template_params.get(m[1], ""), pattern)
            if len(value) > FIELD_LENGTH:
                raise PermanentError(
                    self.name,
                    "field_too_long",
                    f"field {key} is {len(value)} characters; WeChat shows {FIELD_LENGTH}",
                )
            data[key] = {"value": value}
        body: dict[str, Any] = {
            "touser": message.to,
            "template_id": template.template_id,
            "data": data,
            "client_msg_id": message.idempotency_key[:64],
        }
        if template.url:
            body["url"] = template.url
        return body

    def send(self, message: OutboundMessage) -> Receipt:
        body = self.payload(message)
        token = self.tokens.token(self.account, self._fetch_token)
        response = self.request(
            "POST",
            "/cgi-bin/message/template/send",
            params={"access_token": token},
            json=body,
        )
        answer = json_body(response)
        code = str(answer.get("errcode", 0 if response.status_code == 200 else ""))
        if response.status_code == 200 and code == "0" and answer.get("msgid") is not None:
            return Receipt(self.name, str(answer["msgid"]), DeliveryStatus.QUEUED)
        if code in BAD_TOKEN:
            self.tokens.drop(self.account, token)
        raise self.error(response)

    def error_details(
        self, response: httpx.Response, body: dict[str, Any]
    ) -> tuple[str | None, str]:
        code = body.get("errcode")
        return (str(code) if code is not None else None), str(body.get("errmsg") or "")

    def error(self, response: httpx.Response) -> ProviderError:
        code, message = self.error_details(response, json_body(response))
        if code in BAD_TOKEN or code in TRY_AGAIN:
            return TransientError(self.name, code or "", message)
        if response.status_code != 200:
            return super().error(response)
        return self.refused(code or "unknown", message, {})

    def refused(self, code: str, message: str, body: dict[str, Any]) -> ProviderError:
        return PermanentError(
            self.name,
            code,
            message,
            opted_out=code in OPTED_OUT,
            invalid_address=code in DEAD_OPENID,
        )

    def verify(self, request: WebhookRequest) -> None:
        query = parse_qs(urlsplit(request.url).query)
        timestamp = (query.get("timestamp") or [""])[0]
        nonce = (query.get("nonce") or [""])[0]
        signature = (query.get("signature") or [""])[0]
        if not same_secret(wechat_signature(self.callback_token, timestamp, nonce), signature):
            raise SignatureError(f"{self.name}: push signature does not match")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 11):
            raise SignatureError(f"{self.name}: push timestamp is malformed")
        age = abs(self.clock.now().timestamp() - int(timestamp))
        if age > self.settings.callback_max_age_seconds:
            raise SignatureError(f"{self.name}: push timestamp is stale")

    def parse(self, request: WebhookRequest) -> list[Report]:
        try:
            root = ElementTree.fromstring(request.body)
        except ElementTree.ParseError:
            raise SignatureError(f"{self.name}: the push is not XML") from None
        event = (root.findtext("Event") or "").strip()
        if event in FOLLOW_EVENTS and (root.findtext("MsgType") or "").strip() == "event":
            return self._follow(root, event)
        if event != "TEMPLATESENDJOBFINISH":
            return []  # menu clicks, scans and the like say nothing about our messages
        msgid = (root.findtext("MsgID") or "").strip()
        status = (root.findtext("Status") or "").strip()
        if not msgid or status not in STATUSES:
            return []
        return [
            Report(
                provider=self.name,
                kind=ReportKind.DELIVERY,
                dedupe_key=f"{self.name}:{msgid}:{status}",
                provider_message_id=msgid,
                status=STATUSES[status],
                error_code=None if status == "success" else status,
                opted_out=status == "failed:user block",
                recipient=(root.findtext("FromUserName") or "").strip() or None,
                details={"event": status},
            )
        ]

    def _follow(self, root: Any, event: str) -> list[Report]:
        """A follow or unfollow of the Official Account, as an inbound report about the
        openid that sent it (the platform's retries carry the same ``CreateTime``)."""
        openid = (root.findtext("FromUserName") or "").strip()
        created = (root.findtext("CreateTime") or "").strip()
        if not openid or not (created.isascii() and created.isdigit() and len(created) <= 11):
            return []
        unfollowed = event == "unsubscribe"
        return [
            Report(
                provider=self.name,
                kind=ReportKind.INBOUND,
                dedupe_key=f"{self.name}:{event}:{openid}:{created}",
                opted_out=unfollowed,
                sender=openid,
                occurred_at=datetime.fromtimestamp(int(created), UTC),
                details={"intent": FOLLOW_EVENTS[event], "event": event},
                channel=Channel.WECHAT,
            )
        ]

    def webhook_reply(self, reports: list[Report]) -> tuple[str, bytes]:
        return "text/plain", b"success"  # the platform stops retrying on "success"


def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    """The ``signature`` of a push: SHA-1 of the token, timestamp and nonce, sorted and
    joined."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324 - the platform's scheme
