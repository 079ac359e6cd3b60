"""An SMTP server (aiosmtpd) on its own port, in the sandbox's event loop.

Accepts mail like a relay, records each message (``X-Attempt-Ref`` and ``Message-ID``
included) to the journal, and obeys the ``smtp_email`` faults in the SMTP way: throttling
``451 4.7.1``, errors ``421 4.3.2``, permanent ``550 5.1.1`` (also for any recipient whose
local part is ``unknown`` or starts with ``bounce``), timeouts by not answering. When
``SMTP_USERNAME`` and ``SMTP_PASSWORD`` are set it requires AUTH (PLAIN/LOGIN) with them.
"""

from __future__ import annotations

import asyncio
import warnings
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from channels.sandbox.faults import Failure
from channels.sandbox.state import SandboxState
from channels.signatures import same_secret

REPLIES = {
    Failure.DOWN: "421 4.3.2 Service not available, closing transmission channel",
    Failure.ERROR: "421 4.3.2 Service not available, closing transmission channel",
    Failure.THROTTLE: "451 4.7.1 Too many messages, slow down",
    Failure.PERMANENT: "550 5.1.1 Mailbox unknown",
    Failure.TIMEOUT: "451 4.4.2 Timeout",
}


def _plain_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content().strip() if part is not None else ""


class Relay:
    """The aiosmtpd handler."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        failure, _ = await self.state.faults.draw("smtp_email")
        if failure:
            return REPLIES[failure]
        local = address.split("@", 1)[0].lower()
        if local == "unknown" or local.startswith("bounce"):
            return "550 5.1.1 Mailbox unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        message_id = str(message.get("Message-ID", ""))
        for recipient in envelope.rcpt_tos:
            self.state.journal.message(
                "smtp_email",
                at=self.state.clock.now(),
                to=recipient,
                body=_plain_text(message),
                attempt_ref=message.get("X-Attempt-Ref"),
                provider_message_id=message_id,
                subject=str(message.get("Subject", "")),
                sender=envelope.mail_from,
            )
        return await self.state.faults.answer("smtp_email", "250 2.0.0 OK queued")


class Credentials:
    """aiosmtpd authenticator checking one user and password."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if (
            isinstance(auth_data, LoginPassword)
            and same_secret(self.user, auth_data.login.decode())
            and same_secret(self.password, auth_data.password.decode())
        ):
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


async def start_smtp(state: SandboxState, host: str, port: int) -> asyncio.Server:
    """Listen on ``host:port`` (0: any free port) and record the port in ``state``."""
    user, password = state.credential("SMTP_USERNAME"), state.credential("SMTP_PASSWORD")
    relay = Relay(state)

    def protocol() -> SMTP:
        if user and password:
            # The sandbox listens on loopback only; requiring TLS for AUTH would make every
            # client carry a test certificate, so aiosmtpd's warning about it is silenced.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                return SMTP(
                    relay,
                    hostname="sandbox.local",
                    authenticator=Credentials(user, password),
                    auth_required=True,
                    auth_require_tls=False,
                )
        return SMTP(relay, hostname="sandbox.local")

    server = await asyncio.get_running_loop().create_server(protocol, host, port)
    state.smtp_port = server.sockets[0].getsockname()[1]
    return server
