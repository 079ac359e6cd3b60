"""Running the sandbox: in-process for tests (a context manager), or in the foreground for
the ``orchestrator sandbox`` command."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from channels.sandbox.app import create_app
from channels.sandbox.settings import SandboxSettings
from channels.sandbox.state import SandboxState
from orchestrator.clock import Clock

STARTUP_SECONDS = 10.0


@dataclass(frozen=True)
class RunningSandbox:
    """A started sandbox.

    Parameters:
      base_url: ``http://127.0.0.1:<port>``; adapters' ``base_url`` is this plus the
        provider prefix (``/twilio``, ``/aliyun``, ``/sendgrid``, ``/fcm``, ``/jpush``,
        ``/dialer``).
      smtp_host / smtp_port: the SMTP listener.
      log: the JSON Lines file.
      state: the live state (journal, faults, borrowers) for assertions.
    """

    base_url: str
    smtp_host: str
    smtp_port: int
    log: Path
    state: SandboxState


def _server(app: Starlette, *, log_level: str = "warning", **listen: object) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        **listen,  # type: ignore[arg-type]
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=1,
        access_log=False,
    )
    return uvicorn.Server(config)


@contextmanager
def running_sandbox(
    settings: SandboxSettings, *, clock: Clock | None = None
) -> Iterator[RunningSandbox]:
    """Start the sandbox in a background thread, yield where it listens, stop it after.

    The HTTP port is bound here before the server starts (``settings.port`` 0 means any free
    port), so parallel test runs never collide.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    port = sock.getsockname()[1]
    app = create_app(settings, clock=clock)
    state: SandboxState = app.state.sandbox
    server = _server(app)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="sandbox", daemon=True
    )
    thread.start()
    waited = threading.Event()
    for _ in range(int(STARTUP_SECONDS / 0.01)):
        if server.started or not thread.is_alive():
            break
        waited.wait(0.01)
    if not server.started:
        server.should_exit = True
        sock.close()
        raise RuntimeError("the sandbox did not start (see its log above)")
    try:
        yield RunningSandbox(
            base_url=f"http://{settings.host}:{port}",
            smtp_host=settings.host,
            smtp_port=state.smtp_port,
            log=settings.log,
            state=state,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve(settings: SandboxSettings, *, clock: Clock | None = None) -> None:
    """Run the sandbox in the foreground until interrupted."""
    # "info" so uvicorn prints where it listens (the port may have been 0).
    app = create_app(settings, clock=clock)
    server = _server(app, log_level="info", host=settings.host, port=settings.port)
    server.run()
