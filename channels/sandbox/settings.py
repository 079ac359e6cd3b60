"""What the sandbox is told at start: where to listen, where to call back, how borrowers
behave, and the credentials it checks (read from the same environment variables the
adapters read)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class OutcomeRates(BaseModel):
    """How the simulated world answers, as probabilities (each group sums to at most 1).

    Parameters:
      delivered: an SMS or push reaches the handset (else undelivered).
      bounced: an email hard-bounces (else delivered).
      stop_reply: after a delivered SMS the borrower replies STOP (退订 on Aliyun); after
        a delivered email the borrower unsubscribes.
      call_human / call_machine / call_no_answer: how an automated call ends; the rest
        is busy.
      dialer_*: how an agent's call ends; the rest is no answer.
      returned: a letter comes back to the sender (else delivered).
    """

    model_config = ConfigDict(extra="forbid")

    delivered: float = Field(0.95, ge=0, le=1)
    bounced: float = Field(0.03, ge=0, le=1)
    stop_reply: float = Field(0.0, ge=0, le=1)
    returned: float = Field(0.02, ge=0, le=1)
    call_human: float = Field(0.4, ge=0, le=1)
    call_machine: float = Field(0.3, ge=0, le=1)
    call_no_answer: float = Field(0.2, ge=0, le=1)
    dialer_right_party_contact: float = Field(0.25, ge=0, le=1)
    dialer_promise_to_pay: float = Field(0.15, ge=0, le=1)
    dialer_voicemail: float = Field(0.2, ge=0, le=1)
    dialer_wrong_number: float = Field(0.05, ge=0, le=1)
    dialer_dispute: float = Field(0.03, ge=0, le=1)
    dialer_cease_request: float = Field(0.02, ge=0, le=1)

    @model_validator(mode="after")
    def _groups_fit(self) -> OutcomeRates:
        calls = self.call_human + self.call_machine + self.call_no_answer
        dialer = sum(v for k, v in self.model_dump().items() if k.startswith("dialer_"))
        if calls > 1 + 1e-9 or dialer > 1 + 1e-9:
            raise ValueError("call_* and dialer_* rates must each sum to at most 1")
        return self


class SandboxSettings(BaseModel):
    """Everything the sandbox needs.

    Parameters:
      host / port: the HTTP listener (port 0: any free port).
      smtp_port: the SMTP listener (0: any free port).
      log: the JSON Lines file every accepted message (and every callback) is appended to.
      callback_base: the orchestrator's webhook root; account-level callbacks go to
        ``{callback_base}/{adapter name}`` (e.g. ``…/v1/webhooks/sendgrid_email``).
      seed: seeds faults and outcomes, so a run repeats.
      callback_delay_seconds: pause before each callback stage (sent, delivered, reply).
      outcomes: the simulated borrowers.
      env: where credentials are read; defaults to the process environment.
    """

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = 8900
    smtp_port: int = 8925
    log: Path = Path("var/sandbox.jsonl")
    callback_base: str = "http://127.0.0.1:8000/v1/webhooks"
    seed: int = 7
    callback_delay_seconds: float = 0.05
    outcomes: OutcomeRates = Field(default_factory=OutcomeRates)
    env: Mapping[str, str] = Field(default_factory=lambda: dict(os.environ))

    def credential(self, name: str) -> str | None:
        """One credential by its environment variable name; ``None`` when unset."""
        return self.env.get(name) or None
