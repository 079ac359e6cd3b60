"""Aliyun SMS's RPC endpoint (``SendSms``, ``QuerySendDetails``), under ``/aliyun/``.

Checks what Aliyun checks: the ``AccessKeyId`` (``ALIYUN_ACCESS_KEY_ID``), the HMAC-SHA1
signature with ``ALIYUN_ACCESS_KEY_SECRET``, a fresh ``SignatureNonce``, the required
parameters and the number format; answers ``{"Code", "Message", "BizId", "RequestId"}``.
After acceptance it pushes ``SmsReport`` (and, when the borrower opts out, an ``SmsUp``
reply "退订") as JSON arrays to ``{callback_base}/aliyun_sms?token=<ALIYUN_CALLBACK_TOKEN>``:
Aliyun signs neither, the token in the URL is what protects the endpoint.

Not imitated: the ``Timestamp`` skew check (the sandbox may run on a different clock from
a test's virtual one).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.sandbox.faults import Failure
from channels.sandbox.state import SandboxState
from channels.sandbox.wire import form_pairs, json_answer
from channels.signatures import aliyun_signature, same_secret

BEIJING = ZoneInfo("Asia/Shanghai")
MAINLAND = re.compile(r"^1\d{10}$")
INTERNATIONAL = re.compile(r"^[2-9]\d{7,14}$")


def aliyun_answer(status: int, code: str, message: str, **extra: Any) -> Response:
    body = {"RequestId": str(uuid.uuid4()).upper(), "Code": code, "Message": message, **extra}
    return json_answer(status, body)


def failure_answer(failure: Failure) -> Response:
    if failure is Failure.THROTTLE:
        return aliyun_answer(200, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
    if failure is Failure.PERMANENT:
        return aliyun_answer(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
    if failure is Failure.TIMEOUT:
        return aliyun_answer(504, "ServiceTimeout", "The request has timed out.")
    return aliyun_answer(
        503 if failure is Failure.DOWN else 500, "isp.SYSTEM_ERROR", "isp.SYSTEM_ERROR"
    )


class Aliyun:
    """The imitation; one instance per sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.key_id = state.credential("ALIYUN_ACCESS_KEY_ID")
        self.key_secret = state.credential("ALIYUN_ACCESS_KEY_SECRET")
        self.callback_token = state.credential("ALIYUN_CALLBACK_TOKEN")

    def routes(self) -> list[Route]:
        return [
            Route("/aliyun/", self.rpc, methods=["GET", "POST"]),
            Route("/aliyun", self.rpc, methods=["GET", "POST"]),
        ]

    async def rpc(self, request: Request) -> Response:
        params = dict(await form_pairs(request))
        refusal = self._check_signature(request.method, params)
        if refusal is not None:
            return refusal
        action = params.get("Action")
        if action == "SendSms":
            return await self._send(params)
        if action == "QuerySendDetails":
            return self._query(params)
        return aliyun_answer(400, "InvalidAction.NotFound", f"Specified api is not found: {action}")

    def _check_signature(self, method: str, params: dict[str, str]) -> Response | None:
        if not self.key_id or not same_secret(self.key_id, params.get("AccessKeyId")):
            return aliyun_answer(
                404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
            )
        expected = aliyun_signature(self.key_secret or "", method, params)
        if not same_secret(expected, params.get("Signature")):
            return aliyun_answer(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation.",
            )
        nonce = params.get("SignatureNonce", "")
        if not nonce or nonce in self.state.aliyun_nonces:
            return aliyun_answer(
                400, "SignatureNonceUsed", "Specified signature nonce was used already."
            )
        self.state.aliyun_nonces.add(nonce)
        return None

    async def _send(self, params: dict[str, str]) -> Response:
        failure, _ = await self.state.faults.draw("aliyun_sms")
        if failure:
            return failure_answer(failure)
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return aliyun_answer(200, f"Missing{name}", f"{name} is mandatory for this action.")
        phone = params["PhoneNumbers"]
        if not (MAINLAND.match(phone) or INTERNATIONAL.match(phone)):
            return aliyun_answer(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        try:
            template_params = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return aliyun_answer(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        now = self.state.clock.now()
        biz_id = f"{int(now.timestamp() * 1000)}{uuid.uuid4().int % 10**6:06d}^0"
        rendered = json.dumps(template_params, ensure_ascii=False)
        content = f"【{params['SignName']}】{params['TemplateCode']} {rendered}"
        record = {
            "phone": phone,
            "out_id": params.get("OutId"),
            "biz_id": biz_id,
            "template_code": params["TemplateCode"],
            "content": content,
            "send_date": now.astimezone(BEIJING).strftime("%Y%m%d"),
            "send_time": now.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "status": 1,
            "err_code": "",
        }
        self.state.aliyun_records.append(record)
        self.state.journal.message(
            "aliyun_sms",
            at=now,
            to=phone,
            body=content,
            attempt_ref=params.get("OutId"),
            provider_message_id=biz_id,
            template_code=params["TemplateCode"],
            template_params=template_params,
        )
        self.state.courier.run(lambda: self._story(record, params["SignName"]))
        return await self.state.faults.answer(
            "aliyun_sms", aliyun_answer(200, "OK", "OK", BizId=biz_id)
        )

    def _query(self, params: dict[str, str]) -> Response:
        phone, day = params.get("PhoneNumber"), params.get("SendDate")
        if not phone or not day:
            return aliyun_answer(
                200, "isv.INVALID_PARAMETERS", "PhoneNumber and SendDate are mandatory."
            )
        rows = [
            {
                "PhoneNum": r["phone"],
                "SendStatus": r["status"],
                "ErrCode": r["err_code"],
                "TemplateCode": r["template_code"],
                "Content": r["content"],
                "SendDate": r["send_time"],
                "ReceiveDate": r["send_time"],
                "OutId": r["out_id"],
            }
            for r in self.state.aliyun_records
            if r["phone"] == phone
            and r["send_date"] == day
            and (not params.get("BizId") or r["biz_id"] == params["BizId"])
        ]
        size = int(params.get("PageSize", "10"))
        return aliyun_answer(
            200,
            "OK",
            "OK",
            TotalCount=len(rows),
            SmsSendDetailDTOs={"SmsSendDetailDTO": rows[:size]},
        )

    async def _story(self, record: dict[str, Any], sign_name: str) -> None:
        delivered = self.state.borrowers.delivered(record["biz_id"])
        record.update(
            status=3 if delivered else 2,
            err_code="DELIVERED" if delivered else "MOBILE_NOT_ON_SERVICE",
        )
        now = self.state.clock.now().astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        report = {
            "phone_number": record["phone"],
            "send_time": record["send_time"],
            "report_time": now,
            "success": delivered,
            "err_code": record["err_code"],
            "err_msg": "用户接收成功" if delivered else "停机",
            "sms_size": "1",
            "biz_id": record["biz_id"],
            "out_id": record["out_id"],
        }
        await self._push([report], record["out_id"], "SmsReport")
        if delivered and self.state.borrowers.replies_stop(record["biz_id"]):
            reply = {
                "phone_number": record["phone"],
                "send_time": now,
                "content": "退订",
                "sign_name": sign_name,
                "dest_code": "1234",
                "sequence_id": uuid.uuid4().int % 10**10,
            }
            await self._push([reply], record["out_id"], "SmsUp")

    async def _push(self, items: list[dict[str, Any]], attempt_ref: str | None, event: str) -> None:
        url = (
            self.state.webhook("aliyun_sms") + "?" + urlencode({"token": self.callback_token or ""})
        )
        await self.state.courier.post(
            "aliyun_sms",
            url,
            json.dumps(items, ensure_ascii=False).encode(),
            {"Content-Type": "application/json"},
            attempt_ref=attempt_ref,
            event=event,
        )
