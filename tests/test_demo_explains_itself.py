"""After ``orchestrator demo`` a newcomer can follow what it printed: the command it gives to
serve the store again is the one that ran the demo (``.venv/bin/orchestrator`` is not on
PATH). What a finished run printed, and that the command runs as printed, is checked on a
real run in ``tests/test_demo_command.py``, which runs the demo once for all its checks."""

from __future__ import annotations

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
