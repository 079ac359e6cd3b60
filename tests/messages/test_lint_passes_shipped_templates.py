"""The shipped templates pass lint and check, for every step of the default strategy."""

from __future__ import annotations

from orchestrator.domain import Channel
from orchestrator.messages import TemplateLibrary, lint

DEFAULT_STRATEGY = [
    ("courtesy_reminder", Channel.PUSH),
    ("overdue_notice", Channel.PUSH),
    ("courtesy_reminder", Channel.EMAIL),
    ("formal_notice", Channel.EMAIL),
    ("final_notice", Channel.EMAIL),
    ("dispute_verification", Channel.EMAIL),
    ("cease_confirmation", Channel.EMAIL),
    ("validation_notice", Channel.EMAIL),
    ("due_today", Channel.SMS),
    ("overdue_notice", Channel.SMS),
    ("payment_plan_offer", Channel.SMS),
    ("final_notice", Channel.SMS),
    ("opt_out_confirmation", Channel.SMS),
    ("reminder_call", Channel.CALL),
    ("voicemail_limited", Channel.CALL),
    ("final_notice", Channel.LETTER),
    ("validation_notice", Channel.LETTER),
    ("repayment_reminder", Channel.WECHAT),
    ("field_visit", Channel.VISIT),
]


def test_shipped_templates_have_no_lint_findings(shipped: TemplateLibrary) -> None:
    assert [str(f) for f in lint(shipped)] == []


def test_every_default_step_has_its_own_file_in_both_required_locales(
    shipped: TemplateLibrary,
) -> None:
    for locale in ("en-US", "zh-CN"):
        for name, channel in DEFAULT_STRATEGY:
            found = shipped.find(name, channel, locale)
            assert found is not None, (locale, name, channel)
            assert found.locale == locale, (locale, name, channel)


def test_shipped_templates_pass_check_for_every_locale_and_disclosure(
    shipped: TemplateLibrary,
) -> None:
    shipped.check(
        DEFAULT_STRATEGY,
        ["en-US", "zh-CN", "en-GB", "en-AU", "zh-TW"],
        disclosures=["debt_collector_initial", "debt_collector", "opt_out"],
    )
    shipped.check_all()


def test_the_folder_holds_nothing_but_the_default_steps(shipped: TemplateLibrary) -> None:
    names = {(t.name, t.channel) for t in shipped.templates()}
    assert names == set(DEFAULT_STRATEGY)
