"""The sandbox refuses what the real provider refuses: wrong credentials, bad signatures,
reused nonces, malformed bodies, forged JWTs, unknown tokens."""

from __future__ import annotations

import json

import httpx
import jwt

from channels.signatures import aliyun_signature, dialer_sign
from tests.channels.channel_support import build, message


def test_twilio_refuses_wrong_credentials_and_bad_numbers(sandbox, credentials) -> None:
    sid = credentials["TWILIO_ACCOUNT_SID"]
    url = f"{sandbox.base_url}/twilio/2010-04-01/Accounts/{sid}/Messages.json"
    form = {"To": "+12125550123", "From": "+15017122661", "Body": "hi"}
    assert httpx.post(url, data=form, auth=(sid, "wrong")).json()["code"] == 20003
    auth = (sid, credentials["TWILIO_AUTH_TOKEN"])
    assert httpx.post(url, data={**form, "To": "12345"}, auth=auth).json()["code"] == 21211
    assert httpx.post(url, data={**form, "To": "+15005550004"}, auth=auth).json()["code"] == 21610
    assert httpx.post(url, data={**form, "Body": ""}, auth=auth).json()["code"] == 21602
    assert httpx.post(url, data=form, auth=auth).status_code == 201


def aliyun_params(credentials, **extra) -> dict[str, str]:
    params = {
        "Action": "SendSms",
        "Version": "2017-05-25",
        "Format": "JSON",
        "AccessKeyId": credentials["ALIYUN_ACCESS_KEY_ID"],
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": "nonce-1",
        "Timestamp": "2026-03-02T14:05:00Z",
        "PhoneNumbers": "13800138000",
        "SignName": "测试",
        "TemplateCode": "SMS_1",
        **extra,
    }
    params["Signature"] = aliyun_signature(credentials["ALIYUN_ACCESS_KEY_SECRET"], "POST", params)
    return params


def test_aliyun_checks_signature_nonce_and_number(sandbox, credentials) -> None:
    url = f"{sandbox.base_url}/aliyun/"
    tampered = {**aliyun_params(credentials), "PhoneNumbers": "13900139000"}
    assert httpx.post(url, data=tampered).json()["Code"] == "SignatureDoesNotMatch"
    assert httpx.post(url, data=aliyun_params(credentials)).json()["Code"] == "OK"
    assert httpx.post(url, data=aliyun_params(credentials)).json()["Code"] == "SignatureNonceUsed"
    bad_number = aliyun_params(credentials, SignatureNonce="nonce-2", PhoneNumbers="12")
    assert httpx.post(url, data=bad_number).json()["Code"] == "isv.MOBILE_NUMBER_ILLEGAL"
    other_key = {**aliyun_params(credentials, SignatureNonce="n3"), "AccessKeyId": "someone"}
    assert httpx.post(url, data=other_key).json()["Code"] == "InvalidAccessKeyId.NotFound"


def test_sendgrid_checks_key_and_body(sandbox, credentials) -> None:
    url = f"{sandbox.base_url}/sendgrid/v3/mail/send"
    body = {
        "personalizations": [{"to": [{"email": "ann@example.org"}]}],
        "from": {"email": "n@acme.example"},
        "subject": "s",
        "content": [{"type": "text/plain", "value": "x"}],
    }
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    good = {"Authorization": f"Bearer {credentials['SENDGRID_API_KEY']}"}
    no_content = {k: v for k, v in body.items() if k != "content"}
    answer = httpx.post(url, json=no_content, headers=good)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "content"
    assert httpx.post(url, json=body, headers=good).status_code == 202


def test_fcm_refuses_forged_assertions_and_unknown_tokens(sandbox, credentials) -> None:
    forged = jwt.encode(
        {"iss": "x", "aud": f"{sandbox.base_url}/fcm/token"},
        "a-secret-that-is-not-the-service-account-key",
        algorithm="HS256",
    )
    grant = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": forged}
    assert (
        httpx.post(f"{sandbox.base_url}/fcm/token", data=grant).json()["error"] == "invalid_grant"
    )
    send = f"{sandbox.base_url}/fcm/v1/projects/lender-app/messages:send"
    answer = httpx.post(
        send, json={"message": {"token": "t"}}, headers={"Authorization": "Bearer made-up"}
    )
    assert answer.status_code == 401


def test_fcm_checks_the_message(sandbox, http, system_clock) -> None:
    settings = {"base_url": f"{sandbox.base_url}/fcm", "token_url": f"{sandbox.base_url}/fcm/token"}
    adapter = build("fcm_push", settings, http, system_clock)
    token = adapter.tokens.get()
    send = f"{sandbox.base_url}/fcm/v1/projects/lender-app/messages:send"
    headers = {"Authorization": f"Bearer {token}"}
    both = {"message": {"token": "t", "topic": "news"}}
    assert (
        httpx.post(send, json=both, headers=headers).json()["error"]["status"] == "INVALID_ARGUMENT"
    )
    numbers = {"message": {"token": "t", "data": {"n": 1}}}
    assert httpx.post(send, json=numbers, headers=headers).status_code == 400
    other_project = send.replace("lender-app", "someone-else")
    assert (
        httpx.post(other_project, json={"message": {"token": "t"}}, headers=headers).status_code
        == 403
    )


def test_jpush_checks_auth_and_audience(sandbox, credentials) -> None:
    url = f"{sandbox.base_url}/jpush/v3/push"
    body = {
        "platform": "all",
        "audience": {"registration_id": ["r1"]},
        "notification": {"alert": "x"},
    }
    assert (
        httpx.post(url, json=body, auth=("jpush-app-key", "wrong")).json()["error"]["code"] == 1004
    )
    auth = ("jpush-app-key", "jpush-master-secret")
    dead = {**body, "audience": {"registration_id": ["unregistered-1"]}}
    assert httpx.post(url, json=dead, auth=auth).json()["error"]["code"] == 1011
    assert httpx.post(url, json={"platform": "all"}, auth=auth).json()["error"]["code"] == 1002
    assert "msg_id" in httpx.post(url, json=body, auth=auth).json()


def test_dialer_checks_the_signature(sandbox, credentials, system_clock) -> None:
    url = f"{sandbox.base_url}/dialer/tasks"
    task = json.dumps(
        {"attempt_ref": "a", "number": "+12125550123", "callback_url": "http://127.0.0.1:9/x"}
    ).encode()
    now = int(system_clock.now().timestamp())
    assert httpx.post(url, content=task).status_code == 401
    forged = {"X-Dialer-Signature": dialer_sign("guess", now, task)}
    assert httpx.post(url, content=task, headers=forged).status_code == 401
    stale = {"X-Dialer-Signature": dialer_sign(credentials["DIALER_SECRET"], now - 600, task)}
    assert httpx.post(url, content=task, headers=stale).status_code == 401
    good = {"X-Dialer-Signature": dialer_sign(credentials["DIALER_SECRET"], now, task)}
    assert httpx.post(url, content=task, headers=good).status_code == 202


def test_the_log_holds_only_accepted_messages(sandbox, http, system_clock) -> None:
    settings = {"base_url": f"{sandbox.base_url}/twilio", "from_number": "+15017122661"}
    adapter = build("twilio_sms", settings, http, system_clock)
    adapter.send(message(callback_url=None))
    entries = httpx.get(f"{sandbox.base_url}/_sandbox/log", params={"kind": "message"}).json()
    assert [e["attempt_ref"] for e in entries] == [None]  # no StatusCallback, so no ref to carry
    assert httpx.post(f"{sandbox.base_url}/_sandbox/reset").json() == {"reset": True}
    assert httpx.get(f"{sandbox.base_url}/_sandbox/log").json() == []
