"""The Aliyun callback token may travel in a header, not only in the URL's query string
that reverse proxies log (issue 18 §6, "tokens in URLs").

Aliyun's console takes a callback URL and nothing else, so the token starts out in the
query string; a proxy in front of the API can move it into ``X-Callback-Token`` and log no
query strings (docs/webhooks.md). Before: only the query string was read, so moving it
broke every report.
"""

from __future__ import annotations

import json

import httpx
import pytest

from channels.base import WebhookRequest
from channels.registry import adapter_class
from orchestrator.clock import VirtualClock
from orchestrator.errors import SignatureError

from .conftest import platform_credentials  # noqa: F401

WEBHOOK = "https://orchestrator.example/v1/webhooks/aliyun_sms"
BODY = json.dumps([{"phone_number": "13800138000", "success": True, "out_id": "att_x"}])


def report(url: str, headers: dict[str, str] | None = None) -> WebhookRequest:
    return WebhookRequest(
        "POST", url, {"content-type": "application/json", **(headers or {})}, BODY.encode()
    )


@pytest.fixture
def aliyun(clock: VirtualClock):
    adapter = adapter_class("aliyun_sms").from_config(
        {"base_url": "https://dysmsapi.aliyuncs.com", "sign_name": "示例金融"},
        http=httpx.Client(),
        clock=clock,
    )
    yield adapter
    adapter.http.close()


def test_a_proxy_may_move_the_token_into_a_header(aliyun, platform_credentials):  # noqa: F811
    token = platform_credentials["ALIYUN_CALLBACK_TOKEN"]

    aliyun.verify(report(WEBHOOK, {"x-callback-token": token}))
    aliyun.verify(report(f"{WEBHOOK}?token={token}"))  # straight from Aliyun, still fine


def test_a_wrong_header_is_refused_whatever_the_query_says(aliyun, platform_credentials):  # noqa: F811
    token = platform_credentials["ALIYUN_CALLBACK_TOKEN"]

    for headers in ({"x-callback-token": "guess"}, {"x-callback-token": ""}):
        with pytest.raises(SignatureError):
            aliyun.verify(report(f"{WEBHOOK}?token={token}", headers))
