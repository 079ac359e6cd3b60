"""The account document is validated at the edge and normalised."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from orchestrator.errors import problems_from
from orchestrator.intake.document import AccountDocument, EventDocument
from tests.factories import account_document


def problems(document) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        AccountDocument.model_validate(document)
    return {p.path: p.message for p in problems_from(info.value.errors())}


def test_the_design_example_is_valid_and_normalised():
    doc = account_document()
    doc["borrower"]["locale"] = "en_us"
    doc["borrower"]["address"] = {"country": "us", "region": "ny", "postal_code": "10001"}
    doc["contact_points"][0]["address"] = "(212) 555-0123"
    doc["contact_points"][2]["address"] = "ann@EXAMPLE.org"
    doc["debt"]["currency"] = "usd"

    parsed = AccountDocument.model_validate(doc)

    assert parsed.borrower.locale == "en-US"
    assert parsed.borrower.address.country == "US"
    assert parsed.borrower.address.region == "NY"
    assert parsed.contact_points[0].address == "+12125550123"
    assert parsed.contact_points[2].address == "ann@example.org"
    assert parsed.debt.currency == "USD"
    assert parsed.debt.amount_due == Decimal("1250.00")


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            lambda d: d["contact_points"][0].update(address="+1999"),
            "contact_points[0].address",
            "phone",
        ),
        (
            lambda d: d["contact_points"][0].update(address="hello"),
            "contact_points[0].address",
            "phone",
        ),
        (
            lambda d: d["contact_points"][2].update(address="ann@"),
            "contact_points[2].address",
            "email",
        ),
        (
            lambda d: d["contact_points"][3].update(address="short"),
            "contact_points[3].address",
            "push token",
        ),
        (
            lambda d: d["contact_points"][0].update(channel="fax"),
            "contact_points[0].channel",
            "sms",
        ),
        (lambda d: d["debt"].update(currency="XYZ"), "debt.currency", "ISO 4217"),
        (lambda d: d["debt"].update(amount_due="-5.00"), "debt", "negative"),
        (lambda d: d["debt"].update(amount_due=12.5), "debt.amount_due", "decimal string"),
        (lambda d: d["debt"].update(amount_due="12.345"), "debt", "decimals"),
        (lambda d: d["debt"].update(amount_due="lots"), "debt.amount_due", "not a decimal"),
        (lambda d: d["debt"].update(due_date="2026-13-01"), "debt.due_date", "date"),
        (lambda d: d["debt"].update(due_date="01/10/2026"), "debt.due_date", "ISO 8601"),
        (lambda d: d["debt"].update(amount_due="1e30"), "debt", "beyond what an account"),
        (
            lambda d: d["debt"].update(amount_due="1000000000000000"),
            "debt",
            "beyond what an account",
        ),
        (lambda d: d["borrower"].update(time_zone="Mars/Base"), "borrower.time_zone", "IANA"),
        (lambda d: d["borrower"].update(locale="xx-QQ-bogus"), "borrower.locale", "BCP 47"),
        (
            lambda d: d["borrower"]["address"].update(country="QQ"),
            "borrower.address.country",
            "ISO 3166",
        ),
        (lambda d: d["borrower"]["address"].update(region="ZZ"), "borrower.address", "subdivision"),
        (
            lambda d: d["borrower"]["address"].update(postal_code="1234"),
            "borrower.address",
            "postal_code",
        ),
        (lambda d: d.update(jurisdiction="Narnia"), "jurisdiction", "jurisdiction"),
        (lambda d: d.update(surprise=1), "surprise", "Extra inputs"),
        (lambda d: d["debt"].update(colour="red"), "debt.colour", "Extra inputs"),
        (lambda d: d.update(external_id="has space"), "external_id", "pattern"),
        (lambda d: d["borrower"].update(name=""), "borrower.name", "at least 1"),
    ],
)
def test_bad_fields_are_named_with_what_is_wrong(change, field, words):
    doc = account_document()
    change(doc)
    found = problems(doc)
    assert field in found, found
    assert words.lower() in found[field].lower(), found[field]


def test_a_jurisdiction_or_an_address_is_required():
    doc = account_document(jurisdiction=None)
    doc["borrower"]["address"] = None
    assert "jurisdiction" in problems(doc)[""]


def test_a_contact_point_listed_twice_is_refused():
    doc = account_document()
    doc["contact_points"].append({"channel": "sms", "address": "+1 212 555 0123"})
    assert "listed twice" in problems(doc)[""]


def test_national_numbers_are_read_in_the_address_country():
    doc = account_document(jurisdiction="CN-GD")
    doc["borrower"]["address"] = {"country": "CN", "region": "GD", "postal_code": "510000"}
    doc["contact_points"] = [{"channel": "sms", "address": "138 0013 8000"}]
    doc["debt"]["currency"] = "CNY"
    parsed = AccountDocument.model_validate(doc)
    assert parsed.contact_points[0].address == "+8613800138000"


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({"type": "opt_out"}, "needs a channel"),
        ({"type": "promise_to_pay", "at": "2026-10-22"}, "needs `until`"),
        ({"type": "payment", "at": "2026-10-22T10:00:00"}, "no UTC offset"),
        ({"type": "payment", "amount": "-1"}, "negative"),
        ({"type": "payment", "until": "2026-10-22"}, "only applies"),
        ({"type": "contact_preference", "details": {"not_before": "25:00"}}, "HH:MM"),
        (
            {
                "type": "contact_preference",
                "details": {"not_before": "20:00", "not_after": "18:00"},
            },
            "earlier",
        ),
        ({"type": "contact_preference", "details": {"days": "someday"}}, "days"),
        ({"type": "holiday"}, "type"),
    ],
)
def test_bad_events_are_refused(event, words):
    with pytest.raises(ValidationError) as info:
        EventDocument.model_validate(event)
    assert words.lower() in str(info.value).lower()


def test_an_event_date_stays_a_date_and_an_instant_keeps_its_offset():
    on_date = EventDocument.model_validate({"type": "dispute", "at": "2026-10-09"})
    instant = EventDocument.model_validate({"type": "dispute", "at": "2026-10-09T14:30:00+08:00"})
    assert on_date.at.isoformat() == "2026-10-09"
    assert instant.at.utcoffset().total_seconds() == 8 * 3600


@pytest.mark.parametrize(("given", "kept"), [("1E+3", "1000"), ("1250.00", "1250.00"), (7, "7")])
def test_amounts_are_kept_in_plain_notation(given, kept):
    doc = account_document()
    doc["debt"]["amount_due"] = given
    assert str(AccountDocument.model_validate(doc).debt.amount_due) == kept
