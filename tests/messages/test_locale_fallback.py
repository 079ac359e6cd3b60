"""Which folder serves a locale: own → language default (en-US, zh-CN) → en-US."""

from __future__ import annotations

import pytest

from orchestrator.domain import Channel
from orchestrator.errors import TemplateError
from orchestrator.messages import (
    TemplateLibrary,
    formatting_locale,
    normalize_locale,
    sample_context,
    template_locales,
)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en-US", "en-US"),
        ("en_us", "en-US"),
        ("ZH_cn", "zh-CN"),
        ("zh-hans-cn", "zh-Hans-CN"),
        ("es-419", "es-419"),
    ],
)
def test_locale_tags_are_normalised(tag: str, expected: str) -> None:
    assert normalize_locale(tag) == expected


@pytest.mark.parametrize(
    ("locale", "chain"),
    [
        ("en-US", ("en-US",)),
        ("en-GB", ("en-GB", "en-US")),
        ("zh-TW", ("zh-TW", "zh-CN", "en-US")),
        ("zh-Hans-SG", ("zh-Hans-SG", "zh-CN", "en-US")),
        ("zh-CN", ("zh-CN", "en-US")),
        ("fr-FR", ("fr-FR", "en-US")),
    ],
)
def test_fallback_chain(locale: str, chain: tuple[str, ...]) -> None:
    assert template_locales(locale) == chain


def test_chinese_variants_read_the_zh_cn_files(shipped: TemplateLibrary) -> None:
    message = shipped.render("due_today", Channel.SMS, "zh-TW", sample_context(currency="TWD"))
    assert message.source == "zh-CN/sms/due_today.j2"
    assert message.locale == "zh-TW"
    assert "$1,234.56" in message.body


def test_unknown_languages_read_english_with_their_own_formatting(
    shipped: TemplateLibrary,
) -> None:
    message = shipped.render(
        "formal_notice", Channel.EMAIL, "fr-FR", sample_context(currency="EUR")
    )
    assert message.source == "en-US/email/formal_notice.j2"
    assert "1\u202f234,56\xa0€" in message.body


def test_a_locale_babel_does_not_know_formats_like_its_fallback() -> None:
    assert str(formatting_locale("xx-YY")) == "en_US"


def test_a_regional_file_wins_over_the_fallback(scratch) -> None:
    library = scratch(
        {
            "en-US/sms/hello.j2": "{% block body %}Hello{% endblock %}",
            "en-GB/sms/hello.j2": "{% block body %}Hello, mate{% endblock %}",
        }
    )
    assert library.render("hello", Channel.SMS, "en-GB", sample_context()).body == "Hello, mate"
    assert library.render("hello", Channel.SMS, "en-AU", sample_context()).body == "Hello"


def test_a_missing_template_names_every_place_looked(shipped: TemplateLibrary) -> None:
    with pytest.raises(TemplateError) as missing:
        shipped.render("nope", Channel.SMS, "zh-TW", sample_context())
    assert "zh-TW/sms/nope.j2, zh-CN/sms/nope.j2, en-US/sms/nope.j2" in str(missing.value)
