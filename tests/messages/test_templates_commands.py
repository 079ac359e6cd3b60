"""``orchestrator templates lint|check|sample`` and the preview panel."""

from __future__ import annotations

import io

from rich.console import Console
from typer.testing import CliRunner

from orchestrator.cli.templates import preview, templates_app
from orchestrator.domain import Channel
from orchestrator.messages import sample_context

from .conftest import SHIPPED

runner = CliRunner()


def test_lint_passes_on_the_shipped_templates() -> None:
    result = runner.invoke(templates_app, ["lint", "--dir", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert "no findings" in result.output


def test_lint_exits_1_and_names_each_phrase(scratch) -> None:
    library = scratch(
        {
            "en-US/sms/bad.j2": "{% block body %}\nWe will call your employer.\n{% endblock %}",
            "zh-CN/sms/bad.j2": "{% block body %}\n否则将被拘留。\n{% endblock %}",
        }
    )
    result = runner.invoke(
        templates_app, ["lint", "--dir", str(library.directory)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1
    for expected in (
        "en-US/sms/bad.j2",
        "employer",
        "third_party",
        "zh-CN/sms/bad.j2",
        "拘留",
        "arrest",
    ):
        assert expected in result.output


def test_check_lists_problems_and_exits_1(scratch) -> None:
    library = scratch({"en-US/sms/typo.j2": "{% block body %}{{ amount_owed }}{% endblock %}"})
    result = runner.invoke(
        templates_app, ["check", "--dir", str(library.directory)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1
    assert "amount_owed" in result.output


def test_check_passes_on_the_shipped_templates() -> None:
    result = runner.invoke(
        templates_app, ["check", "--dir", str(SHIPPED), "-l", "en-US", "-l", "zh-CN", "-l", "en-GB"]
    )
    assert result.exit_code == 0, result.output


def test_sample_shows_the_sms_encoding_and_segments() -> None:
    result = runner.invoke(
        templates_app,
        [
            "sample",
            "due_today",
            "sms",
            "--locale",
            "zh-CN",
            "--currency",
            "cny",
            "-d",
            "opt_out",
            "--dir",
            str(SHIPPED),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "¥1,234.56" in result.output
    assert "UCS-2" in result.output
    assert "segment" in result.output
    assert "回复TD退订" in result.output


def test_sample_reports_a_render_error_and_exits_1() -> None:
    result = runner.invoke(templates_app, ["sample", "nope", "sms", "--dir", str(SHIPPED)])
    assert result.exit_code == 1
    assert "no template 'nope'" in result.output


def test_help_explains_each_command() -> None:
    result = runner.invoke(templates_app, ["lint", "--help"])
    assert result.exit_code == 0
    assert "--dir" in result.output
    assert "threatening" in result.output


def test_preview_prints_subject_body_and_returns_the_message(shipped) -> None:
    out = io.StringIO()
    console = Console(file=out, width=200)
    message = preview(
        shipped, "formal_notice", Channel.EMAIL, "en-US", sample_context(), console=console
    )
    printed = out.getvalue()
    assert message.subject is not None
    assert message.subject in printed
    assert "Dear Ann Lee," in printed
    assert "formal_notice · email · en-US" in printed
