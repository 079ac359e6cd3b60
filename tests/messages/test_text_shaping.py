"""How each channel's text is shaped: one line for SMS, paragraphs for calls, lines for email."""

from __future__ import annotations

from orchestrator.domain import Channel
from orchestrator.messages import sample_context
from orchestrator.messages.parts import one_line, plain_text, spoken


def test_wrapped_english_lines_join_with_a_space() -> None:
    assert one_line("  Your payment\n   is due   today.\n") == "Your payment is due today."


def test_wrapped_chinese_lines_join_without_a_space() -> None:
    assert one_line("您本期应还款项\n今天到期。\n") == "您本期应还款项今天到期。"


def test_a_space_the_author_wrote_beside_chinese_stays() -> None:
    assert one_line("请通过 https://x.example/p 还款") == "请通过 https://x.example/p 还款"


def test_call_scripts_keep_paragraphs_as_pauses() -> None:
    assert spoken("\n  Hello.\n  This is Acme.\n\n\n  Goodbye.\n") == (
        "Hello. This is Acme.\n\nGoodbye."
    )


def test_email_text_keeps_lines_and_drops_indentation() -> None:
    assert plain_text("\n    Dear Ann,\n\n\n\n    Line one\n    Line two   \n") == (
        "Dear Ann,\n\nLine one\nLine two"
    )


def test_an_sms_source_wrapped_over_lines_is_sent_as_one_line(scratch) -> None:
    library = scratch(
        {
            "en-US/sms/wrapped.j2": (
                "{% block body %}\n{{ lender_name }}: your payment\n"
                "    is due {{ due_date|date }}.\n{% endblock %}"
            )
        }
    )
    body = library.render("wrapped", Channel.SMS, "en-US", sample_context()).body
    assert body == "Acme Finance: your payment is due October 1, 2026."
