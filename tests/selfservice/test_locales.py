"""The page speaks the borrower's locale: zh-CN and en-US, money and dates by babel."""

from __future__ import annotations

import pytest

from tests.factories import account_document
from tests.selfservice.conftest import make_borrower


@pytest.fixture
def chinese(store, clock, redis_url, redis_namespace, file_config):
    document = account_document(
        jurisdiction="CN",
        borrower={
            "name": "王芳",
            "locale": "zh-CN",
            "time_zone": "Asia/Shanghai",
            "address": {"country": "CN", "region": "BJ", "postal_code": "100000"},
        },
        contact_points=[{"channel": "sms", "address": "+8613800138000", "consent": True}],
        debt={"amount_due": "3200.00", "currency": "CNY", "due_date": "2026-10-20"},
    )
    found = make_borrower(store, clock, redis_url, redis_namespace, file_config, document)
    return found


def test_chinese_borrowers_get_the_page_in_chinese(chinese):
    page = chinese.client.get(chinese.url)
    assert '<html lang="zh-CN">' in page.text
    assert "手机号码后四位" in page.text
    assert chinese.verify("8000").status_code == 303
    page = chinese.client.get(f"{chinese.url}/account")
    assert "您的欠款" in page.text
    assert "¥3,200.00" in page.text
    assert "2026年10月20日" in page.text
    # No US validation notice for a Chinese account.
    assert "How the amount is made up" not in page.text
    assert "金额构成" not in page.text
    answer = chinese.act("dispute", reason="not_mine")
    assert "已收到您的异议" in chinese.client.get(answer.headers["location"]).text


def test_english_borrowers_get_the_us_validation_information(borrower):
    page = borrower.client.get(borrower.url)
    assert '<html lang="en">' in page.text
    borrower.verify()
    page = borrower.client.get(f"{borrower.url}/account")
    assert "How the amount is made up" in page.text
    assert "October 1, 2026" in page.text
    assert "right to dispute" in page.text


def test_the_lenders_itemization_is_what_the_page_shows(
    store, clock, redis_url, redis_namespace, file_config
):
    """With ``debt.itemization`` in the document, the page shows the lender's figures (as
    the validation notice prints them), not "not reported by the creditor"."""
    document = account_document(
        debt={
            "amount_due": "1250.00",
            "currency": "USD",
            "due_date": "2026-10-01",
            "product": "bnpl",
            "itemization": {
                "date": "2026-08-15",
                "basis": "last_statement",
                "amount": "1200.00",
                "interest": "45.50",
                "fees": "29.50",
                "payments": "20.00",
                "credits": "5.00",
                "current": "1250.00",
            },
        }
    )
    found = make_borrower(store, clock, redis_url, redis_namespace, file_config, document)
    found.verify()
    page = found.client.get(f"{found.url}/account").text
    assert "How the amount is made up" in page
    assert "August 15, 2026" in page
    for figure in ("$1,200.00", "$45.50", "$29.50", "-$20.00", "-$5.00"):
        assert figure in page, figure
    assert "not reported by the creditor" not in page


def test_without_an_itemization_the_page_says_what_was_not_reported(borrower):
    borrower.verify()
    page = borrower.client.get(f"{borrower.url}/account").text
    assert "not reported by the creditor" in page


@pytest.mark.parametrize(
    ("locale", "page"), [("zh-TW", "zh-CN"), ("fr-FR", "en-US"), ("en-GB", "en-US")]
)
def test_other_locales_fall_back(locale, page):
    from orchestrator.api.borrower_text import page_locale

    assert page_locale(locale) == page
