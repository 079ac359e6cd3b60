"""A template that would fail at 3 a.m. is refused when the configuration loads."""

from __future__ import annotations

import pytest

from orchestrator.domain import Channel
from orchestrator.errors import ConfigError, TemplateError
from orchestrator.messages import sample_context

SMS = Channel.SMS


def _problems(library, required, locales=("en-US",)) -> list[str]:
    with pytest.raises(ConfigError) as refused:
        library.check(required, locales)
    assert refused.value.source == str(library.directory)
    return [str(p) for p in refused.value.problems]


def test_unknown_variable_is_refused_with_file_line_and_name(scratch) -> None:
    library = scratch(
        {
            "en-US/sms/typo.j2": (
                "{% block body %}\nHi {{ borrower_name }},\nyou owe {{ amount_owed }}.\n"
                "{% endblock %}"
            )
        }
    )
    [problem] = _problems(library, [("typo", SMS)])
    assert problem.startswith("en-US/sms/typo.j2:3: uses variable 'amount_owed'")
    assert "MessageContext does not have" in problem


def test_unknown_variable_in_an_include_is_refused(scratch) -> None:
    library = scratch(
        {
            "en-US/sms/outer.j2": (
                "{% block body %}{% include 'en-US/_partials/sign.j2' %}{% endblock %}"
            ),
            "en-US/_partials/sign.j2": "{{ signature }}",
        }
    )
    [problem] = _problems(library, [("outer", SMS)])
    assert problem.startswith("en-US/_partials/sign.j2:1: uses variable 'signature'")


def test_rendering_it_anyway_fails_with_an_error_naming_template_locale_and_variable(
    scratch,
) -> None:
    library = scratch({"en-US/sms/typo.j2": "{% block body %}{{ amount_owed }}{% endblock %}"})
    with pytest.raises(TemplateError) as failed:
        library.render("typo", SMS, "en-US", sample_context())
    message = str(failed.value)
    assert "'typo'" in message
    assert "en-US" in message
    assert "amount_owed" in message


def test_missing_template_is_refused_per_locale(scratch) -> None:
    library = scratch({"zh-CN/sms/only_chinese.j2": "{% block body %}您好{% endblock %}"})
    problems = _problems(library, [("only_chinese", SMS)], ["zh-CN", "en-US"])
    assert problems == [
        "en-US/sms/only_chinese.j2: missing: no sms template 'only_chinese' for en-US "
        "(looked in en-US)"
    ]


def test_a_locale_without_files_is_served_by_its_fallback(scratch) -> None:
    library = scratch({"en-US/sms/hello.j2": "{% block body %}Hello{% endblock %}"})
    library.check([("hello", SMS)], ["en-GB", "en-AU", "fr-FR"])


def test_every_problem_is_reported_at_once(scratch) -> None:
    library = scratch(
        {
            "en-US/sms/a.j2": "{% block body %}{{ nope }}{% endblock %}",
            "en-US/sms/b.j2": "{% block body %}{{ also_nope }}{% endblock %}",
        }
    )
    problems = _problems(library, [("a", SMS), ("b", SMS), ("c", SMS)])
    assert len(problems) == 3


def test_missing_and_unknown_blocks_are_refused(scratch) -> None:
    library = scratch(
        {
            "en-US/email/half.j2": (
                "{% block subject %}Hi{% endblock %}{% block body %}x{% endblock %}"
            )
        }
    )
    problems = _problems(library, [("half", Channel.EMAIL)])
    assert any("has no {% block text %}" in p for p in problems)
    assert any("has no {% block html %}" in p for p in problems)
    assert any("block 'body' is never sent" in p for p in problems)


def test_text_outside_blocks_is_refused(scratch) -> None:
    library = scratch({"en-US/sms/stray.j2": "Dear customer,\n{% block body %}Hi{% endblock %}"})
    assert _problems(library, [("stray", SMS)]) == [
        "en-US/sms/stray.j2:1: text outside any block is never sent"
    ]


def test_syntax_errors_are_refused_with_their_line(scratch) -> None:
    library = scratch(
        {"en-US/sms/broken.j2": "{% block body %}\n{{ borrower_name }\n{% endblock %}"}
    )
    [problem] = _problems(library, [("broken", SMS)])
    assert "syntax error at line 2" in problem


def test_an_unguarded_optional_field_is_refused(scratch) -> None:
    library = scratch(
        {
            "en-US/sms/promise.j2": (
                "{% block body %}You promised {{ promise_amount|money }}.{% endblock %}"
            )
        }
    )
    [problem] = _problems(library, [("promise", SMS)])
    assert "fails when promise_amount is empty" in problem


def test_a_guarded_optional_field_passes(scratch) -> None:
    library = scratch(
        {
            "en-US/sms/promise.j2": (
                "{% block body %}Hi.{% if promise_date %} You promised to pay by "
                "{{ promise_date|date }}.{% endif %}{% endblock %}"
            )
        }
    )
    library.check([("promise", SMS)], ["en-US"])
    rendered = library.render("promise", SMS, "en-US", sample_context())
    assert rendered.body == "Hi. You promised to pay by November 1, 2026."


def test_inheritance_is_refused(scratch) -> None:
    library = scratch(
        {
            "en-US/_base.j2": "{% block body %}{% endblock %}",
            "en-US/sms/child.j2": "{% extends 'en-US/_base.j2' %}{% block body %}Hi{% endblock %}",
        }
    )
    problems = _problems(library, [("child", SMS)])
    assert any("not {% extends %}" in p for p in problems)


def test_turning_autoescape_off_is_refused(scratch) -> None:
    library = scratch(
        {
            "en-US/email/raw.j2": (
                "{% block subject %}Hi{% endblock %}{% block text %}Hi{% endblock %}"
                "{% block html %}{% autoescape false %}{{ borrower_name }}{% endautoescape %}"
                "{% endblock %}"
            )
        }
    )
    problems = _problems(library, [("raw", Channel.EMAIL)])
    assert any("sets autoescape" in p for p in problems)


def test_an_invalid_locale_is_reported(scratch) -> None:
    library = scratch({"en-US/sms/hello.j2": "{% block body %}Hello{% endblock %}"})
    problems = _problems(library, [("hello", SMS)], ["en-US", "../etc"])
    assert problems == [
        "locales['../etc']: locale '../etc' is not a locale tag like 'en-US' or 'zh-CN'"
    ]


def test_an_unknown_channel_is_reported(scratch) -> None:
    library = scratch({"en-US/sms/hello.j2": "{% block body %}Hello{% endblock %}"})
    problems = _problems(library, [("hello", SMS), ("hello", "fax")])
    assert problems == ["hello: unknown channel 'fax'"]
    with pytest.raises(TemplateError, match="unknown channel 'fax'"):
        library.render("hello", "fax", "en-US", sample_context())  # type: ignore[arg-type]


def test_a_template_that_renders_to_nothing_is_refused(scratch) -> None:
    library = scratch(
        {
            "en-US/sms/empty.j2": (
                "{% block body %}{% if promise_date %}By then.{% endif %}{% endblock %}"
            )
        }
    )
    [problem] = _problems(library, [("empty", SMS)])
    assert "fails when promise_date is empty" in problem
    assert "renders to an empty message" in problem
