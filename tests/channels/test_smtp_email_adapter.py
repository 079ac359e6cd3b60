"""SMTP through the sandbox's aiosmtpd relay: the MIME message we compose, our Message-ID,
and SMTP replies mapped to our errors (550 mailbox unknown marks the address)."""

from __future__ import annotations

import httpx
import pytest

from channels.smtp_email import reply_error
from orchestrator.domain import Channel
from orchestrator.errors import PermanentError, TransientError
from tests.channels.channel_support import build, message


def email(**overrides):
    fields = {
        "channel": Channel.EMAIL,
        "to": "ann@example.org",
        "subject": "Past due",
        "html": "<p>Hi</p>",
    }
    fields.update(overrides)
    return message(**fields)


def smtp(sandbox, **extra):
    return {
        "base_url": f"smtp://{sandbox.smtp_host}:{sandbox.smtp_port}",
        "from_address": "n@acme.example",
        **extra,
    }


def test_message_id_is_stable_per_attempt(sandbox, http, clock) -> None:
    adapter = build("smtp_email", smtp(sandbox, message_id_domain="acme.example"), http, clock)
    first = adapter.send(email())
    again = adapter.send(email())
    other = adapter.send(email(attempt_ref="att-2", idempotency_key="task-2"))
    assert first.provider_message_id == again.provider_message_id
    assert first.provider_message_id != other.provider_message_id
    assert first.provider_message_id.startswith("<att-0001.")
    assert first.provider_message_id.endswith("@acme.example>")


def test_composed_message_has_text_html_and_unsubscribe(sandbox, http, clock) -> None:
    adapter = build(
        "smtp_email",
        smtp(sandbox, from_name="Acme", list_unsubscribe="mailto:u@acme.example"),
        http,
        clock,
    )
    composed = adapter.compose(email())
    assert composed["From"] == "Acme <n@acme.example>"
    assert composed["List-Unsubscribe"] == "<mailto:u@acme.example>"
    assert composed["X-Attempt-Ref"] == "att-0001"
    assert composed["Date"] == "Mon, 02 Mar 2026 14:05:00 +0000"
    assert [part.get_content_type() for part in composed.iter_parts()] == [
        "text/plain",
        "text/html",
    ]


def test_unknown_mailbox_is_permanent_and_invalid(sandbox, http, clock) -> None:
    adapter = build("smtp_email", smtp(sandbox), http, clock)
    with pytest.raises(PermanentError) as caught:
        adapter.send(email(to="unknown@example.org"))
    assert caught.value.code == "550"
    assert caught.value.invalid_address


def test_greylisting_is_transient(sandbox, http, clock) -> None:
    httpx.put(f"{sandbox.base_url}/_sandbox/faults/smtp_email", json={"throttle_rate": 1.0})
    with pytest.raises(TransientError) as caught:
        build("smtp_email", smtp(sandbox), http, clock).send(email())
    assert caught.value.code == "451"


def test_a_relay_that_is_not_listening_is_transient(credentials, http, clock) -> None:
    adapter = build(
        "smtp_email",
        {"base_url": "smtp://127.0.0.1:9", "from_address": "n@acme.example"},
        http,
        clock,
    )
    with pytest.raises(TransientError):
        adapter.send(email())


@pytest.mark.parametrize(
    ("code", "text", "kind", "invalid"),
    [
        (550, "5.1.1 User unknown", PermanentError, True),
        (551, "User not local", PermanentError, True),
        (553, "Mailbox name not allowed", PermanentError, True),
        (550, "5.7.1 Message rejected as spam", PermanentError, False),
        (552, "Mailbox full", PermanentError, False),
        (554, "Transaction failed", PermanentError, False),
        (421, "Service not available", TransientError, False),
        (450, "Mailbox busy", TransientError, False),
        (452, "Insufficient storage", TransientError, False),
    ],
)
def test_smtp_replies_map_to_our_errors(code, text, kind, invalid) -> None:
    error = reply_error("smtp_email", code, text.encode())
    assert isinstance(error, kind)
    if isinstance(error, PermanentError):
        assert error.invalid_address is invalid


def test_authentication_against_a_relay_that_requires_it(
    credentials, tmp_path, http, clock, monkeypatch
) -> None:
    from channels.sandbox import SandboxSettings, running_sandbox

    monkeypatch.setenv("SMTP_USERNAME", "relay-user")
    monkeypatch.setenv("SMTP_PASSWORD", "relay-pass")
    settings = SandboxSettings(port=0, smtp_port=0, log=tmp_path / "s.jsonl")
    with running_sandbox(settings) as running:
        good = build(
            "smtp_email",
            smtp(running, username_env="SMTP_USERNAME", password_env="SMTP_PASSWORD"),
            http,
            clock,
        )
        good.send(email())
        monkeypatch.setenv("SMTP_PASSWORD", "wrong")
        bad = build(
            "smtp_email",
            smtp(running, username_env="SMTP_USERNAME", password_env="SMTP_PASSWORD"),
            http,
            clock,
        )
        with pytest.raises(PermanentError) as caught:
            bad.send(email())
        assert caught.value.code == "535"
        anonymous = build("smtp_email", smtp(running), http, clock)
        with pytest.raises(PermanentError):
            anonymous.send(email())
