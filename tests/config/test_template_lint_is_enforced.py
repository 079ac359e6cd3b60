"""Template lint is enforced wherever templates enter the system (issue 11 §7): a template
that threatens arrest and a call to the employer is refused by ``config validate``, at load
and on hot reload, with its file, line and finding; an audited waiver in
``config/templates.yaml`` lets a deliberate exception through, and every waived finding is
logged and listed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from structlog.testing import capture_logs
from typer.testing import CliRunner

from orchestrator.cli.config import app
from orchestrator.configuration.source import ConfigRefused, ConfigSource, load_config

THREAT = "If you do not pay, you will be arrested and we will call your employer."
FILE = "en-US/sms/final_notice.j2"
WIDE = {"COLUMNS": "400"}


def threaten(templates_dir) -> None:
    """Line 3 of the file says THREAT."""
    path = templates_dir / FILE
    text = path.read_text()
    path.write_text(text.replace("{% endblock %}", THREAT + "\n{% endblock %}", 1))


def waive(config_dir, *entries: str) -> None:
    (config_dir / "templates.yaml").write_text("lint_waivers:\n" + "".join(entries))


ARREST_WAIVER = f"""
  - template: {FILE}
    rule: arrest
    reason: "a test of the audited exception; never shipped"
    approved_by: compliance@lender.example
"""
EMPLOYER_WAIVER = f"""
  - template: {FILE}
    rule: third_party
    phrase: employer
    reason: "a test of the audited exception; never shipped"
    approved_by: compliance@lender.example
"""


def refused(config_dir, templates_dir) -> list[str]:
    with pytest.raises(ConfigRefused) as error:
        load_config(config_dir, templates_dir)
    return [str(p) for p in error.value.problems]


def test_validate_refuses_a_threatening_template_with_its_file_line_and_finding(config_copy):
    config_dir, templates_dir = config_copy
    threaten(templates_dir)

    result = CliRunner().invoke(
        app,
        ["validate", "--config-dir", str(config_dir), "--templates-dir", str(templates_dir)],
        env=WIDE,
    )

    assert result.exit_code == 1, result.stdout
    lines = result.stdout.splitlines()
    assert any(f"{FILE}:3" in line and "lint rule arrest:" in line for line in lines), result.stdout
    assert any(f"{FILE}:3" in line and "lint rule third_party:" in line for line in lines)
    assert "Valid" not in result.stdout


def test_loading_refuses_it(config_copy):
    config_dir, templates_dir = config_copy
    threaten(templates_dir)

    problems = refused(config_dir, templates_dir)

    assert any(p.startswith(f"{FILE}:3: lint rule arrest") and "'arrested'" in p for p in problems)
    assert any(
        p.startswith(f"{FILE}:3: lint rule third_party") and "'employer'" in p for p in problems
    )


def test_a_hot_reload_refuses_it_and_keeps_the_running_version(config_copy, clock):
    config_dir, templates_dir = config_copy
    source = ConfigSource(config_dir, templates_dir, None, now=clock.now)
    running = source.get()

    threaten(templates_dir)
    clock.advance(timedelta(seconds=5))

    assert source.get() is running
    assert source.last_error is not None
    assert source.last_error.source == str(templates_dir)
    assert {p.path for p in source.last_error.problems} == {f"{FILE}:3"}


def test_a_template_no_strategy_uses_is_refused_too(config_copy):
    config_dir, templates_dir = config_copy
    (templates_dir / "en-US" / "sms" / "unused.j2").write_text(
        "{% block body %}" + THREAT + "{% endblock %}"
    )

    problems = refused(config_dir, templates_dir)

    assert any(p.startswith("en-US/sms/unused.j2:1: lint rule arrest") for p in problems)


def test_a_waiver_for_one_rule_leaves_the_other_finding_refused(config_copy):
    config_dir, templates_dir = config_copy
    threaten(templates_dir)
    waive(config_dir, ARREST_WAIVER)

    problems = refused(config_dir, templates_dir)

    assert [p for p in problems if "lint rule arrest:" in p] == []
    assert any("lint rule third_party:" in p for p in problems)


def test_waivers_let_it_load_and_every_waived_finding_is_logged_and_listed(config_copy):
    config_dir, templates_dir = config_copy
    threaten(templates_dir)
    waive(config_dir, ARREST_WAIVER, EMPLOYER_WAIVER)

    with capture_logs() as logs:
        config = load_config(config_dir, templates_dir)

    assert config.files is not None
    waived = {(w.finding.path, w.finding.phrase, w.waiver.rule) for w in config.files.lint.waived}
    assert waived == {(FILE, "arrested", "arrest"), (FILE, "employer", "third_party")}
    logged = [e for e in logs if e["event"] == "template lint finding waived"]
    assert {(e["template"], e["rule"], e["approved_by"]) for e in logged} == {
        (FILE, "arrest", "compliance@lender.example"),
        (FILE, "third_party", "compliance@lender.example"),
    }
    assert all(e["log_level"] == "warning" and e["reason"] for e in logged)

    result = CliRunner().invoke(
        app,
        ["validate", "--config-dir", str(config_dir), "--templates-dir", str(templates_dir)],
        env=WIDE,
    )
    assert result.exit_code == 0, result.stdout
    assert "Lint findings waived" in result.stdout
    assert any(
        FILE in line and "third_party" in line and "compliance@lender.example" in line
        for line in result.stdout.splitlines()
    )


def test_a_waiver_without_a_reason_or_an_approver_is_refused(config_copy):
    config_dir, templates_dir = config_copy
    waive(config_dir, f"\n  - template: {FILE}\n    rule: arrest\n    reason: ' '\n")

    problems = refused(config_dir, templates_dir)

    assert any(p.startswith("lint_waivers[0].reason") for p in problems), problems
    assert any(p.startswith("lint_waivers[0].approved_by") for p in problems), problems


def test_a_waiver_for_an_unknown_rule_is_refused(config_copy):
    config_dir, templates_dir = config_copy
    waive(config_dir, ARREST_WAIVER.replace("rule: arrest", "rule: everything"))

    problems = refused(config_dir, templates_dir)

    assert any(
        p.startswith("lint_waivers[0].rule") and "unknown lint rule 'everything'" in p
        for p in problems
    ), problems


def test_a_waiver_that_matches_nothing_is_logged(config_copy):
    config_dir, templates_dir = config_copy
    waive(config_dir, ARREST_WAIVER)

    with capture_logs() as logs:
        config = load_config(config_dir, templates_dir)

    assert config.files is not None
    assert config.files.lint.waived == ()
    assert [(e["event"], e["template"]) for e in logs if "matches nothing" in e["event"]] == [
        ("lint waiver matches nothing: remove it", FILE)
    ]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_config_show_lists_the_waived_findings(config_copy, store):
    config_dir, templates_dir = config_copy
    threaten(templates_dir)
    waive(config_dir, ARREST_WAIVER, EMPLOYER_WAIVER)
    url = store.engine.url.render_as_string(hide_password=False)

    result = CliRunner().invoke(
        app,
        ["show", "--config-dir", str(config_dir), "--templates-dir", str(templates_dir)],
        env={"DATABASE_URL": url, **WIDE},
    )

    assert result.exit_code == 0, result.stdout
    assert "Lint findings waived" in result.stdout
    assert any(
        FILE in line and "arrest" in line and "arrested" in line and "compliance@" in line
        for line in result.stdout.splitlines()
    ), result.stdout
