"""A voicemail holds only a limited-content message (12 CFR 1006.2(j)): no debt facts."""

from __future__ import annotations

import pytest

from orchestrator.domain import Channel
from orchestrator.errors import ConfigError, TemplateError
from orchestrator.messages import Category, TemplateLibrary, lint, sample_context

CALL = Channel.CALL
VOICEMAIL = "en-US/call/voicemail_limited.j2"


def _voicemail(text: str) -> dict[str, str]:
    return {VOICEMAIL: f"{{% block body %}}\n{text}\n{{% endblock %}}\n"}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_shipped_voicemail_has_name_person_number_and_nothing_else(
    shipped: TemplateLibrary, locale: str
) -> None:
    context = sample_context()
    message = shipped.render("voicemail_limited", CALL, locale, context)
    assert message.limited_content
    for fact in (context.lender_name, context.contact_person, context.support_phone):
        assert fact in message.body
    for fact in ("1,234.56", context.reference, context.borrower_name, context.payment_url, "2026"):
        assert fact not in message.body


def test_no_disclosure_is_appended_to_it(shipped: TemplateLibrary) -> None:
    message = shipped.render(
        "voicemail_limited",
        CALL,
        "en-US",
        sample_context(),
        disclosures=["debt_collector_initial", "debt_collector", "opt_out"],
    )
    assert message.disclosures == ()
    assert "debt" not in message.body.lower()


def test_lint_refuses_debt_fields_in_a_limited_content_template(scratch) -> None:
    library = scratch(
        _voicemail(
            "This is {{ contact_person }} from {{ lender_name }}.\n"
            "About {{ amount_due|money }} due {{ due_date|date }}, call {{ support_phone }}."
        )
    )
    findings = {(f.line, f.phrase, f.category) for f in lint(library)}
    assert (3, "amount_due", Category.LIMITED_CONTENT) in findings
    assert (3, "due_date", Category.LIMITED_CONTENT) in findings


@pytest.mark.parametrize(
    ("path", "text", "phrase"),
    [
        (VOICEMAIL, "Call us about your overdue bill.", "overdue"),
        (VOICEMAIL, "We are calling about a debt.", "debt"),
        ("zh-CN/call/voicemail_limited.j2", "关于您的欠款，请回电。", "欠款"),
    ],
)
def test_lint_refuses_debt_words_in_a_limited_content_template(
    scratch, path: str, text: str, phrase: str
) -> None:
    library = scratch({path: f"{{% block body %}}{text}{{% endblock %}}"})
    assert (phrase, Category.LIMITED_CONTENT) in {(f.phrase, f.category) for f in lint(library)}


def test_the_same_words_are_fine_in_other_templates(scratch) -> None:
    library = scratch(
        {"en-US/call/reminder.j2": "{% block body %}Your payment is overdue.{% endblock %}"}
    )
    assert lint(library) == []


def test_check_refuses_debt_fields_in_it(scratch) -> None:
    library = scratch(
        _voicemail("{{ lender_name }}: {{ days_past_due }} days. {{ contact_person }}")
    )
    with pytest.raises(ConfigError, match="may not use 'days_past_due'"):
        library.check([("voicemail_limited", CALL)], ["en-US"])


def test_a_lender_name_that_mentions_debt_is_refused_at_render(shipped: TemplateLibrary) -> None:
    context = sample_context(lender_name="Quick Debt Recovery")
    with pytest.raises(TemplateError, match=r"may not refer to the debt.*'Debt'"):
        shipped.render("voicemail_limited", CALL, "en-US", context)


def test_a_chinese_lender_name_that_mentions_collection_is_refused(
    shipped: TemplateLibrary,
) -> None:
    context = sample_context(lender_name="速达催收")
    with pytest.raises(TemplateError, match="催收"):
        shipped.render("voicemail_limited", CALL, "zh-CN", context)


def test_it_needs_a_person_to_reply_to(shipped: TemplateLibrary) -> None:
    with pytest.raises(TemplateError, match=r"1006\.2\(j\)\(1\)\(iii\).*contact_person"):
        shipped.render("voicemail_limited", CALL, "en-US", sample_context(contact_person=None))
