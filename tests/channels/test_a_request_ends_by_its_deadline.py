"""A request made inside :func:`channels.transport.deadline` (dispatch's: a send's lease less
a second) is not written to the wire unless its whole timeout is left, however long it
waited before that: for a connection from the shared pool, or for the adapter's own work.
httpx's timeout bounds each phase on its own, so before, a request could wait most of its
timeout for a pooled connection and then be written, and waited for, a whole timeout more:
past the lease, where the reconciler may already have asked the provider about it."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from channels import transport
from orchestrator.errors import TransientError


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[str] = []

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up on its answer (the timeouts tested here)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.seen.append(self.path)  # type: ignore[attr-defined]
        if self.path.startswith("/slow"):
            time.sleep(float(self.path.rsplit("/", 1)[-1]))
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    running = _Server()
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()


def _url(server, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_a_request_that_waited_for_a_pooled_connection_past_its_deadline_is_not_sent(server):
    http = httpx.Client(limits=httpx.Limits(max_connections=1))
    try:
        # Another send holds the only connection for 1.5 s.
        holder = threading.Thread(
            target=transport.call,
            args=("p", http, "GET", _url(server, "/slow/1.5")),
            kwargs={"timeout": 10},
        )
        holder.start()
        while not server.seen:
            time.sleep(0.01)
        ends = time.monotonic() + 3.5  # 3.5 s left: enough for a try of 3 s, when it starts
        with (
            transport.deadline(lambda: ends - time.monotonic()),
            pytest.raises(TransientError) as raised,
        ):
            transport.call("p", http, "GET", _url(server, "/fast"), timeout=3)
        holder.join(10)
    finally:
        http.close()
    # It got the connection after ~1.5 s, with ~2 s left: less than its 3 s timeout, so it
    # was never written (before: sent, and its answer waited for until ~4.5 s, past the end).
    # (On a machine stalled for seconds the pool's own timeout may come first: not sent
    # either.)
    assert raised.value.code in (transport.NO_TIME_LEFT, "connection"), raised.value
    assert not raised.value.maybe_delivered
    assert server.seen == ["/slow/1.5"]


def test_with_time_enough_a_request_goes_as_before(server):
    with httpx.Client() as http:
        ends = time.monotonic() + 30
        with transport.deadline(lambda: ends - time.monotonic()):
            assert transport.call("p", http, "GET", _url(server, "/fast"), timeout=3).text == "ok"
            with pytest.raises(TransientError) as raised:  # its own timeout still holds
                transport.call("p", http, "GET", _url(server, "/slow/2"), timeout=0.5)
        assert raised.value.code == "timeout"
        assert raised.value.maybe_delivered
        # Less than its timeout left before it starts: not sent.
        with transport.deadline(lambda: 0.2), pytest.raises(TransientError) as raised:
            transport.call("p", http, "GET", _url(server, "/fast"), timeout=3)
        assert raised.value.code == transport.NO_TIME_LEFT
        # No deadline: as before.
        assert transport.call("p", http, "GET", _url(server, "/fast"), timeout=3).text == "ok"
    assert server.seen == ["/fast", "/slow/2", "/fast"]
