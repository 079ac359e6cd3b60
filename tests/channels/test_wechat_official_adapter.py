"""WeChat Official Account: the template message request (token fetched once and shared
through Redis under a lock), what each errcode means (43004/43101 an opt-out), the 2023
content limits refused before sending, and the pushes verified by their SHA-1 signature;
then the round trip through the sandbox over real HTTP."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from urllib.parse import urlencode

import httpx
import pytest
import redis

from channels.base import WebhookRequest
from channels.wechat_tokens import RedisTokens
from orchestrator.domain import Channel, DeliveryStatus
from orchestrator.errors import PermanentError, SignatureError, TransientError
from tests.channels.channel_support import NOW, Pinned, build, message

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
SETTINGS = {
    "base_url": "https://api.weixin.qq.com",
    "appid": "wx0123456789abcdef",
    "shared_token": False,
    "templates": {
        "overdue_notice": {
            "template_id": "TM-repayment-reminder",
            "fields": {"thing1": "${name}", "amount2": "${amount}元", "time3": "${due_date}"},
            "url": "https://lender.example/repay",
            "carries": ["opt_out"],
        }
    },
}
PARAMS = {"name": "王芳", "amount": "1250.00", "currency": "CNY", "due_date": "2026-10-01"}


def reminder(**overrides):
    fields = {
        "channel": Channel.WECHAT,
        "to": OPENID,
        "body": "王芳您好，您的借款已逾期。",
        "template": "overdue_notice",
        "template_params": PARAMS,
        "disclosures": ("opt_out",),
        "callback_url": None,
    }
    fields.update(overrides)
    return message(**fields)


class Platform:
    """Answers like the platform: a token, then the send's errcode in turn."""

    def __init__(self, *codes: int) -> None:
        self.codes = list(codes) or [0]
        self.tokens = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/token":
            self.tokens += 1
            return httpx.Response(200, json={"access_token": f"T{self.tokens}", "expires_in": 7200})
        code = self.codes.pop(0) if len(self.codes) > 1 else self.codes[0]
        if code == 0:
            return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "msgid": 2002283})
        return httpx.Response(200, json={"errcode": code, "errmsg": "refused"})


def test_template_message_request_shape(credentials, clock) -> None:
    pinned = Pinned(Platform())
    adapter = build("wechat_official", SETTINGS, pinned.client(), clock)
    receipt = adapter.send(reminder())
    adapter.send(reminder())
    token, send, again = pinned.requests
    assert token.url.params["appid"] == "wx0123456789abcdef"
    assert token.url.params["secret"] == credentials["WECHAT_APP_SECRET"]
    assert (send.method, send.url.path) == ("POST", "/cgi-bin/message/template/send")
    assert send.url.params["access_token"] == "T1" == again.url.params["access_token"]
    assert json.loads(send.content) == {
        "touser": OPENID,
        "template_id": "TM-repayment-reminder",
        "url": "https://lender.example/repay",
        "data": {
            "thing1": {"value": "王芳"},
            "amount2": {"value": "1250.00元"},
            "time3": {"value": "2026-10-01"},
        },
        "client_msg_id": "task-0001",
    }
    assert receipt.provider_message_id == "2002283"


@pytest.mark.parametrize(
    ("code", "kind", "opted_out", "dead"),
    [
        (43004, PermanentError, True, False),  # the borrower does not follow the account
        (43101, PermanentError, True, False),  # the borrower refused this template
        (40003, PermanentError, False, True),
        (40037, PermanentError, False, False),
        (45009, TransientError, False, False),
        (-1, TransientError, False, False),
    ],
)
def test_errcodes_by_meaning(credentials, clock, code, kind, opted_out, dead) -> None:
    adapter = build("wechat_official", SETTINGS, Pinned(Platform(code)).client(), clock)
    with pytest.raises(kind) as raised:
        adapter.send(reminder())
    if isinstance(raised.value, PermanentError):
        assert raised.value.opted_out is opted_out
        assert raised.value.invalid_address is dead


def test_a_refused_token_is_dropped_and_fetched_again(credentials, clock) -> None:
    platform = Platform(40001, 0)
    adapter = build("wechat_official", SETTINGS, Pinned(platform).client(), clock)
    with pytest.raises(TransientError):
        adapter.send(reminder())
    adapter.send(reminder())
    assert platform.tokens == 2


def test_what_the_platform_would_cut_is_refused_before_sending(credentials, clock) -> None:
    pinned = Pinned(Platform())
    adapter = build("wechat_official", SETTINGS, pinned.client(), clock)
    long_name = {**PARAMS, "name": "一位名字非常非常非常非常非常非常长的借款人"}
    with pytest.raises(PermanentError, match="WeChat shows 20"):
        adapter.send(reminder(template_params=long_name))
    with pytest.raises(PermanentError, match="does not carry debt_collector"):
        adapter.send(reminder(disclosures=("opt_out", "debt_collector")))
    assert pinned.requests == []


def push(token: str, body: bytes, timestamp: str, nonce: str = "n0nce") -> WebhookRequest:
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    query = urlencode({"signature": signature, "timestamp": timestamp, "nonce": nonce})
    return WebhookRequest(
        method="POST",
        url=f"https://orchestrator.example/v1/webhooks/wechat_official?{query}",
        headers={"content-type": "text/xml"},
        body=body,
    )


def finished(status: str) -> bytes:
    return (
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>1</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>"
        f"<MsgID>2002283</MsgID><Status><![CDATA[{status}]]></Status></xml>"
    ).encode()


@pytest.mark.parametrize(
    ("status", "moved", "opted_out"),
    [
        ("success", DeliveryStatus.DELIVERED, False),
        ("failed:user block", DeliveryStatus.UNDELIVERED, True),
        ("failed: system failed", DeliveryStatus.FAILED, False),
    ],
)
def test_signed_pushes_move_the_attempt(credentials, clock, status, moved, opted_out) -> None:
    adapter = build("wechat_official", SETTINGS, httpx.Client(), clock)
    request = push(
        credentials["WECHAT_CALLBACK_TOKEN"], finished(status), str(int(NOW.timestamp()))
    )
    adapter.verify(request)
    (report,) = adapter.parse(request)
    assert (report.provider_message_id, report.status, report.opted_out) == (
        "2002283",
        moved,
        opted_out,
    )
    assert adapter.webhook_reply([report]) == ("text/plain", b"success")


def test_a_wrong_or_stale_push_is_refused(credentials, clock) -> None:
    adapter = build("wechat_official", SETTINGS, httpx.Client(), clock)
    now = str(int(NOW.timestamp()))
    with pytest.raises(SignatureError, match="does not match"):
        adapter.verify(push("another-token", finished("success"), now))
    stale = str(int(NOW.timestamp()) - 3600)
    with pytest.raises(SignatureError, match="stale"):
        adapter.verify(push(credentials["WECHAT_CALLBACK_TOKEN"], finished("success"), stale))


def test_workers_share_one_token_fetched_once(redis_url, redis_namespace) -> None:
    fetched = []

    def fetch() -> tuple[str, int]:
        fetched.append(1)
        time.sleep(0.2)  # the platform is slow: the others must wait, not fetch too
        return "SHARED", 7200

    found = []

    def worker() -> None:
        store = RedisTokens(redis.Redis.from_url(redis_url), prefix=redis_namespace)
        found.append(store.token("wx0123456789abcdef", fetch))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == ["SHARED"] * 6
    assert len(fetched) == 1
    store = RedisTokens(redis.Redis.from_url(redis_url), prefix=redis_namespace)
    store.drop("wx0123456789abcdef", "AN-OLDER-TOKEN")  # another's stale failure: kept
    assert store.token("wx0123456789abcdef", fetch) == "SHARED"
    store.drop("wx0123456789abcdef", "SHARED")
    assert store.token("wx0123456789abcdef", lambda: ("NEW", 7200)) == "NEW"


def test_sandbox_round_trip(sandbox, receiver, http, system_clock) -> None:
    settings = {**SETTINGS, "base_url": f"{sandbox.base_url}/wechat"}
    adapter = build("wechat_official", settings, http, system_clock)
    receipt = adapter.send(reminder())
    assert adapter.send(reminder()) == receipt  # the same client_msg_id: the same message
    assert sandbox.state.wechat_token_fetches == 1
    (request,) = receiver.received.wait(1, path="wechat_official")
    adapter.verify(request)
    (report,) = adapter.parse(request)
    assert report.provider_message_id == receipt.provider_message_id
    assert report.status is DeliveryStatus.DELIVERED
    fault = http.put(
        f"{sandbox.base_url}/_sandbox/faults/wechat_official", json={"permanent_rate": 1}
    )
    assert fault.status_code == 200, fault.text
    with pytest.raises(PermanentError) as refused:
        adapter.send(reminder(idempotency_key="task-0002"))
    assert refused.value.opted_out
