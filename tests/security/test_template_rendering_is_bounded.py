"""A template cannot take a worker down (issue 18 §6): arithmetic, filters and output are
bounded before the big value is built, and render time is bounded by structure (no
``range``, no nested or recursive loops, no macros), refused at config load."""

from __future__ import annotations

import pytest

from orchestrator.domain import Channel
from orchestrator.errors import ConfigError, TemplateError
from orchestrator.messages import sample_context
from orchestrator.messages.bounds import MAX_RENDERED_CHARS
from tests.messages.conftest import scratch  # noqa: F401 - the fixture

SMS = Channel.SMS

HOSTILE = {
    "a tower of powers": "{{ (9 ** 9) ** (9 ** 9) }}",
    "a big exponent": "{{ 2 ** 100000 }}",
    "a huge product": "{{ (7 ** 300) * (7 ** 300) * (7 ** 300) * (7 ** 300) }}",
    "a literal repeated": "{{ 'x' * 1000000000 }}",
    "a variable repeated": "{{ borrower_name * 100000000 }}",
    "a list repeated": "{{ [1, 2] * 100000000 }}",
    "a repeat the other way round": "{{ 100000000 * borrower_name }}",
    "a wide center": "{{ borrower_name|center(1000000000) }}",
    "a wide indent": "{{ borrower_name|indent(10 ** 9) }}",
    "a wide percent format": "{{ '%0999999999d' % 1 }}",
    "a wide str.format": "{{ '{:>999999999}'.format(1) }}",
    "format_map": "{{ '{x:>999999999}'.format_map({'x': 1}) }}",
    "a squaring replace": (
        "{% set s = borrower_name * 1000 %}{{ s|replace('A', s)|replace('A', s) }}"
    ),
    "a squaring str.replace": "{% set s = borrower_name * 10000 %}{{ s.replace('A', s) }}",
    "a wide str.ljust": "{{ borrower_name.ljust(1000000000) }}",
    "a squaring str.join": "{% set s = 'x' * 100000 %}{{ s.join(s) }}",
    "a squaring join filter": "{% set s = 'x' * 100000 %}{{ s|join(s) }}",
    "an indent of many lines": "{% set s = '\\n' * 90000 %}{{ s|indent(9000) }}",
    "expanded tabs": "{% set s = '\\t' * 90000 %}{{ s.expandtabs(9000) }}",
}


def _evil(scratch, expression: str):  # noqa: F811 - the fixture
    return scratch({"en-US/sms/evil.j2": f"{{% block body %}}{expression}{{% endblock %}}"})


@pytest.mark.parametrize("expression", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_arithmetic_is_refused_at_render(scratch, expression) -> None:  # noqa: F811
    library = _evil(scratch, expression)

    with pytest.raises(TemplateError, match="'evil'") as refused:
        library.render("evil", SMS, "en-US", sample_context())

    # Refused before the value was built, not found too big afterwards.
    assert "built a value" not in str(refused.value)


@pytest.mark.parametrize("expression", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_arithmetic_is_refused_at_config_load(scratch, expression) -> None:  # noqa: F811
    library = _evil(scratch, expression)

    with pytest.raises(ConfigError) as refused:
        library.check([("evil", SMS)], ["en-US"])

    assert any(p.path.startswith("en-US/sms/evil.j2") for p in refused.value.problems)


def test_the_refusal_says_what_was_too_big(scratch) -> None:  # noqa: F811
    library = _evil(scratch, "{{ 'x' * 1000000000 }}")

    with pytest.raises(TemplateError, match=r"refused by the sandbox: '\*' would build a value"):
        library.render("evil", SMS, "en-US", sample_context())


def test_output_stops_at_the_rendered_size_limit(scratch) -> None:  # noqa: F811
    # One loop over a bounded value, each pass printing 100,000 characters: allowed in
    # structure, stopped by size after a couple of passes (10^10 characters otherwise).
    library = _evil(scratch, "{% set s = 'x' * 100000 %}{% for c in s %}{{ s }}{% endfor %}")

    with pytest.raises(TemplateError, match=f"more than {MAX_RENDERED_CHARS} characters"):
        library.render("evil", SMS, "en-US", sample_context())


UNBOUNDED = {
    "nested loops": (
        "{% for a in borrower_name %}{% for b in borrower_name %}{{ b }}{% endfor %}{% endfor %}",
        "a loop inside a loop",
    ),
    "an include in a loop": (
        "{% for a in borrower_name %}{% include 'en-US/_partials/x.j2' %}{% endfor %}",
        "an include inside a loop",
    ),
    "a recursive loop": (
        "{% for a in [[1]] recursive %}{{ loop(a) }}{% endfor %}",
        "recursive loops are not allowed",
    ),
    "a macro": (
        "{% macro boom(n) %}{{ boom(n) }}{{ boom(n) }}{% endmacro %}{{ boom(1) }}",
        "macros are not allowed",
    ),
}


@pytest.mark.parametrize(("body", "words"), UNBOUNDED.values(), ids=UNBOUNDED.keys())
def test_structures_without_a_time_bound_are_refused_at_config_load(
    scratch,  # noqa: F811
    body,
    words,
) -> None:
    library = scratch(
        {
            "en-US/sms/evil.j2": f"{{% block body %}}{body}{{% endblock %}}",
            "en-US/_partials/x.j2": "{{ borrower_name }}",
        }
    )

    with pytest.raises(ConfigError) as refused:
        library.check([("evil", SMS)], ["en-US"])

    assert any(
        p.path.startswith("en-US/sms/evil.j2:1") and words in p.message
        for p in refused.value.problems
    ), refused.value.problems


def test_a_template_including_itself_is_an_error_not_a_crash(scratch) -> None:  # noqa: F811
    library = scratch(
        {"en-US/sms/evil.j2": "{% block body %}{% include 'en-US/sms/evil.j2' %}x{% endblock %}"}
    )

    with pytest.raises(TemplateError, match="nested too deeply"):
        library.render("evil", SMS, "en-US", sample_context())


def test_ordinary_arithmetic_still_works(scratch) -> None:  # noqa: F811
    library = _evil(
        scratch,
        "{{ days_past_due * 2 }} {{ 2 ** 10 }} {{ borrower_name * 2 }} {{ 7 % 3 }} "
        "{{ borrower_name|center(12) }}|{{ borrower_name|replace('Ann', 'Anne') }}",
    )

    body = library.render("evil", SMS, "en-US", sample_context()).body

    assert body == "24 1024 Ann LeeAnn Lee 1 Ann Lee |Anne Lee"  # SMS spacing collapsed
