"""An email's HTML part escapes borrower data; its subject and text part do not."""

from __future__ import annotations

from orchestrator.domain import Channel
from orchestrator.messages import TemplateLibrary, sample_context

NAME = '<script>alert("x")</script> & Sons'


def test_borrower_data_is_escaped_in_html_only(shipped: TemplateLibrary) -> None:
    message = shipped.render(
        "courtesy_reminder", Channel.EMAIL, "en-US", sample_context(borrower_name=NAME)
    )
    assert message.html is not None
    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Sons" in message.html
    assert f"Dear {NAME}," in message.body


def test_the_html_part_sits_in_the_layout_with_its_language(shipped: TemplateLibrary) -> None:
    message = shipped.render("formal_notice", Channel.EMAIL, "zh-CN", sample_context())
    assert message.html is not None
    assert message.html.startswith("<!DOCTYPE html>")
    assert '<html lang="zh-CN">' in message.html
    assert f"<title>{message.subject}</title>" in message.html


def test_disclosure_texts_are_escaped_in_html(shipped: TemplateLibrary) -> None:
    context = sample_context(unsubscribe_url="https://x.example/u?a=1&b=2")
    message = shipped.render(
        "courtesy_reminder", Channel.EMAIL, "en-US", context, disclosures=["opt_out"]
    )
    assert message.html is not None
    assert "https://x.example/u?a=1&amp;b=2" in message.html
    assert message.body.endswith("https://x.example/u?a=1&b=2.")


def test_includes_from_the_html_part_are_escaped_too(scratch) -> None:
    library = scratch(
        {
            "en-US/_partials/greeting.j2": "Dear {{ borrower_name }},",
            "en-US/email/hello.j2": (
                "{% block subject %}Hi{% endblock %}"
                "{% block text %}{% include 'en-US/_partials/greeting.j2' %}{% endblock %}"
                "{% block html %}<p>{% include 'en-US/_partials/greeting.j2' %}</p>{% endblock %}"
            ),
        }
    )
    message = library.render("hello", Channel.EMAIL, "en-US", sample_context(borrower_name="A<B"))
    assert message.body == "Dear A<B,"
    assert message.html is not None
    assert "<p>Dear A&lt;B,</p>" in message.html
