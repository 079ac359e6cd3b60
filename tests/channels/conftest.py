"""Fixtures for the channel tests: provider credentials in the environment, a running
sandbox, a tiny webhook receiver standing in for the orchestrator, and adapter builders."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from channels.base import WebhookRequest
from channels.sandbox import OutcomeRates, RunningSandbox, SandboxSettings, running_sandbox
from channels.signatures import public_key_b64
from orchestrator.clock import SystemClock, VirtualClock
from tests.channels.channel_support import NOW


@pytest.fixture(scope="session")
def sendgrid_keys() -> tuple[str, str]:
    """(private PEM, public base64 DER) for SendGrid's event signatures."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, public_key_b64(key)


@pytest.fixture(scope="session")
def service_account() -> dict[str, str]:
    """A Firebase service-account key file (the sandbox's token endpoint trusts it)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "lender-app",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "push@lender-app.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


@pytest.fixture(scope="module")
def credentials(
    sendgrid_keys: tuple[str, str], service_account: dict[str, str]
) -> Iterator[dict[str, str]]:
    """Every provider's credentials, set in the environment for one test module (the
    adapters and the sandbox read the same variables); restored afterwards."""
    values = {
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "twilio-auth-token-for-tests",
        "ALIYUN_ACCESS_KEY_ID": "LTAI-test-key",
        "ALIYUN_ACCESS_KEY_SECRET": "aliyun-secret-for-tests",
        "ALIYUN_CALLBACK_TOKEN": "aliyun-callback-token",
        "SENDGRID_API_KEY": "SG.test-key",
        "SENDGRID_WEBHOOK_PRIVATE_KEY": sendgrid_keys[0],
        "SENDGRID_WEBHOOK_PUBLIC_KEY": sendgrid_keys[1],
        "FCM_SERVICE_ACCOUNT_JSON": json.dumps(service_account),
        "JPUSH_APP_KEY": "jpush-app-key",
        "JPUSH_MASTER_SECRET": "jpush-master-secret",
        "DIALER_SECRET": "dialer-shared-secret",
        "LOB_API_KEY": "test_lob_key_for_tests",
        "LOB_WEBHOOK_SECRET": "lob-webhook-secret",
        "WECHAT_APP_SECRET": "wechat-app-secret",
        "WECHAT_CALLBACK_TOKEN": "wechat-callback-token",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        yield values


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(NOW)


# --- the orchestrator stand-in ---------------------------------------------------------


@dataclass
class Received:
    """Webhooks the receiver got, as :class:`WebhookRequest` s."""

    requests: list[WebhookRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, count: int, *, path: str = "", timeout: float = 10.0) -> list[WebhookRequest]:
        """Block until ``count`` requests whose URL contains ``path`` arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [r for r in self.requests if path in r.url]
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(f"only {len(found)} of {count} webhooks to {path!r} arrived")


@dataclass
class Receiver:
    url: str
    received: Received


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[Receiver]:
    """An HTTP server on an ephemeral port that answers 200 and keeps every request."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            host = self.headers.get("host")
            request = WebhookRequest(
                method="POST",
                url=f"http://{host}{self.path}",
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            with received.lock:
                received.requests.append(request)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/v1/webhooks", received)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    """The module's receiver, emptied for this test."""
    with receiver_server.received.lock:
        receiver_server.received.requests.clear()
    return receiver_server


def quiet_outcomes() -> OutcomeRates:
    """Every message delivered, nobody opts out; tests change what they study."""
    return OutcomeRates(delivered=1.0, bounced=0.0, stop_reply=0.0, returned=0.0)


@pytest.fixture(scope="module")
def sandbox_server(
    credentials: dict[str, str], receiver_server: Receiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSandbox]:
    """One sandbox per test module (starting one costs a few hundred milliseconds)."""
    settings = SandboxSettings(
        port=0,
        smtp_port=0,
        log=tmp_path_factory.mktemp("sandbox") / "sandbox.jsonl",
        callback_base=receiver_server.url,
        callback_delay_seconds=0.01,
        outcomes=quiet_outcomes(),
    )
    with running_sandbox(settings) as running:
        yield running


@pytest.fixture
def sandbox(sandbox_server: RunningSandbox, receiver: Receiver) -> RunningSandbox:
    """The module's sandbox with no messages, faults or log, and quiet borrowers."""
    sandbox_server.state.reset()
    sandbox_server.state.borrowers.rates = quiet_outcomes()
    return sandbox_server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


@pytest.fixture
def system_clock() -> SystemClock:
    return SystemClock()
