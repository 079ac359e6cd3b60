"""FCM HTTP v1: the service-account token (a signed RS256 JWT, exchanged once, cached until
near expiry), the messages:send request, and FCM's error codes."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qsl

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from channels.base import WebhookRequest
from orchestrator.domain import Channel
from orchestrator.errors import PermanentError, SignatureError, TransientError
from tests.channels.channel_support import Pinned, build, message

TOKEN_URL = "https://oauth2.example/token"
SETTINGS = {"base_url": "https://fcm.googleapis.com", "token_url": TOKEN_URL}


def push(**overrides):
    fields = {
        "channel": Channel.PUSH,
        "to": "fcm-registration-token",
        "title": "Payment due",
        "body": "Tap to pay",
        "tags": {"account": "loan-88231"},
    }
    fields.update(overrides)
    return message(**fields)


class Google:
    """Answers the token endpoint and messages:send; counts token mints."""

    def __init__(self, send_answer=None) -> None:
        self.mints = 0
        self.send_answer = send_answer or (
            lambda r: httpx.Response(200, json={"name": "projects/lender-app/messages/0:1"})
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            self.mints += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"tok-{self.mints}",
                    "expires_in": 3600,
                    "token_type": "Bearer",
                },
            )
        return self.send_answer(request)


def test_token_is_a_jwt_bearer_grant_signed_with_the_service_account(
    credentials, clock, service_account
) -> None:
    pinned = Pinned(Google())
    build("fcm_push", SETTINGS, pinned.client(), clock).send(push())
    token_request = pinned.requests[0]
    form = dict(parse_qsl(token_request.content.decode()))
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    private = serialization.load_pem_private_key(
        service_account["private_key"].encode(), password=None
    )
    claims = jwt.decode(
        form["assertion"],
        private.public_key(),
        algorithms=["RS256"],
        audience=TOKEN_URL,
        options={"verify_exp": False},
    )
    assert claims["iss"] == service_account["client_email"]
    assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
    assert claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(form["assertion"])["kid"] == "k1"


def test_send_request_shape(credentials, clock) -> None:
    pinned = Pinned(Google())
    receipt = build("fcm_push", SETTINGS, pinned.client(), clock).send(push())
    send = pinned.requests[1]
    assert str(send.url) == "https://fcm.googleapis.com/v1/projects/lender-app/messages:send"
    assert send.headers["authorization"] == "Bearer tok-1"
    assert json.loads(send.content) == {
        "message": {
            "token": "fcm-registration-token",
            "notification": {"body": "Tap to pay", "title": "Payment due"},
            "data": {"account": "loan-88231", "attempt_ref": "att-0001"},
            "android": {"priority": "high"},
        }
    }
    assert receipt.provider_message_id == "projects/lender-app/messages/0:1"


def test_token_is_cached_until_near_expiry(credentials, clock) -> None:
    google = Google()
    adapter = build("fcm_push", SETTINGS, Pinned(google).client(), clock)
    adapter.send(push())
    clock.advance(timedelta(minutes=50))
    adapter.send(push())
    assert google.mints == 1
    clock.advance(timedelta(minutes=9, seconds=30))  # inside the last minute
    adapter.send(push())
    assert google.mints == 2


def google_error(status: int, fcm_code: str | None, message: str = "x", headers=None):
    error = {"code": status, "message": message, "status": "X"}
    if fcm_code:
        error["details"] = [
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}
        ]
    return lambda r: httpx.Response(status, json={"error": error}, headers=headers)


@pytest.mark.parametrize(
    ("status", "code", "kind", "invalid"),
    [
        (404, "UNREGISTERED", PermanentError, True),
        (400, "INVALID_ARGUMENT", PermanentError, False),
        (403, "SENDER_ID_MISMATCH", PermanentError, False),
        (401, "THIRD_PARTY_AUTH_ERROR", PermanentError, False),
        (429, "QUOTA_EXCEEDED", TransientError, False),
        (503, "UNAVAILABLE", TransientError, False),
        (500, "INTERNAL", TransientError, False),
    ],
)
def test_fcm_error_codes(credentials, clock, status, code, kind, invalid) -> None:
    adapter = build(
        "fcm_push", SETTINGS, Pinned(Google(google_error(status, code))).client(), clock
    )
    with pytest.raises(kind) as caught:
        adapter.send(push())
    assert caught.value.code == code
    if kind is PermanentError:
        assert caught.value.invalid_address is invalid


def test_invalid_registration_token_marks_the_address(credentials, clock) -> None:
    answer = google_error(
        400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token"
    )
    with pytest.raises(PermanentError) as caught:
        build("fcm_push", SETTINGS, Pinned(Google(answer)).client(), clock).send(push())
    assert caught.value.invalid_address


def test_quota_exceeded_honours_retry_after(credentials, clock) -> None:
    answer = google_error(429, "QUOTA_EXCEEDED", headers={"Retry-After": "60"})
    with pytest.raises(TransientError) as caught:
        build("fcm_push", SETTINGS, Pinned(Google(answer)).client(), clock).send(push())
    assert caught.value.retry_after == 60.0


def test_a_refused_access_token_is_minted_again(credentials, clock) -> None:
    answers = iter(
        [google_error(401, None)(None), httpx.Response(200, json={"name": "projects/p/messages/2"})]
    )
    google = Google(lambda r: next(answers))
    adapter = build("fcm_push", SETTINGS, Pinned(google).client(), clock)
    with pytest.raises(TransientError):
        adapter.send(push())
    adapter.send(push())
    assert google.mints == 2


def test_token_endpoint_refusal_is_permanent(credentials, clock) -> None:
    refuse = Pinned(
        lambda r: httpx.Response(400, json={"error": "invalid_grant", "error_description": "bad"})
    )
    with pytest.raises(PermanentError) as caught:
        build("fcm_push", SETTINGS, refuse.client(), clock).send(push())
    assert caught.value.code == "invalid_grant"


def test_fcm_has_no_webhooks(credentials, clock) -> None:
    adapter = build("fcm_push", SETTINGS, httpx.Client(), clock)
    with pytest.raises(SignatureError):
        adapter.verify(WebhookRequest("POST", "https://x", {}, b"{}"))
    assert not adapter.supports_lookup
