"""Email through any SMTP relay, with the standard library's :mod:`smtplib`.

Sources:
- SMTP replies: RFC 5321 section 4.2 (2yz done, 4yz transient, 5yz permanent) and
  enhanced status codes RFC 3463 (``5.1.1`` bad mailbox, ``5.7.x`` policy).
- STARTTLS: RFC 3207; AUTH: RFC 4954; :mod:`smtplib` documentation.
- Message-ID: RFC 5322 section 3.6.4.

We generate the ``Message-ID`` ourselves and it is the provider id: it is stable per
attempt, so a retried send carries the same id and receivers' duplicate suppression helps.
SMTP has no delivery webhook (bounces come back as DSN emails to the envelope sender, which
this adapter does not read), so ``verify`` refuses every webhook and ``lookup`` is not
possible.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import field_validator

from channels.base import (
    Adapter,
    AdapterSettings,
    OutboundMessage,
    Receipt,
    secret,
)
from channels.egress import Egress, EgressRefused
from channels.transport import check_time_left
from orchestrator.domain import Channel, DeliveryStatus
from orchestrator.errors import PermanentError, ProviderError, TransientError

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# 550 (mailbox unavailable), 551 (user not local), 553 (mailbox name not allowed).
DEAD_MAILBOX_REPLIES = frozenset({550, 551, 553})


def reply_error(provider: str, code: int, text: bytes | str) -> ProviderError:
    """One SMTP reply as our error: 4yz transient, 5yz permanent, a dead mailbox marks the
    address invalid (unless the enhanced code says it was policy, ``5.7.x``)."""
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    if 400 <= code < 500:
        return TransientError(provider, str(code), message)
    dead = code in DEAD_MAILBOX_REPLIES and not message.lstrip().startswith("5.7")
    return PermanentError(provider, str(code), message, invalid_address=dead)


class SmtpSettings(AdapterSettings):
    """SMTP settings.

    Parameters:
      base_url: ``smtp://host:port`` (plain, optionally upgraded with STARTTLS) or
        ``smtps://host:port`` (implicit TLS).
      starttls: upgrade a plain connection with STARTTLS before authenticating.
      username_env / password_env: names of the variables with the relay's credentials;
        leave empty for an unauthenticated relay.
      from_address / from_name: the sender.
      message_id_domain: the right-hand side of our Message-IDs.
      list_unsubscribe: a ``mailto:`` or ``https:`` URI for the ``List-Unsubscribe`` header
        (one easy way to opt out of email, 12 CFR 1006.6(e)).
    """

    tenant_fields = AdapterSettings.tenant_fields | {"list_unsubscribe"}
    sender_fields = frozenset({"from_address", "from_name"})
    stricter: ClassVar[Mapping[str, str]] = {"starttls": "true"}

    base_url: str = "smtp://127.0.0.1:25"
    starttls: bool = False
    username_env: str = ""
    password_env: str = ""
    from_address: str
    from_name: str = ""
    message_id_domain: str = "orchestrator.local"
    list_unsubscribe: str = ""

    @field_validator("base_url")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("must look like smtp://host:port or smtps://host:port")
        return value


class SmtpEmail(Adapter):
    """Send one email per message over SMTP (a new connection each time: dispatch workers
    send from many threads and smtplib connections are not thread-safe)."""

    name = "smtp_email"
    channel = Channel.EMAIL
    Settings = SmtpSettings
    settings: SmtpSettings

    def __init__(self, settings: AdapterSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.username = (
            secret(self.settings.username_env, setting=f"{self.name}.username_env")
            if self.settings.username_env
            else ""
        )
        self.password = (
            secret(self.settings.password_env, setting=f"{self.name}.password_env")
            if self.settings.password_env
            else ""
        )
        parts = urlsplit(self.settings.base_url)
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if self.implicit_tls else 25)

    def message_id(self, message: OutboundMessage) -> str:
        """``<attempt-ref.key-digest@domain>``: stable for one attempt."""
        digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:16]
        local = _ID_UNSAFE.sub("-", message.attempt_ref)
        return f"<{local}.{digest}@{self.settings.message_id_domain}>"

    def compose(self, message: OutboundMessage) -> EmailMessage:
        """The MIME message: plain text, plus an HTML alternative when there is one."""
        email = EmailMessage()
        sender = self.settings.from_address
        email["From"] = (
            f"{self.settings.from_name} <{sender}>" if self.settings.from_name else sender
        )
        email["To"] = message.to
        email["Subject"] = message.subject or ""
        email["Date"] = format_datetime(self.clock.now())
        email["Message-ID"] = self.message_id(message)
        email["X-Attempt-Ref"] = message.attempt_ref
        if self.settings.list_unsubscribe:
            email["List-Unsubscribe"] = f"<{self.settings.list_unsubscribe}>"
        email.set_content(message.body)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        return email

    def _connect(self) -> smtplib.SMTP:
        timeout = self.settings.timeout_seconds
        if self.egress is not None:
            return self._connect_guarded(self.egress, timeout)
        if self.implicit_tls:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=timeout, context=ssl.create_default_context()
            )
        client = smtplib.SMTP(self.host, self.port, timeout=timeout)
        if self.settings.starttls:
            client.starttls(context=ssl.create_default_context())
        return client

    def _connect_guarded(self, egress: Egress, timeout: float) -> smtplib.SMTP:
        """As :meth:`_connect`, through a socket :class:`Egress` opened and checked."""
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.implicit_tls:
            client = _GuardedSMTPSSL(egress, self.host, self.port, timeout, context)
        else:
            client = _GuardedSMTP(egress, self.host, self.port, timeout)
            if self.settings.starttls:
                client.starttls(context=context)
        return client

    def send(self, message: OutboundMessage) -> Receipt:
        email = self.compose(message)
        # Inside dispatch's deadline (its lease), nothing is handed over unless a whole
        # timeout is left: checked before connecting and again before the message goes.
        check_time_left(self.name, self.settings.timeout_seconds)
        try:
            connection = self._connect()
        except EgressRefused as exc:
            raise PermanentError(self.name, "endpoint_refused", str(exc)) from None
        except (smtplib.SMTPException, OSError) as exc:
            # Nothing was handed over: the relay may be back later.
            raise TransientError(self.name, "connection", f"{type(exc).__name__}: {exc}") from None
        try:
            with connection as client:
                if self.username:
                    client.login(self.username, self.password)
                check_time_left(self.name, self.settings.timeout_seconds)
                client.send_message(
                    email, from_addr=self.settings.from_address, to_addrs=[message.to]
                )
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise reply_error(self.name, code, text) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentError(self.name, "not_supported", str(exc)) from None
        except smtplib.SMTPResponseException as exc:
            raise reply_error(self.name, exc.smtp_code, exc.smtp_error) from None
        except (smtplib.SMTPException, OSError) as exc:
            # A disconnect or timeout mid-conversation: the relay may already have taken the
            # message, so dispatch must not resend it blindly.
            raise TransientError(
                self.name, "connection", f"{type(exc).__name__}: {exc}", maybe_delivered=True
            ) from None
        return Receipt(self.name, str(email["Message-ID"]), DeliveryStatus.SENT)


class _GuardedSMTP(smtplib.SMTP):
    """smtplib's client, its socket opened by :class:`Egress` (the host checked after
    resolution and the peer after connecting)."""

    def __init__(self, egress: Egress, host: str, port: int, timeout: float) -> None:
        self.egress = egress
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.egress.connect(host, port, timeout)


class _GuardedSMTPSSL(smtplib.SMTP_SSL):
    """smtplib's implicit-TLS client, its socket opened by :class:`Egress`."""

    def __init__(
        self, egress: Egress, host: str, port: int, timeout: float, context: ssl.SSLContext
    ) -> None:
        self.egress = egress
        super().__init__(host, port, timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = self.egress.connect(host, port, timeout)
        return self.context.wrap_socket(sock, server_hostname=self._host)  # type: ignore[attr-defined]
