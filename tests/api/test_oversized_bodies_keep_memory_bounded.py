"""A real API process (``orchestrator api`` under uvicorn) keeps its memory bounded whatever
body it is sent: a batch of millions of two-byte items within the byte limit is refused by
its item count before it is parsed; a body declared larger than its route's limit is
refused before it is read; a chunked one is refused once it passes the limit. The process's
peak resident memory (``VmHWM``) grows by a fraction of what parsing or buffering them
would take (gigabytes, as it did)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orchestrator.store.db import Store
from orchestrator.tenancy import Role, create_tenant, issue_key
from tests.e2e.conftest import free_port

MIB = 1024 * 1024
# What the process may grow by, at its peak, over all three requests: the largest body it
# may hold (the batch route's 32 MiB) a few times over.
GROWTH_BOUND = 200 * MIB


def peak_rss(pid: int) -> int:
    """The process's peak resident set size in bytes (Linux ``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc")


@pytest.fixture
def api_process(
    tmp_path, migrated_sqlite, redis_url, redis_namespace, provider_env
) -> Iterator[tuple]:
    """``orchestrator api`` on a fresh SQLite file, with every provider configured, and a
    lender key of tenant ``acme``."""
    path = tmp_path / "orchestrator.db"
    shutil.copy(migrated_sqlite, path)
    store = Store.connect(f"sqlite:///{path}")
    from datetime import UTC, datetime

    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "acme", name="Acme", now=datetime.now(UTC))
        key = issue_key(conn, tenant_id, role=Role.LENDER, now=datetime.now(UTC))
    store.dispose()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{path}",
        "REDIS_URL": redis_url,
        "ORCHESTRATOR_QUEUE_NAMESPACE": redis_namespace,
        "ORCHESTRATOR_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "api", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("the API process did not start")
        yield process, port, key
    finally:
        process.terminate()
        process.wait(timeout=30)


def send(port: int, head: bytes, body: Iterator[bytes]) -> int:
    """Send a request over a raw socket (the body in a thread, as fast as the server takes
    it) and return the status line's code; the server may stop reading at any time."""
    sock = socket.create_connection(("127.0.0.1", port))

    def write() -> None:
        try:
            sock.sendall(head)
            for chunk in body:
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed: the rest is not wanted

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    received = b""
    try:
        while b"\r\n" not in received:
            data = sock.recv(65536)
            if not data:
                break
            received += data
    finally:
        sock.close()
        writer.join(timeout=30)
    assert received, "the API process closed the connection without answering"
    return int(received.split(b" ", 2)[1])


def repeated(piece: bytes, total: int) -> Iterator[bytes]:
    block = piece * (MIB // len(piece))
    for _ in range(total // len(block)):
        yield block


def test_oversized_bodies_are_refused_with_bounded_memory(api_process):
    process, port, key = api_process
    before = peak_rss(process.pid)
    auth = f"Authorization: Bearer {key}\r\n".encode()

    # 20 MB of two-byte items: within the batch route's bytes, millions over its item limit.
    items = b'{"accounts":[' + b"{}," * (20 * MIB // 3) + b"{}]}"
    head = (
        b"POST /v1/accounts:batch HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Type: "
        b"application/json\r\nContent-Length: " + str(len(items)).encode() + b"\r\n\r\n"
    )
    assert send(port, head, iter([items])) == 413

    # 64 MB declared: refused before a byte of it is read.
    head = (
        b"POST /v1/accounts:batch HTTP/1.1\r\nHost: x\r\n"
        + auth
        + b"Content-Length: "
        + str(64 * MIB).encode()
        + b"\r\n\r\n"
    )
    assert send(port, head, repeated(b"{},", 64 * MIB)) == 413

    # 64 MB chunked, to the batch route and to a webhook (unsigned): refused once past the
    # route's limit.
    for target in (b"/v1/accounts:batch", b"/v1/webhooks/twilio_sms"):
        head = (
            b"POST "
            + target
            + b" HTTP/1.1\r\nHost: x\r\n"
            + auth
            + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunks = (b"%x\r\n%s\r\n" % (len(c), c) for c in repeated(b"{},", 64 * MIB))
        assert send(port, head, chunks) == 413

    growth = peak_rss(process.pid) - before
    assert growth < GROWTH_BOUND, f"the API process grew by {growth // MIB} MiB"
    assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
