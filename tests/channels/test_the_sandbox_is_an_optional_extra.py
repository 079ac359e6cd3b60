"""The provider sandbox is not production code: its dependency comes with the ``[sandbox]``
extra, and everything else (the API, the worker, the scheduler, every command's help) runs
without it. Asking for the sandbox without the extra says how to install it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Runs Python as if aiosmtpd were not installed (None in sys.modules halts its import).
WITHOUT_EXTRA = "import sys; sys.modules['aiosmtpd'] = None; "


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA + code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_sandboxs_dependency_is_an_extra_that_dev_installs_too():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not any(d.startswith("aiosmtpd") for d in project["dependencies"])
    assert any(d.startswith("aiosmtpd") for d in project["optional-dependencies"]["sandbox"])
    assert "contact-orchestrator[sandbox]" in project["optional-dependencies"]["dev"]
    assert '".[dev,sandbox]"' in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_the_service_and_the_command_run_without_it():
    done = run(
        "import orchestrator.api.app, orchestrator.dispatch.worker;"
        "import orchestrator.planning.scheduler;"
        "from channels.sandbox import SandboxSettings;"
        "sys.argv = ['orchestrator', '--help'];"
        "from orchestrator.cli import main; main()"
    )
    assert done.returncode == 0, done.stderr
    assert "sandbox" in done.stdout


def test_asking_for_the_sandbox_without_it_says_how_to_install_it():
    done = run("sys.argv = ['orchestrator', 'sandbox']; from orchestrator.cli import main; main()")
    assert done.returncode == 2, done.stderr
    assert "pip install 'contact-orchestrator[sandbox]'" in done.stderr
    assert "Traceback" not in done.stderr
