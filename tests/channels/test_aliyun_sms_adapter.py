"""Aliyun SMS: the signed SendSms RPC (checked against Aliyun's own worked example), the
error codes, QuerySendDetails lookup, and the SmsReport / SmsUp pushes behind the callback
token."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import httpx
import pytest

from channels.aliyun_sms import e164_number, provider_number
from channels.base import ReportKind, WebhookRequest
from channels.signatures import aliyun_signature
from orchestrator.domain import Channel, DeliveryStatus
from orchestrator.errors import PermanentError, SignatureError, TransientError
from tests.channels.channel_support import Pinned, build, message

SETTINGS = {
    "base_url": "https://dysmsapi.aliyuncs.com",
    "sign_name": "阿里云短信测试专用",
    "template_codes": {"dpd_reminder": "SMS_71390007"},
    "approved_texts": {"SMS_71390007": {"text": "${name}您好，您本期应还${amount}。回复TD退订"}},
}
WEBHOOK = "https://orchestrator.example/v1/webhooks/aliyun_sms"


def test_signature_matches_aliyuns_published_example() -> None:
    # The worked example in Aliyun's SMS "HTTP 协议及签名" page (testId / testSecret).
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_signature("testSecret", "GET", params) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def sms(**overrides):
    fields = {
        "to": "+8613800138000",
        "template": "dpd_reminder",
        "template_params": {"name": "李雷", "amount": "¥1,250.00"},
        "channel": Channel.SMS,
    }
    fields.update(overrides)
    return message(**fields)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "r"}
    )


def test_send_sms_is_a_signed_rpc_carrying_our_attempt_as_outid(credentials, clock) -> None:
    pinned = Pinned(ok)
    receipt = build("aliyun_sms", SETTINGS, pinned.client(), clock).send(sms())

    (request,) = pinned.requests
    assert request.method == "POST"
    assert str(request.url) == "https://dysmsapi.aliyuncs.com/"
    params = dict(parse_qsl(request.content.decode()))
    assert params["Action"] == "SendSms"
    assert params["Version"] == "2017-05-25"
    assert params["AccessKeyId"] == credentials["ALIYUN_ACCESS_KEY_ID"]
    assert params["PhoneNumbers"] == "13800138000"
    assert params["SignName"] == "阿里云短信测试专用"
    assert params["TemplateCode"] == "SMS_71390007"
    assert json.loads(params["TemplateParam"]) == {"name": "李雷", "amount": "¥1,250.00"}
    assert params["OutId"] == "att-0001"
    assert params["Timestamp"] == "2026-03-02T14:05:00Z"
    assert params["SignatureMethod"] == "HMAC-SHA1"
    expected = aliyun_signature(credentials["ALIYUN_ACCESS_KEY_SECRET"], "POST", params)
    assert params["Signature"] == expected
    assert receipt.provider_message_id == "900619746936498440^0"


def test_every_request_draws_a_new_nonce(credentials, clock) -> None:
    pinned = Pinned(ok)
    adapter = build("aliyun_sms", SETTINGS, pinned.client(), clock)
    adapter.send(sms())
    adapter.send(sms())
    nonces = {dict(parse_qsl(r.content.decode()))["SignatureNonce"] for r in pinned.requests}
    assert len(nonces) == 2


def test_a_message_without_a_template_is_refused(credentials, clock) -> None:
    with pytest.raises(PermanentError):
        build("aliyun_sms", SETTINGS, Pinned(ok).client(), clock).send(sms(template=None))


@pytest.mark.parametrize(
    ("status", "code", "kind", "invalid"),
    [
        (200, "isv.BUSINESS_LIMIT_CONTROL", TransientError, False),
        (200, "isv.DAY_LIMIT_CONTROL", TransientError, False),
        (400, "Throttling.User", TransientError, False),
        (500, "isp.SYSTEM_ERROR", TransientError, False),
        (503, "ServiceUnavailable", TransientError, False),
        (200, "isv.MOBILE_NUMBER_ILLEGAL", PermanentError, True),
        (200, "isv.SMS_TEMPLATE_ILLEGAL", PermanentError, False),
        (200, "isv.AMOUNT_NOT_ENOUGH", PermanentError, False),
        (400, "SignatureDoesNotMatch", PermanentError, False),
    ],
)
def test_error_codes(credentials, clock, status, code, kind, invalid) -> None:
    pinned = Pinned(
        lambda r: httpx.Response(status, json={"Code": code, "Message": "x", "RequestId": "r"})
    )
    with pytest.raises(kind) as caught:
        build("aliyun_sms", SETTINGS, pinned.client(), clock).send(sms())
    assert caught.value.code == code
    if kind is PermanentError:
        assert caught.value.invalid_address is invalid


def test_lookup_queries_send_details_and_matches_outid(credentials, clock) -> None:
    def details(request: httpx.Request) -> httpx.Response:
        rows = [
            {"PhoneNum": "13800138000", "SendStatus": 3, "OutId": "someone-else"},
            {
                "PhoneNum": "13800138000",
                "SendStatus": 3,
                "OutId": "att-0001",
                "ErrCode": "DELIVERED",
            },
        ]
        return httpx.Response(
            200, json={"Code": "OK", "SmsSendDetailDTOs": {"SmsSendDetailDTO": rows}}
        )

    pinned = Pinned(details)
    receipt = build("aliyun_sms", SETTINGS, pinned.client(), clock).lookup(sms())
    params = dict(parse_qsl(pinned.requests[0].content.decode()))
    assert params["Action"] == "QuerySendDetails"
    assert params["PhoneNumber"] == "13800138000"
    assert params["SendDate"] == "20260302"  # 22:05 in Beijing
    assert receipt is not None
    assert receipt.status is DeliveryStatus.DELIVERED


def test_lookup_finds_nothing_on_either_day(credentials, clock) -> None:
    empty = Pinned(
        lambda r: httpx.Response(
            200, json={"Code": "OK", "SmsSendDetailDTOs": {"SmsSendDetailDTO": []}}
        )
    )
    assert build("aliyun_sms", SETTINGS, empty.client(), clock).lookup(sms()) is None
    assert len(empty.requests) == 2


def push(items: list[dict], token: str | None) -> WebhookRequest:
    url = WEBHOOK if token is None else f"{WEBHOOK}?token={token}"
    return WebhookRequest(
        "POST", url, {"content-type": "application/json"}, json.dumps(items).encode()
    )


REPORT = {
    "phone_number": "13800138000",
    "send_time": "2026-03-02 22:05:00",
    "report_time": "2026-03-02 22:05:09",
    "success": True,
    "err_code": "DELIVERED",
    "err_msg": "用户接收成功",
    "sms_size": "1",
    "biz_id": "900619746936498440^0",
    "out_id": "att-0001",
}


def test_callback_token_protects_the_endpoint(credentials, clock) -> None:
    adapter = build("aliyun_sms", SETTINGS, httpx.Client(), clock)
    adapter.verify(push([REPORT], credentials["ALIYUN_CALLBACK_TOKEN"]))
    for token in (None, "guess", credentials["ALIYUN_CALLBACK_TOKEN"] + "x"):
        with pytest.raises(SignatureError):
            adapter.verify(push([REPORT], token))


@pytest.mark.parametrize(
    ("success", "code", "status", "invalid"),
    [
        (True, "DELIVERED", DeliveryStatus.DELIVERED, False),
        (False, "MOBILE_NOT_ON_SERVICE", DeliveryStatus.UNDELIVERED, True),
        (False, "IC:0015", DeliveryStatus.UNDELIVERED, False),
    ],
)
def test_sms_report_maps_to_delivery(credentials, clock, success, code, status, invalid) -> None:
    adapter = build("aliyun_sms", SETTINGS, httpx.Client(), clock)
    (report,) = adapter.parse(push([{**REPORT, "success": success, "err_code": code}], "t"))
    assert report.kind is ReportKind.DELIVERY
    assert report.attempt_ref == "att-0001"
    assert report.status is status
    assert report.invalid_address is invalid
    assert report.recipient == "+8613800138000"


def test_replayed_report_keeps_its_dedupe_key(credentials, clock) -> None:
    adapter = build("aliyun_sms", SETTINGS, httpx.Client(), clock)
    first = adapter.parse(push([REPORT], "t"))[0].dedupe_key
    assert adapter.parse(push([REPORT], "t"))[0].dedupe_key == first
    assert (
        adapter.parse(push([{**REPORT, "success": False, "err_code": "X"}], "t"))[0].dedupe_key
        != first
    )


@pytest.mark.parametrize(
    ("content", "opted_out"), [("退订", True), ("TD", True), ("好的，明天还", False)]
)
def test_sms_up_reply_is_inbound(credentials, clock, content, opted_out) -> None:
    adapter = build("aliyun_sms", SETTINGS, httpx.Client(), clock)
    uplink = {
        "phone_number": "13800138000",
        "send_time": "2026-03-02 22:10:00",
        "content": content,
        "sign_name": "阿里云短信测试专用",
        "dest_code": "1234",
        "sequence_id": 1234567890,
    }
    (report,) = adapter.parse(push([uplink], "t"))
    assert report.kind is ReportKind.INBOUND
    assert report.sender == "+8613800138000"
    assert report.opted_out is opted_out


def test_reply_is_what_aliyun_expects(credentials, clock) -> None:
    content_type, body = build("aliyun_sms", SETTINGS, httpx.Client(), clock).webhook_reply([])
    assert content_type == "application/json"
    assert json.loads(body) == {"code": 0, "msg": "接收成功"}


@pytest.mark.parametrize(
    ("e164", "aliyun"), [("+8613800138000", "13800138000"), ("+85261234567", "85261234567")]
)
def test_number_formats_round_trip(e164: str, aliyun: str) -> None:
    assert provider_number(e164, "86") == aliyun
    if aliyun.startswith("1"):
        assert e164_number(aliyun, "86") == e164


def test_only_the_parameters_the_approved_text_uses_are_sent(credentials, clock) -> None:
    pinned = Pinned(ok)
    params = {"name": "李雷", "amount": "1250.00", "currency": "CNY", "reference": "LN-1"}

    build("aliyun_sms", SETTINGS, pinned.client(), clock).send(sms(template_params=params))

    (request,) = pinned.requests
    sent = json.loads(dict(parse_qsl(request.content.decode()))["TemplateParam"])
    assert sent == {"name": "李雷", "amount": "1250.00"}


def test_a_message_needing_a_disclosure_the_approved_text_lacks_is_refused(
    credentials, clock
) -> None:
    pinned = Pinned(ok)
    adapter = build("aliyun_sms", SETTINGS, pinned.client(), clock)

    with pytest.raises(PermanentError) as refused:
        adapter.send(sms(disclosures=("debt_collector_initial", "opt_out")))

    assert refused.value.code == "disclosure_not_approved"
    assert "debt_collector_initial" in str(refused.value)
    assert pinned.requests == []


def test_a_registered_code_needs_its_approved_text() -> None:
    from pydantic import ValidationError

    from channels.aliyun_sms import AliyunSmsSettings

    with pytest.raises(ValidationError, match="declare the text Aliyun approved for SMS_71390007"):
        AliyunSmsSettings.model_validate({**SETTINGS, "approved_texts": {}})
