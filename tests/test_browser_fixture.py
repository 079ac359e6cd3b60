"""The browser fixture itself: Debian's Chromium renders a page served on 127.0.0.1 and
refuses to fetch anything from elsewhere."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

PAGE = b"""<!doctype html><html lang="en"><title>t</title>
<button id="b" onclick="this.textContent='clicked'">press</button></html>"""


@pytest.fixture
def served():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def test_chromium_renders_and_clicks_a_local_page(page, served) -> None:
    page.goto(served)
    page.click("#b")
    assert page.text_content("#b") == "clicked"
