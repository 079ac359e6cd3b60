"""Proof of life for processes that serve no HTTP: workers and schedulers.

Each ``orchestrator worker`` process and each ``orchestrator scheduler`` keeps a small JSON
file in the host's heartbeat folder (``<data dir>/heartbeats``), rewritten every few seconds
by a thread of its own and removed when the process stops cleanly. ``orchestrator alive
ROLE`` reads the folder: a liveness probe (a container's healthcheck, a Kubernetes ``exec``
probe) that needs neither Redis nor the database, so an outage of either never gets healthy
processes restarted in a loop. A process killed outright leaves its file behind, growing
older: that is what the probe sees.

The API needs none of this: it answers ``/livez`` and ``/readyz`` itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLES = ("worker", "scheduler")


@dataclass(frozen=True, slots=True)
class Beat:
    """One process's last heartbeat."""

    role: str
    pid: int
    host: str
    at: float  # POSIX seconds, wall clock
    state: dict[str, Any]

    def age(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.at


class Heartbeat:
    """Writes ``<folder>/<role>-<pid>.json`` every ``every`` seconds until stopped.

    Parameters:
      folder: the host's heartbeat folder (created if missing).
      role: ``worker`` or ``scheduler``.
      every: seconds between beats; a probe allows a few missed ones.
      state: extra fields for each beat (a scheduler says whether it leads).
    """

    def __init__(
        self,
        folder: Path,
        role: str,
        *,
        every: float = 5.0,
        state: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        self.folder = folder
        self.role = role
        self.every = every
        self.state = state or dict
        self.path = folder / f"{role}-{os.getpid()}.json"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writing = threading.Lock()  # the beating thread and beat_now() share one file

    def beat(self) -> None:
        """Write one beat now (atomically: a probe never reads half a file)."""
        with self._writing:
            self.folder.mkdir(parents=True, exist_ok=True)
            body = {
                "role": self.role,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "at": time.time(),
                "state": self.state(),
            }
            partial = self.path.with_suffix(".tmp")
            partial.write_text(json.dumps(body), encoding="utf-8")
            partial.replace(self.path)

    def beat_now(self) -> None:
        """An extra beat, between the regular ones, when the state changed (a scheduler took
        or lost the lead); nothing once stopped, and a failed write is left to the next."""
        if self._stop.is_set():
            return
        with contextlib.suppress(OSError):
            self.beat()

    def start(self) -> Heartbeat:
        self.beat()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{self.role}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating and remove the file: a clean stop is not a death."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.every + 1)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(OSError):  # a full disk must not kill the process
                self.beat()


def beats(folder: Path) -> list[Beat]:
    """Every heartbeat in ``folder``, oldest first (files being replaced are skipped)."""
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            found.append(
                Beat(body["role"], int(body["pid"]), body["host"], float(body["at"]), body["state"])
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(found, key=lambda b: b.at)


def alive(folder: Path, role: str, within: float, *, now: float | None = None) -> list[Beat]:
    """The processes of ``role`` whose last beat is at most ``within`` seconds old."""
    return [b for b in beats(folder) if b.role == role and b.age(now) <= within]
