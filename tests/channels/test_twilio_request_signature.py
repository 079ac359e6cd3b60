"""Twilio's request signature, checked against the twilio package's RequestValidator as an
independent oracle."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from channels.signatures import twilio_signature, twilio_valid

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


def test_signature_matches_twilio_validator() -> None:
    expected = RequestValidator(TOKEN).compute_signature(URL, PARAMS)
    assert twilio_signature(TOKEN, URL, PARAMS.items()) == expected


def test_twilio_validator_accepts_our_signature_of_a_status_callback() -> None:
    url = "http://127.0.0.1:8000/v1/webhooks/twilio_sms?attempt_ref=att-42"
    form = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered", "To": "+12125550123"}
    signature = twilio_signature(TOKEN, url, form.items())
    assert RequestValidator(TOKEN).validate(url, form, signature)


def test_valid_signature_accepted_with_or_without_default_port() -> None:
    signature = twilio_signature(TOKEN, "https://example.com/hook", PARAMS.items())
    assert twilio_valid(TOKEN, "https://example.com/hook", PARAMS.items(), signature)
    assert twilio_valid(TOKEN, "https://example.com:443/hook", PARAMS.items(), signature)


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (URL, {**PARAMS, "Digits": "9999"}),  # a parameter changed
        (URL, {**PARAMS, "Extra": "1"}),  # a parameter added
        ("https://mycompany.com/other.php?foo=1&bar=2", PARAMS),  # another URL
        ("https://mycompany.com/myapp.php?foo=1&bar=3", PARAMS),  # the query changed
    ],
)
def test_genuine_signature_does_not_cover_a_tampered_request(
    url: str, params: dict[str, str]
) -> None:
    genuine = twilio_signature(TOKEN, URL, PARAMS.items())
    assert not twilio_valid(TOKEN, url, params.items(), genuine)


def test_signature_made_with_another_token_is_rejected() -> None:
    forged = twilio_signature("not-the-token", URL, PARAMS.items())
    assert not twilio_valid(TOKEN, URL, PARAMS.items(), forged)


def test_missing_signature_is_rejected() -> None:
    assert not twilio_valid(TOKEN, URL, PARAMS.items(), None)
    assert not twilio_valid(TOKEN, URL, PARAMS.items(), "")
