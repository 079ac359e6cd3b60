"""Templates run in Jinja2's immutable sandbox: no way out to Python or the filesystem."""

from __future__ import annotations

import pytest

from orchestrator.domain import Channel
from orchestrator.errors import ConfigError, TemplateError
from orchestrator.messages import sample_context

ESCAPES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ borrower_name.__class__.__base__ }}",
    "{{ amount_due.__class__.__init__.__globals__ }}",
    "{{ due_date.__reduce_ex__(2) }}",
    "{{ borrower_name.format.__globals__ }}",
    "{{ (borrower_name|attr('__class__')) }}",
]


@pytest.mark.parametrize("expression", ESCAPES)
def test_attribute_escapes_fail_to_render(scratch, expression: str) -> None:
    library = scratch({"en-US/sms/evil.j2": f"{{% block body %}}{expression}{{% endblock %}}"})
    with pytest.raises(TemplateError, match="'evil'"):
        library.render("evil", Channel.SMS, "en-US", sample_context())


@pytest.mark.parametrize("expression", ESCAPES)
def test_attribute_escapes_are_refused_at_check(scratch, expression: str) -> None:
    library = scratch({"en-US/sms/evil.j2": f"{{% block body %}}{expression}{{% endblock %}}"})
    with pytest.raises(ConfigError):
        library.check([("evil", Channel.SMS)], ["en-US"])


def test_the_sandbox_names_itself_in_the_error(scratch) -> None:
    library = scratch({"en-US/sms/evil.j2": "{% block body %}{{ ''.__class__ }}{% endblock %}"})
    with pytest.raises(TemplateError, match=r"refused by the sandbox: .*'__class__'.* is unsafe"):
        library.render("evil", Channel.SMS, "en-US", sample_context())


def test_there_are_no_globals_to_reach_for(scratch) -> None:
    library = scratch(
        {
            "en-US/sms/loop.j2": (
                "{% block body %}{% for i in range(3) %}{{ i }}{% endfor %}{% endblock %}"
            )
        }
    )
    with pytest.raises(ConfigError, match="uses variable 'range'"):
        library.check([("loop", Channel.SMS)], ["en-US"])


def test_includes_cannot_leave_the_templates_folder(scratch, tmp_path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret")
    library = scratch(
        {"en-US/sms/peek.j2": "{% block body %}{% include '../secret.txt' %}{% endblock %}"}
    )
    with pytest.raises(TemplateError) as failed:
        library.render("peek", Channel.SMS, "en-US", sample_context())
    assert "s3cret" not in str(failed.value)
    with pytest.raises(ConfigError):
        library.check([("peek", Channel.SMS)], ["en-US"])


def test_the_safe_filter_is_not_available(scratch) -> None:
    library = scratch(
        {
            "en-US/email/unsafe.j2": (
                "{% block subject %}x{% endblock %}{% block text %}x{% endblock %}"
                "{% block html %}{{ borrower_name|safe }}{% endblock %}"
            )
        }
    )
    with pytest.raises(TemplateError, match="safe"):
        library.render("unsafe", Channel.EMAIL, "en-US", sample_context())


@pytest.mark.parametrize(
    ("name", "locale"),
    [
        ("../../etc/passwd", "en-US"),
        ("Due_Today", "en-US"),
        ("due_today", "../en-US"),
        ("due_today", "en US"),
    ],
)
def test_names_and_locales_cannot_be_paths(shipped, name: str, locale: str) -> None:
    with pytest.raises(TemplateError):
        shipped.render(name, Channel.SMS, locale, sample_context())


def test_printing_none_is_an_error_not_the_word_none(scratch) -> None:
    library = scratch({"en-US/sms/none.j2": "{% block body %}By {{ promise_date }}{% endblock %}"})
    with pytest.raises(TemplateError, match="empty value"):
        library.render("none", Channel.SMS, "en-US", sample_context(promise_date=None))
