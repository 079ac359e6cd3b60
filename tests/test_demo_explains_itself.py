"""After ``orchestrator demo`` a newcomer can follow what it printed: the command to serve the
store again runs as printed (``.venv/bin/orchestrator`` is not on PATH), a run that has
stopped its API says so before the ``curl``s, a push that cannot report delivery says why
it stays "sent", and Redis keeps nothing of the run."""

from __future__ import annotations

import os
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from orchestrator.demo.runner import orchestrator_command


def test_the_command_is_the_script_that_was_run_when_path_has_none(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert orchestrator_command(".venv/bin/orchestrator", cwd=tmp_path) == ".venv/bin/orchestrator"
    assert orchestrator_command("/opt/app/bin/orchestrator") == "/opt/app/bin/orchestrator"


def test_a_bare_command_only_when_path_finds_this_one(tmp_path, monkeypatch):
    script = tmp_path / "bin" / "orchestrator"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(script.parent))
    assert orchestrator_command(str(script), cwd=tmp_path) == "orchestrator"


def test_python_dash_m_when_run_as_a_module(tmp_path):
    main = "/src/orchestrator/__main__.py"
    assert orchestrator_command(main, "/usr/bin/python3", cwd=tmp_path) == (
        "/usr/bin/python3 -m orchestrator"
    )
    venv = tmp_path / ".venv" / "bin" / "python"
    assert orchestrator_command(main, str(venv), cwd=tmp_path) == ".venv/bin/python -m orchestrator"


@pytest.mark.slow
def test_a_finished_demo_leaves_instructions_that_work_and_nothing_in_redis(
    tmp_path, redis_url, redis_namespace
):
    client = redis.Redis.from_url(redis_url)
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "ORCHESTRATOR_QUEUE_NAMESPACE": redis_namespace,
        "COLUMNS": "400",
    }
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "demo", "--accounts", "60", "--days", "0.5",
         "--speed", "2880", "--data-dir", str(tmp_path / "demo"), "--port", "0", "--exit"],
        capture_output=True, text=True, env=env, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout

    # Nothing of the run stays in Redis: no worker heartbeats, no queues, none of the demo's
    # own keys (``{namespace}-demo-…``: self-service links, WeChat token). Only this run's
    # namespace is looked at: another demo may be running beside it in the suite.
    assert list(client.scan_iter(match=f"{redis_namespace}*")) == []

    # The API has stopped: say so, and how to serve the store again, before the curls.
    stopped = out.index("The API stopped with the demo")
    assert stopped < out.index("curl -s")
    serve = out.split("serve it again: ", 1)[1].split(")\n", 1)[0]
    variable, *command = shlex.split(serve)
    assert variable == f"DATABASE_URL=sqlite:///{tmp_path / 'demo' / 'demo.db'}"
    assert command[-3:-1] == ["api", "--port"]
    check = subprocess.run(
        [*command[:-2], "--help"],
        capture_output=True, text=True, env=env, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert "Serve the lender API" in check.stdout

    # "sent, delivered 0" for push comes with its reason.
    with sqlite3.connect(Path(tmp_path / "demo" / "demo.db")) as db:
        used = {row[0] for row in db.execute("select distinct provider from attempts")}
    assert ("fcm_push" in used) == ("FCM sends no delivery receipts" in out)
