"""Intake takes a letter's postal address (given, or the borrower's own) only when it is
deliverable, and a WeChat openid only with the borrower's consent."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from orchestrator.intake.document import AccountDocument

HOME = {
    "country": "US",
    "region": "NY",
    "postal_code": "10118",
    "city": "New York",
    "line1": "350 Fifth Avenue",
}


def document(points, address=HOME, locale="en-US"):
    return {
        "external_id": "loan-1",
        "jurisdiction": "US-NY",
        "borrower": {"name": "Ann Lee", "locale": locale, "address": address},
        "contact_points": points,
        "debt": {"amount_due": "100.00", "currency": "USD", "due_date": "2026-10-01"},
    }


def test_a_letter_without_an_address_goes_to_the_borrowers_own() -> None:
    (point,) = AccountDocument.model_validate(document([{"channel": "letter"}])).contact_points
    assert json.loads(point.address) == {**HOME, "name": "Ann Lee"}


def test_a_letter_address_given_is_checked_for_its_country() -> None:
    given = {"line1": "10 Downing Street", "city": "London", "postal_code": "SW1A 2AA",
             "country": "gb", "name": "A. Lee"}  # fmt: skip
    (point,) = AccountDocument.model_validate(
        document([{"channel": "letter", "address": given}])
    ).contact_points
    assert json.loads(point.address)["country"] == "GB"
    with pytest.raises(ValidationError, match="postal_code '1234' is not valid for US"):
        AccountDocument.model_validate(
            document([{"channel": "letter", "address": {**HOME, "postal_code": "1234"}}])
        )


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ({"country": "US", "region": "NY", "postal_code": "10118"}, "needs line1"),
        ({**HOME, "region": None}, "needs its region"),
        ({**HOME, "postal_code": None}, "needs its postal_code"),
    ],
)
def test_an_undeliverable_address_is_refused_with_what_is_missing(address, message) -> None:
    with pytest.raises(ValidationError, match=message) as raised:
        AccountDocument.model_validate(document([{"channel": "letter"}], address=address))
    assert raised.value.errors()[0]["loc"] == ("contact_points", 0, "address")


def test_a_wechat_openid_needs_the_borrowers_consent() -> None:
    openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    with pytest.raises(ValidationError, match="only with the borrower's consent"):
        AccountDocument.model_validate(document([{"channel": "wechat", "address": openid}]))
    (point,) = AccountDocument.model_validate(
        document([{"channel": "wechat", "address": openid, "consent": True}])
    ).contact_points
    assert point.address == openid
    with pytest.raises(ValidationError, match="a WeChat openid is 16 to 64"):
        AccountDocument.model_validate(
            document([{"channel": "wechat", "address": "not an openid!", "consent": True}])
        )
