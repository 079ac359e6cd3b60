"""A webhook whose signature header holds bytes outside ASCII (or digits from another
script, or a timestamp thousands of digits long) is a forgery like any other: 401, nothing
changes. It used to be a 500 (``hmac.compare_digest`` refuses non-ASCII text)."""

from __future__ import annotations

import pytest

from channels.signatures import dialer_parse, dialer_valid, twilio_valid
from tests.factories import table_counts

NOT_ASCII = "é✓签名".encode()

CASES = {
    "twilio sms": ("twilio_sms", "X-Twilio-Signature", NOT_ASCII),
    "twilio voice": ("twilio_voice", "X-Twilio-Signature", NOT_ASCII),
    "dialer signature": ("dialer_call", "X-Dialer-Signature", b"t={now},v1=" + NOT_ASCII),
    "dialer timestamp in another script": (
        "dialer_call",
        "X-Dialer-Signature",
        "t=١٧٦٤٣٣٣١٥٠,v1=00".encode(),
    ),
    "dialer timestamp of 5,000 digits": (
        "dialer_call",
        "X-Dialer-Signature",
        b"t=" + b"9" * 5000 + b",v1=00",
    ),
    "sendgrid": ("sendgrid_email", "X-Twilio-Email-Event-Webhook-Signature", NOT_ASCII),
    "jpush": ("jpush_push", "Authorization", b"Basic " + NOT_ASCII),
}


@pytest.mark.parametrize(("provider", "header", "value"), CASES.values(), ids=CASES.keys())
def test_a_signature_that_is_not_ascii_is_a_forgery(world, provider, header, value):
    counts = table_counts(world.store)
    now = str(int(world.clock.now().timestamp()))

    response = world.http.post(
        f"/v1/webhooks/{provider}",
        content=b"[]" if provider != "twilio_sms" else b"MessageStatus=delivered",
        headers={
            header: value.replace(b"{now}", now.encode()),
            "X-Twilio-Email-Event-Webhook-Timestamp": now,
            "Content-Type": "application/json",
        },
    )

    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_signature"
    assert table_counts(world.store) == counts


@pytest.mark.parametrize("signature", ["é", "签名", "\x00\x80", "\ud800"])
def test_twilio_comparison_takes_any_text(signature):
    assert twilio_valid("token", "https://example.org/hook", [("a", "b")], signature) is False


def test_the_dialer_header_wants_ascii_digits():
    assert dialer_parse("t=١٧٦٤,v1=ab") is None
    assert dialer_parse("t=" + "9" * 5000 + ",v1=ab") is None
    assert dialer_valid("secret", "t=1,v1=é", b"{}", now=1.0, tolerance=300) is False
