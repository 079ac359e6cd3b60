"""Money and dates are written the way the borrower's locale writes them (babel/CLDR)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from orchestrator.domain import Channel
from orchestrator.messages import TemplateLibrary, sample_context
from orchestrator.messages.formatting import format_day, format_money
from orchestrator.messages.locales import formatting_locale


@pytest.mark.parametrize(
    ("locale", "currency", "expected"),
    [
        ("en-US", "USD", "$1,234.56"),
        ("zh-CN", "CNY", "¥1,234.56"),
        ("en-GB", "GBP", "£1,234.56"),
        ("en-US", "CNY", "CN¥1,234.56"),
        ("zh-CN", "USD", "US$1,234.56"),
    ],
)
def test_money_uses_the_locale_symbol_and_grouping(
    locale: str, currency: str, expected: str
) -> None:
    assert format_money(Decimal("1234.56"), currency, formatting_locale(locale)) == expected


def test_whole_currencies_print_no_decimals() -> None:
    assert format_money(Decimal("1250"), "JPY", formatting_locale("en-US")) == "¥1,250"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-US", "October 1, 2026"),
        ("zh-CN", "2026年10月1日"),
        ("en-GB", "1 October 2026"),
        ("en-AU", "1 October 2026"),
    ],
)
def test_dates_default_to_the_locale_long_form(locale: str, expected: str) -> None:
    assert format_day(date(2026, 10, 1), formatting_locale(locale)) == expected


def test_a_template_can_ask_for_another_date_style(scratch) -> None:
    library = scratch(
        {"en-US/sms/short.j2": "{% block body %}{{ due_date|date('short') }}{% endblock %}"}
    )
    message = library.render("short", Channel.SMS, "en-US", sample_context())
    assert message.body == "10/1/26"


def test_rendered_sms_shows_yuan_in_chinese(shipped: TemplateLibrary) -> None:
    context = sample_context(currency="CNY")
    message = shipped.render("due_today", Channel.SMS, "zh-CN", context)
    assert "¥1,234.56" in message.body
    assert "$" not in message.body


def test_rendered_email_shows_dollars_and_us_date(shipped: TemplateLibrary) -> None:
    message = shipped.render("formal_notice", Channel.EMAIL, "en-US", sample_context())
    assert "$1,234.56" in message.body
    assert "October 1, 2026" in message.body
    assert message.html is not None
    assert "$1,234.56" in message.html


def test_british_borrower_reads_us_wording_with_british_formatting(
    shipped: TemplateLibrary,
) -> None:
    context = sample_context(currency="GBP")
    message = shipped.render("formal_notice", Channel.EMAIL, "en-GB", context)
    assert message.source == "en-US/email/formal_notice.j2"
    assert message.locale == "en-GB"
    assert "£1,234.56" in message.body
    assert "1 October 2026" in message.body
