"""``compose.yaml`` and ``Dockerfile`` checked without a container engine (this machine has
none; docs/deployment.md says what was and was not run): every service's command is a real
``orchestrator`` command whose options parse, the topology's counts, probes and grace periods
are there, no secret is written in the file, and the image is multi-stage, non-root and
pinned by constraints.txt. ``tests/e2e/topology_scenario.py`` (run on each broker by
``test_the_stack_as_separate_processes_on_*.py``) runs the same commands outside a
container."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.topology import COMPOSE, compose_services, localised, service_command
from orchestrator.cli import _register, app

ROOT = Path(__file__).resolve().parents[1]
SERVICES = compose_services()
OURS = sorted(n for n, s in SERVICES.items() if str(s.get("command", [""])[0]) == "orchestrator")


@pytest.fixture(scope="module")
def cli():
    _register()
    return CliRunner()


@pytest.mark.parametrize("name", OURS)
def test_each_service_runs_a_real_command_whose_options_parse(cli, name):
    command = service_command(name)
    # --help last: the command and every option before it must exist for it to answer.
    result = cli.invoke(app, [*command[1:], "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert localised(command, {})[-len(command) + 1 :] == command[1:]


def test_the_stack_has_every_part_in_its_numbers():
    assert set(OURS) == {"api", "migrate", "sandbox", "scheduler", "worker"}
    assert {"postgres", "redis", "rabbitmq"} <= set(SERVICES)
    replicas = {n: SERVICES[n].get("deploy", {}).get("replicas", 1) for n in OURS}
    assert (replicas["api"], replicas["worker"], replicas["scheduler"]) == (2, 3, 2)
    for name in ("api", "worker", "scheduler"):
        assert SERVICES[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }


def test_probes_and_grace_periods_are_the_documented_ones():
    assert "/readyz" in " ".join(SERVICES["api"]["healthcheck"]["test"])
    assert SERVICES["worker"]["healthcheck"]["test"] == ["CMD", "orchestrator", "alive", "worker"]
    assert SERVICES["scheduler"]["healthcheck"]["test"][-2:] == ["alive", "scheduler"]
    worker = service_command("worker")
    timeout = int(worker[worker.index("--shutdown-timeout") + 1])
    grace = int(SERVICES["worker"]["stop_grace_period"].removesuffix("s"))
    assert grace > timeout  # a stopped worker finishes its sends before it is killed


def test_no_secret_is_written_in_the_compose_file():
    text = COMPOSE.read_text(encoding="utf-8")
    for name in ("POSTGRES_PASSWORD", "RABBITMQ_DEFAULT_PASS", "TWILIO_AUTH_TOKEN"):
        for value in re.findall(rf"{name}: (\S+)", text):
            assert value.startswith("${"), (name, value)
    for url in re.findall(r"(?:postgresql\+psycopg|amqp)://[^\s]+", text):
        password = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
        assert password.startswith("${"), url


def test_the_image_is_multi_stage_non_root_and_pinned():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert len(re.findall(r"^FROM ", dockerfile, re.MULTILINE)) == 2
    assert "--constraint constraints.txt" in dockerfile
    user = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert user
    assert not user[-1].startswith(("root", "0"))
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "var"} <= set(ignored)
