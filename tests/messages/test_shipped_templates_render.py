"""Every shipped template renders cleanly in every required locale."""

from __future__ import annotations

import pytest

from orchestrator.domain import Channel
from orchestrator.messages import TemplateLibrary, sample_context

from .test_lint_passes_shipped_templates import DEFAULT_STRATEGY

LOCALES = {"en-US": "USD", "zh-CN": "CNY"}


@pytest.mark.parametrize("locale", sorted(LOCALES))
@pytest.mark.parametrize(("name", "channel"), DEFAULT_STRATEGY)
def test_renders_complete_parts(
    shipped: TemplateLibrary, name: str, channel: Channel, locale: str
) -> None:
    message = shipped.render(name, channel, locale, sample_context(currency=LOCALES[locale]))
    assert message.source == f"{locale}/{channel}/{name}.j2"
    parts = [message.body, message.subject, message.title, message.html]
    for text in filter(None, parts):
        assert "None" not in text
        assert "{{" not in text
        assert "{%" not in text
    assert message.body
    assert (message.subject is not None) is (channel in (Channel.EMAIL, Channel.LETTER))
    assert (message.html is not None) is (channel is Channel.EMAIL)
    assert (message.title is not None) is (channel is Channel.PUSH)
    for one_line in (message.subject, message.title):
        assert one_line is None or "\n" not in one_line
    if channel is Channel.SMS:
        assert message.sms is not None
        assert "\n" not in message.body
        assert message.sms.encoding == ("UCS-2" if locale == "zh-CN" else "GSM-7")
        assert message.sms.segments <= 3


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_payment_messages_tell_how_to_pay_and_how_to_reach_a_person(
    shipped: TemplateLibrary, locale: str
) -> None:
    # Without a self-service link, the lender's payment link; with one, the link (the page
    # carries the payment link, and the plans, and everything else).
    without = sample_context(self_service_url=None)
    context = sample_context()
    for name, channel in DEFAULT_STRATEGY:
        if name in ("overdue_notice", "final_notice", "formal_notice", "due_today") and (
            channel is not Channel.PUSH
        ):
            body = shipped.render(name, channel, locale, without).body
            assert without.payment_url in body, name
            assert without.support_phone in body, name
            body = shipped.render(name, channel, locale, context).body
            assert context.self_service_url in body, name
            assert context.support_phone in body, name


def test_push_notifications_keep_amounts_off_the_lock_screen(shipped: TemplateLibrary) -> None:
    for locale in LOCALES:
        for name in ("courtesy_reminder", "overdue_notice"):
            message = shipped.render(name, Channel.PUSH, locale, sample_context())
            assert "1,234.56" not in f"{message.title} {message.body}"


def test_cease_confirmation_asks_for_nothing(shipped: TemplateLibrary) -> None:
    context = sample_context()
    for locale in LOCALES:
        message = shipped.render("cease_confirmation", Channel.EMAIL, locale, context)
        assert "1,234.56" not in message.body
        assert context.payment_url not in message.body
