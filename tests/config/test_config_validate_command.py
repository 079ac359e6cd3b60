"""``orchestrator config validate`` loads the configuration as a service would and prints
every problem with its path (exit 1), or a summary (exit 0); ``--secrets`` checks the
credentials' variables, ``--store`` the tenants' stored versions."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from channels.sandbox.credentials import sandbox_credentials
from orchestrator.cli.config import app
from orchestrator.configuration.versions import Kind, append

from .conftest import SETTINGS

WIDE = {"COLUMNS": "400"}  # one problem per line: nothing folded


def run(*args: str, env: dict[str, str | None] | None = None):
    return CliRunner().invoke(app, list(args), env={**WIDE, **(env or {})})


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_shipped_configuration_is_valid():
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "config", "validate"],
        capture_output=True,
        text=True,
        env={**os.environ, **WIDE},
        cwd=SETTINGS.config_dir.parent,
        check=False,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid: 6 rule packs, 1 strategy, 11 channel providers" in result.stdout


def test_every_problem_in_the_files_is_printed_with_its_path(config_copy):
    config_dir, templates_dir = config_copy
    edit(config_dir / "channels.yaml", "adapter: aliyun_sms", "adapter: aliyun_smss")
    edit(config_dir / "strategies" / "default.yaml", "catch_up_days: 1", "catch_up_days: soon")
    edit(config_dir / "compliance" / "us-ma.yaml", "limit: 2", "limit: many")

    result = run("validate", "--config-dir", str(config_dir), "--templates-dir", str(templates_dir))

    assert result.exit_code == 1
    lines = result.stdout.splitlines()

    def row(*words: str) -> bool:
        return any(all(w in line for w in words) for line in lines)

    assert row(
        "channels.yaml", "channels.sms.providers[1].adapter", "no adapter named 'aliyun_smss'"
    )
    assert row("default.yaml", "catch_up_days", "valid integer")
    assert row("us-ma.yaml", "caps.0.limit", "valid integer")
    assert "3 problem(s)" in result.stdout
    assert "a service would refuse it" in result.stdout


def test_a_template_a_strategy_sends_is_rendered_and_refused_at_its_step(config_copy):
    config_dir, templates_dir = config_copy
    (templates_dir / "zh-CN" / "sms" / "due_today.j2").write_text(
        "{% block body %}请还款 {{ amount_owed }}{% endblock %}", encoding="utf-8"
    )

    result = run("validate", "--config-dir", str(config_dir), "--templates-dir", str(templates_dir))

    assert result.exit_code == 1
    assert "segments[1].steps[1].template" in result.stdout
    assert "zh-CN/sms/due_today.j2:1: uses variable 'amount_owed'" in result.stdout


def test_secrets_names_every_credential_variable_that_is_not_set():
    everything = sandbox_credentials()

    missing_one = run("validate", "--secrets", env={**everything, "TWILIO_AUTH_TOKEN": None})
    all_set = run("validate", "--secrets", env=everything)

    assert missing_one.exit_code == 1
    problems = [line for line in missing_one.stdout.splitlines() if "is not set" in line]
    assert len(problems) == 2  # Twilio SMS and Twilio Voice share the token
    assert "channels.sms.providers[0].settings.auth_token_env" in problems[0]
    assert "environment variable TWILIO_AUTH_TOKEN is not set" in problems[0]
    assert "channels.call.providers[0].settings.auth_token_env" in problems[1]
    assert all_set.exit_code == 0, all_set.stdout
    assert "every credential variable set" in all_set.stdout


def test_store_checks_every_tenants_stored_versions(store, clock):
    url = store.engine.url.render_as_string(hide_password=False)
    with store.transaction() as conn:
        append(
            conn,
            "acme",
            Kind.RULES,
            "id: acme\nextends: us-reg-f\ndisable: [us.reg_f.call_after_conversation_7d]\n",
            created_by="sql",
            now=clock.now(),
            after=None,
        )

    files_only = run("validate")
    with_store = run("validate", "--store", env={"DATABASE_URL": url})

    assert files_only.exit_code == 0
    assert with_store.exit_code == 1
    [line] = [line for line in with_store.stdout.splitlines() if "disable[0]" in line]
    assert "acme rules v1" in line
    assert "us.reg_f.call_after_conversation_7d is law" in line
