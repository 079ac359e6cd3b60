"""The production topology on one machine: every process of ``compose.yaml``, started from
the very commands that file gives each service, as separate processes.

``compose.yaml`` is the source: :func:`service_command` reads a service's ``command:``
(``orchestrator api``, ``orchestrator worker --processes 1 …``) and :class:`Topology` runs it
with this checkout's interpreter, changing only what one machine needs changed (ports,
file paths: :func:`localised`). Used by ``tests/e2e/test_the_stack_as_separate_processes.py``
and by ``bench/chaos.py``; PostgreSQL and the broker are given by URL, or started privately
(:class:`PrivatePostgres`, :class:`PrivateRedis`) when a run must restart them.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"


def compose_services(path: Path = COMPOSE) -> dict[str, Any]:
    """The services of ``compose.yaml`` (YAML anchors and merge keys resolved)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return dict(document["services"])


def service_command(name: str, path: Path = COMPOSE) -> list[str]:
    """The ``command:`` of one service, as an argument list."""
    return [str(part) for part in compose_services(path)[name]["command"]]


def localised(command: list[str], options: Mapping[str, str]) -> list[str]:
    """``command`` run by this checkout's interpreter (``python -m orchestrator``) with some
    options' values replaced, or added when missing (``{"--port": "8123"}``)."""
    if command[0] != "orchestrator":
        raise ValueError(f"not an orchestrator command: {command}")
    argv = list(command[1:])
    for option, value in options.items():
        if option in argv:
            argv[argv.index(option) + 1] = value
        else:
            argv += [option, value]
    return [sys.executable, "-m", "orchestrator", *argv]


def clock_setting(start: datetime, speed: float) -> str:
    """``ORCHESTRATOR_CLOCK`` for a deployment showing ``start`` now, at ``speed``, its anchor
    named so every process (and the test) agrees without Redis (``orchestrator.epoch``)."""
    return f"{start.isoformat()}@{speed:g}@{datetime.now(UTC).isoformat()}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Process:
    """One running process of the topology, in its own process group."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        """``sig`` to the process only (as ``docker stop`` signals a container's first
        process); Dramatiq's main process passes a SIGTERM on to its worker processes."""
        if self.alive():
            os.kill(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL the process and every process it started: no clean-up at all."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, then SIGKILL whatever is left after ``timeout``."""
        if self.alive():
            self.signal(signal.SIGTERM)
            self.reap(timeout)
        return self.popen.returncode

    def reap(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` for a process already signalled to end, then SIGKILL it and
        everything it started. Never a second SIGTERM: Dramatiq's worker processes and
        uvicorn take a second one as "exit now", without finishing what is in flight."""
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)
        return self.popen.returncode

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# The order :meth:`Topology.stop` stops the services in, each wave at once (any other
# service last): what makes work first, the provider that answers it last.
STOP_WAVES = (("scheduler", "worker"), ("api",), ("sandbox",))


@dataclass
class Topology:
    """Starts the stack's processes with one shared environment.

    Parameters:
      folder: logs, the sandbox's journal, the data folder (heartbeats, metrics).
      env: the deployment's settings (DATABASE_URL, REDIS_URL, BROKER_URL,
        ORCHESTRATOR_QUEUE_NAMESPACE, ORCHESTRATOR_CLOCK, credentials, …).
    """

    folder: Path
    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)

    def run(self, command: list[str], *, timeout: float = 120) -> str:
        """Run a one-off command (``orchestrator db upgrade``) to completion; its stdout."""
        done = subprocess.run(
            localised(command, {}), env=self._env(), capture_output=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.decode()[-2000:]}")
        return done.stdout.decode()

    def start(
        self,
        service: str,
        options: Mapping[str, str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
    ) -> Process:
        """Start one process of ``service`` (its compose command, ``options`` changed)."""
        name = f"{service}-{sum(p.name.startswith(service) for p in self.processes) + 1}"
        log = self.folder / f"{name}.log"
        popen = subprocess.Popen(
            localised(service_command(service), options or {}),
            env=self._env(env),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.folder,
        )
        process = Process(name, popen, log, port)
        self.processes.append(process)
        return process

    def api(self, port: int | None = None, *, timeout: float = 180) -> Process:
        [process] = self.apis([port or free_port()], timeout=timeout)
        return process

    def apis(self, ports: list[int], *, timeout: float = 180) -> list[Process]:
        """API processes on ``ports``, started together and then each waited for (on a
        loaded machine a start takes tens of seconds: they overlap)."""
        processes = [
            self.start(
                "api",
                env={"ORCHESTRATOR_API_HOST": "127.0.0.1", "ORCHESTRATOR_API_PORT": str(port)},
                port=port,
            )
            for port in ports
        ]
        for process in processes:
            wait_for(partial(_ready_or_dead, process), name_of(process), timeout)
            self._running(process)
        return processes

    def worker(self, threads: int = 4) -> Process:
        return self._running(self.start("worker", {"--threads": str(threads)}))

    def scheduler(self, *, env: Mapping[str, str] | None = None, **options: str) -> Process:
        return self._running(
            self.start(
                "scheduler",
                {f"--{k.replace('_', '-')}": v for k, v in options.items()},
                env=env,
            )
        )

    def sandbox(self, callback_base: str, **options: str) -> Process:
        port, smtp = free_port(), free_port()
        process = self.start(
            "sandbox",
            {
                "--host": "127.0.0.1",
                "--port": str(port),
                "--smtp-port": str(smtp),
                "--callback-base": callback_base,
                "--log": str(self.folder / "sandbox.jsonl"),
                **{f"--{k.replace('_', '-')}": v for k, v in options.items()},
            },
            port=port,
        )
        wait_for(
            lambda: answers(f"{process.url}/_sandbox/faults") or not process.alive(),
            "the sandbox",
            120,
        )
        self._running(process)
        self.env["ORCHESTRATOR_SANDBOX_URL"] = process.url
        self.env["ORCHESTRATOR_SANDBOX_SMTP"] = f"smtp://127.0.0.1:{smtp}"
        return process

    def stop(self, timeout: float = 30) -> None:
        """Stop every process gracefully, in waves (:data:`STOP_WAVES`): the schedulers and
        workers first, so their sends in flight still reach the provider sandbox and its
        reports an API; then the APIs; then the sandbox. A wave's processes get their SIGTERM
        together and shut down side by side; whatever is left after ``timeout`` is
        SIGKILLed."""
        waves: list[list[Process]] = [[] for _ in range(len(STOP_WAVES) + 1)]
        for process in reversed(self.processes):
            service = process.name.rsplit("-", 1)[0]
            index = next(
                (i for i, wave in enumerate(STOP_WAVES) if service in wave), len(STOP_WAVES)
            )
            waves[index].append(process)
        for wave in waves:
            signalled = [p for p in wave if p.alive()]
            for process in signalled:
                process.signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for process in signalled:
                process.reap(max(0.0, deadline - time.monotonic()))

    def _running(self, process: Process) -> Process:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited at start:\n{process.tail()}")
        return process

    def _env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {
            **os.environ,
            "ORCHESTRATOR_DATA_DIR": str(self.folder / "var"),
            **self.env,
            **(extra or {}),
        }


def _ready_or_dead(process: Process) -> bool:
    return answers(f"{process.url}/readyz") or not process.alive()


def name_of(process: Process) -> str:
    return f"{process.name} on port {process.port}"


def api_key(output: str) -> str:
    """The key ``orchestrator tenants create`` printed."""
    found = re.search(r"\bco_[A-Za-z0-9]+_[A-Za-z0-9_\-]+", output)
    if not found:
        raise RuntimeError(f"no API key in: {output}")
    return found.group(0)


# --- private servers, for runs that restart them ------------------------------------------


def _pg_binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"{name} not found under /usr/lib/postgresql/*/bin: install PostgreSQL")
    return found[-1]


class PrivatePostgres:
    """A PostgreSQL server of this run's own (``initdb`` into a temporary folder, its own
    port, trust on loopback), so restarting it disturbs nobody else."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "pgdata"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        user = ["-U", "postgres"]
        subprocess.run(
            [_pg_binary("initdb"), "-D", str(self.data), *user, "-A", "trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            **_as_postgres(),
        )

    def start(self) -> None:
        subprocess.run(
            [
                _pg_binary("pg_ctl"),
                *("-D", str(self.data), "-l", str(self.folder / "postgres.log"), "-w", "-t", "600"),
                *("-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"),
                *("-o", "-c fsync=off -c max_connections=200"),
                "start",
            ],
            check=True,
            # Not captured: the server inherits pg_ctl's output, and a pipe would stay open.
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **_as_postgres(),
        )

    def restart(self) -> None:
        subprocess.run(
            [
                *(_pg_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "600"),
                *("-l", str(self.folder / "postgres.log"), "restart"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **_as_postgres(),
        )

    def stop(self) -> None:
        subprocess.run(
            [_pg_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            **_as_postgres(),
        )


def _as_postgres() -> dict[str, Any]:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` user then."""
    if os.geteuid() != 0:
        return {}
    import pwd

    user = pwd.getpwnam("postgres")
    return {"user": user.pw_uid, "group": user.pw_gid}


class PrivateRedis:
    """A redis-server of this run's own port (no persistence: a restart loses everything,
    which is the point: Redis holds nothing that must not be lost)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.popen = subprocess.Popen(
            [
                *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.folder)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        def pings() -> bool:
            try:
                return bool(redis.Redis.from_url(self.url, socket_connect_timeout=1).ping())
            except redis.exceptions.RedisError:
                return False

        wait_for(pings, "a private Redis", timeout=120)

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(timeout=30)


def private_folder(prefix: str) -> Path:
    """A temporary folder PostgreSQL's user may write in."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
    return folder
