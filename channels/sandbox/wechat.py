"""WeChat Official Account APIs, under ``/wechat``.

``GET /cgi-bin/token`` checks the AppSecret (``WECHAT_APP_SECRET``) and issues a token good
for 7200 s, counting fetches (``/_sandbox`` tests read ``wechat_token_fetches``).
``POST /cgi-bin/message/template/send`` checks the token (40001 otherwise), the body
(``touser``, ``template_id``, ``data`` values of at most 20 characters: 47003 otherwise)
and ``client_msg_id`` (a repeat answers the first ``msgid``), answers
``{"errcode": 0, "errmsg": "ok", "msgid": …}``, then pushes ``TEMPLATESENDJOBFINISH`` as XML
to ``{callback_base}/wechat_official`` with ``signature``, ``timestamp`` and ``nonce`` in the
query, signed with ``WECHAT_CALLBACK_TOKEN``. Faults answer as the platform does: errcode
-1 (busy), 45009 (quota), 43101 (the user refused) with HTTP 200.
"""

from __future__ import annotations

import secrets
from functools import partial
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.sandbox.faults import Failure
from channels.sandbox.state import SandboxState
from channels.sandbox.wire import json_answer, json_object
from channels.signatures import same_secret
from channels.wechat_official import FIELD_LENGTH, wechat_signature


def failure_answer(failure: Failure) -> Response:
    if failure is Failure.TIMEOUT:
        return Response("gateway timeout", status_code=504)
    code, message = {
        Failure.THROTTLE: (45009, "reach max api daily quota limit"),
        Failure.PERMANENT: (43101, "user refuse to accept the msg"),
    }.get(failure, (-1, "system error"))
    return json_answer(200, {"errcode": code, "errmsg": message})


class Wechat:
    """The imitation; one instance per sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.app_secret = state.credential("WECHAT_APP_SECRET")
        self.callback_token = state.credential("WECHAT_CALLBACK_TOKEN") or ""

    def routes(self) -> list[Route]:
        return [
            Route("/wechat/cgi-bin/token", self.token, methods=["GET"]),
            Route("/wechat/cgi-bin/message/template/send", self.send, methods=["POST"]),
        ]

    async def token(self, request: Request) -> Response:
        query = request.query_params
        if query.get("grant_type") != "client_credential":
            return json_answer(200, {"errcode": 40002, "errmsg": "invalid grant_type"})
        if not self.app_secret or not same_secret(self.app_secret, query.get("secret")):
            return json_answer(200, {"errcode": 40001, "errmsg": "invalid credential"})
        token = secrets.token_urlsafe(48)
        self.state.wechat_tokens.add(token)
        self.state.wechat_token_fetches += 1
        return json_answer(200, {"access_token": token, "expires_in": 7200})

    async def send(self, request: Request) -> Response:
        if request.query_params.get("access_token") not in self.state.wechat_tokens:
            return json_answer(200, {"errcode": 40001, "errmsg": "invalid credential"})
        failure, _fault = await self.state.faults.draw("wechat_official")
        if failure:
            return failure_answer(failure)
        body = await json_object(request)
        if body is None:
            return json_answer(200, {"errcode": 47001, "errmsg": "data format error"})
        touser, template_id, data = body.get("touser"), body.get("template_id"), body.get("data")
        if not isinstance(touser, str) or not touser:
            return json_answer(200, {"errcode": 40003, "errmsg": "invalid openid"})
        if not isinstance(template_id, str) or not template_id:
            return json_answer(200, {"errcode": 40037, "errmsg": "invalid template_id"})
        if not isinstance(data, dict) or not all(
            isinstance(v, dict) and len(str(v.get("value", ""))) <= FIELD_LENGTH
            for v in data.values()
        ):
            return json_answer(200, {"errcode": 47003, "errmsg": "argument invalid! data"})
        key = f"{touser}:{body.get('client_msg_id', '')}"
        if body.get("client_msg_id") and key in self.state.wechat_sent:
            return json_answer(
                200, {"errcode": 0, "errmsg": "ok", "msgid": self.state.wechat_sent[key]}
            )
        msgid = secrets.randbelow(10**12) + 10**11
        if body.get("client_msg_id"):
            self.state.wechat_sent[key] = msgid
        now = self.state.clock.now()
        text = " / ".join(f"{k}: {v.get('value', '')}" for k, v in data.items())
        self.state.journal.message(
            "wechat_official",
            at=now,
            to=touser,
            body=text,
            attempt_ref=None,
            provider_message_id=str(msgid),
            idempotency_key=body.get("client_msg_id"),
            template=template_id,
        )
        self.state.courier.run(partial(self._story, touser, msgid))
        return await self.state.faults.answer(
            "wechat_official", json_answer(200, {"errcode": 0, "errmsg": "ok", "msgid": msgid})
        )

    async def _story(self, touser: str, msgid: int) -> None:
        blocked = self.state.borrowers.replies_stop(str(msgid))
        status = "failed:user block" if blocked else "success"
        now = self.state.clock.now()
        body = (
            "<xml><ToUserName><![CDATA[gh_sandbox]]></ToUserName>"
            f"<FromUserName><![CDATA[{touser}]]></FromUserName>"
            f"<CreateTime>{int(now.timestamp())}</CreateTime>"
            "<MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>"
            f"<MsgID>{msgid}</MsgID><Status><![CDATA[{status}]]></Status></xml>"
        ).encode()
        timestamp, nonce = str(int(now.timestamp())), secrets.token_hex(8)
        query: dict[str, Any] = {
            "signature": wechat_signature(self.callback_token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": touser,
        }
        await self.state.courier.post(
            "wechat_official",
            f"{self.state.webhook('wechat_official')}?{urlencode(query)}",
            body,
            {"Content-Type": "text/xml"},
            attempt_ref=None,
            event=status,
        )
