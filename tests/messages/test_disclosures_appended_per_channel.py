"""The engine appends the disclosures the rule pack names; templates never carry them."""

from __future__ import annotations

import pytest

from orchestrator.domain import Channel
from orchestrator.errors import TemplateError
from orchestrator.messages import Disclosure, TemplateLibrary, sample_context

CONTEXT = sample_context()


def test_sms_opt_out_in_english(shipped: TemplateLibrary) -> None:
    message = shipped.render(
        "overdue_notice", Channel.SMS, "en-US", CONTEXT, disclosures=["opt_out"]
    )
    assert message.body.endswith(" Reply STOP to opt out.")
    assert message.disclosures == (Disclosure.OPT_OUT,)


def test_sms_opt_out_in_chinese_runs_on_without_a_space(shipped: TemplateLibrary) -> None:
    message = shipped.render(
        "overdue_notice", Channel.SMS, "zh-CN", CONTEXT, disclosures=["opt_out"]
    )
    assert message.body.endswith("。回复TD退订。")


def test_without_disclosures_nothing_is_appended(shipped: TemplateLibrary) -> None:
    message = shipped.render("overdue_notice", Channel.SMS, "en-US", CONTEXT)
    assert "STOP" not in message.body
    assert message.disclosures == ()


def test_email_gets_them_in_text_and_html_in_the_order_asked(shipped: TemplateLibrary) -> None:
    message = shipped.render(
        "formal_notice",
        Channel.EMAIL,
        "en-US",
        CONTEXT,
        disclosures=["debt_collector_initial", "opt_out"],
    )
    initial = "attempting to collect a debt, and any information obtained will be used"
    unsubscribe = f"visit {CONTEXT.unsubscribe_url}"
    assert message.body.index(initial) < message.body.index(unsubscribe)
    assert message.body.endswith(unsubscribe + ".")
    assert message.html is not None
    assert message.html.index(initial) < message.html.index(unsubscribe)
    assert message.subject is not None
    assert "debt" not in message.subject


def test_email_opt_out_without_a_link_offers_reply_or_call(shipped: TemplateLibrary) -> None:
    context = sample_context(unsubscribe_url=None)
    message = shipped.render(
        "courtesy_reminder", Channel.EMAIL, "en-US", context, disclosures=["opt_out"]
    )
    assert f"reply to this email with the word STOP or call {context.support_phone}" in (
        message.body
    )


def test_push_opt_out_says_how_to_turn_notifications_off(shipped: TemplateLibrary) -> None:
    message = shipped.render(
        "courtesy_reminder", Channel.PUSH, "en-US", CONTEXT, disclosures=["opt_out"]
    )
    assert "turn off notifications for the Acme Finance app" in message.body
    assert message.title == "Payment reminder"


def test_later_communications_say_they_are_from_a_debt_collector(
    shipped: TemplateLibrary,
) -> None:
    message = shipped.render(
        "reminder_call", Channel.CALL, "zh-CN", CONTEXT, disclosures=["debt_collector"]
    )
    assert message.body.endswith("\n\n本信息来自债务催收方。")


def test_opt_out_does_not_apply_to_calls(shipped: TemplateLibrary) -> None:
    message = shipped.render(
        "reminder_call", Channel.CALL, "en-US", CONTEXT, disclosures=["opt_out", "debt_collector"]
    )
    assert message.disclosures == (Disclosure.DEBT_COLLECTOR,)
    assert "STOP" not in message.body


def test_a_disclosure_asked_twice_is_appended_once(shipped: TemplateLibrary) -> None:
    message = shipped.render(
        "due_today", Channel.SMS, "en-US", CONTEXT, disclosures=["opt_out", "opt_out"]
    )
    assert message.body.count("Reply STOP") == 1


def test_an_unknown_disclosure_is_a_template_error(shipped: TemplateLibrary) -> None:
    with pytest.raises(TemplateError, match="unknown disclosure 'mini_miranda'"):
        shipped.render("due_today", Channel.SMS, "en-US", CONTEXT, disclosures=["mini_miranda"])


def test_a_disclosure_without_text_for_the_locale_is_a_template_error(scratch) -> None:
    library = scratch({"en-US/sms/hello.j2": "{% block body %}Hello.{% endblock %}"})
    (library.directory / "en-US/_disclosures/opt_out.sms.j2").unlink()
    with pytest.raises(TemplateError, match="disclosure 'opt_out' has no text for sms"):
        library.render("hello", Channel.SMS, "en-US", CONTEXT, disclosures=["opt_out"])


def test_check_reports_a_disclosure_with_no_text(scratch) -> None:
    from orchestrator.errors import ConfigError

    library = scratch(
        {
            "en-US/push/hello.j2": (
                "{% block title %}Hi{% endblock %}{% block body %}Hello.{% endblock %}"
            )
        }
    )
    (library.directory / "en-US/_disclosures/opt_out.push.j2").unlink()
    with pytest.raises(ConfigError) as refused:
        library.check([("hello", Channel.PUSH)], ["en-US"], disclosures=["opt_out"])
    assert [p.path for p in refused.value.problems] == ["en-US/_disclosures/opt_out.push.j2"]
