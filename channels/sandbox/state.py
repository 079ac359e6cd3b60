"""Everything one running sandbox holds: its settings, log, faults, borrowers, courier, and
what each imitated provider remembers (for its lookup endpoints)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from channels.sandbox.courier import Courier
from channels.sandbox.faults import Faults
from channels.sandbox.journal import Journal
from channels.sandbox.outcomes import Borrowers
from channels.sandbox.settings import SandboxSettings
from channels.signatures import load_private_key
from orchestrator.clock import Clock


@dataclass
class SandboxState:
    """The sandbox's state.

    Parameters:
      settings: as started.
      clock: the injected clock (stamps, token expiry, signature freshness).
      sendgrid_key: the key that signs SendGrid events: ``SENDGRID_WEBHOOK_PRIVATE_KEY``
        when set, else one made for this run (its public half is served at
        ``/_sandbox/keys``).
    """

    settings: SandboxSettings
    clock: Clock
    journal: Journal
    faults: Faults
    borrowers: Borrowers
    courier: Courier
    sendgrid_key: ec.EllipticCurvePrivateKey
    smtp_port: int = 0
    twilio_messages: list[dict[str, Any]] = field(default_factory=list)
    aliyun_records: list[dict[str, Any]] = field(default_factory=list)
    aliyun_nonces: set[str] = field(default_factory=set)
    sendgrid_messages: list[dict[str, Any]] = field(default_factory=list)
    fcm_tokens: dict[str, float] = field(default_factory=dict)
    dialer_tasks: dict[str, str] = field(default_factory=dict)
    lob_letters: dict[str, dict[str, Any]] = field(default_factory=dict)
    lob_keys: dict[str, str] = field(default_factory=dict)  # Idempotency-Key → letter id
    wechat_tokens: set[str] = field(default_factory=set)
    wechat_token_fetches: int = 0
    wechat_sent: dict[str, int] = field(default_factory=dict)  # openid:client_msg_id → msgid

    @classmethod
    def build(cls, settings: SandboxSettings, clock: Clock) -> SandboxState:
        journal = Journal(settings.log)
        key_text = settings.credential("SENDGRID_WEBHOOK_PRIVATE_KEY")
        key = load_private_key(key_text) if key_text else ec.generate_private_key(ec.SECP256R1())
        faults = Faults(settings.seed)
        return cls(
            settings=settings,
            clock=clock,
            journal=journal,
            faults=faults,
            borrowers=Borrowers(settings.seed, settings.outcomes),
            courier=Courier(journal, clock, settings.callback_delay_seconds, faults),
            sendgrid_key=key,
        )

    def webhook(self, adapter: str) -> str:
        """The orchestrator's account-level webhook for one adapter."""
        return f"{self.settings.callback_base.rstrip('/')}/{adapter}"

    def credential(self, name: str) -> str | None:
        return self.settings.credential(name)

    def reset(self) -> None:
        """Forget messages, faults and the log (credentials and keys stay)."""
        self.journal.clear()
        self.faults.clear()
        self.twilio_messages.clear()
        self.aliyun_records.clear()
        self.aliyun_nonces.clear()
        self.sendgrid_messages.clear()
        self.dialer_tasks.clear()
        self.lob_letters.clear()
        self.lob_keys.clear()
        self.wechat_tokens.clear()
        self.wechat_token_fetches = 0
        self.wechat_sent.clear()


def new_id(prefix: str, hex_chars: int = 32) -> str:
    """A provider-looking id: ``SM`` + 32 hex characters and the like."""
    return prefix + secrets.token_hex(hex_chars // 2)
