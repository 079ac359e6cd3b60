"""Failures on demand, per provider: what the control API sets and each endpoint obeys.

An endpoint asks :meth:`Faults.draw` before it does anything; the answer is the failure to
imitate (in that provider's own format) or ``None``. Added latency is waited here; a
"timeout" hangs long past any sane client timeout without blocking other requests.

An endpoint that accepted a message hands its answer to :meth:`Faults.answer`, which may hold
it back (``late_answer_rate``): the provider has the message, but the answer arrives after the
client gave up. That is the one failure that leaves a send truly ambiguous, and the only way
to exercise dispatch's "confirm it was already sent" recovery.

A callback the courier delivered may be posted a second time, byte for byte
(``duplicate_report_rate``, :meth:`Faults.duplicate`): webhook senders deliver at least once,
and the receiver must take a replay as a no-op.
"""

from __future__ import annotations

import asyncio
import random
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

Answer = TypeVar("Answer")


class Failure(StrEnum):
    """A failure an endpoint imitates."""

    DOWN = "down"  # every request fails with 503
    ERROR = "error"  # a 5xx
    THROTTLE = "throttle"  # 429 (or the provider's flow-control code) with Retry-After
    TIMEOUT = "timeout"  # no answer until the client gives up
    PERMANENT = "permanent"  # the provider's "invalid number / unregistered" refusal


class Fault(BaseModel):
    """One provider's failure settings.

    Parameters:
      error_rate / throttle_rate / timeout_rate / permanent_rate: probabilities per request.
      retry_after_seconds: the ``Retry-After`` sent with throttling.
      late_answer_rate: probability that an accepted message's answer is held back for
        ``hang_seconds`` (accept-after-timeout: the message was sent, the client never hears).
      hang_seconds: how long a "timeout" or a late answer hangs.
      latency_ms: added to every request.
      down: the provider is fully down.
      duplicate_report_rate: probability that a delivered callback (a delivery report, a
        tracking event, a push) is posted again, unchanged.
    """

    model_config = ConfigDict(extra="forbid")

    error_rate: float = Field(0.0, ge=0, le=1)
    throttle_rate: float = Field(0.0, ge=0, le=1)
    timeout_rate: float = Field(0.0, ge=0, le=1)
    permanent_rate: float = Field(0.0, ge=0, le=1)
    late_answer_rate: float = Field(0.0, ge=0, le=1)
    retry_after_seconds: int = Field(2, ge=0)
    hang_seconds: float = Field(30.0, ge=0)
    latency_ms: int = Field(0, ge=0)
    down: bool = False
    duplicate_report_rate: float = Field(0.0, ge=0, le=1)


class Faults:
    """Fault settings per provider (adapter name), drawn from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._rng = random.Random(seed)  # noqa: S311 - a simulation, not security
        self._faults: dict[str, Fault] = {}

    def set(self, provider: str, fault: Fault) -> None:
        self._faults[provider] = fault

    def get(self, provider: str) -> Fault:
        return self._faults.get(provider, Fault())

    def all(self) -> dict[str, Fault]:
        return dict(self._faults)

    def clear(self) -> None:
        self._faults.clear()
        self._rng = random.Random(self._seed)  # noqa: S311 - a simulation, not security

    async def draw(self, provider: str) -> tuple[Failure | None, Fault]:
        """Wait the added latency, then pick this request's failure (or none)."""
        fault = self.get(provider)
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.down:
            return Failure.DOWN, fault
        roll = self._rng.random()
        for failure, rate in (
            (Failure.ERROR, fault.error_rate),
            (Failure.THROTTLE, fault.throttle_rate),
            (Failure.TIMEOUT, fault.timeout_rate),
            (Failure.PERMANENT, fault.permanent_rate),
        ):
            if roll < rate:
                if failure is Failure.TIMEOUT:
                    await asyncio.sleep(fault.hang_seconds)
                return failure, fault
            roll -= rate
        return None, fault

    async def answer(self, provider: str, reply: Answer) -> Answer:
        """Give back ``reply`` to a request whose message was accepted, after ``hang_seconds``
        when this request draws a late answer. The message stays accepted (and its reports
        go out) whether or not the client is still there to hear."""
        fault = self.get(provider)
        if fault.late_answer_rate and self._rng.random() < fault.late_answer_rate:
            await asyncio.sleep(fault.hang_seconds)
        return reply

    def duplicate(self, provider: str) -> bool:
        """Whether this delivered callback of ``provider``'s is posted once more."""
        rate = self.get(provider).duplicate_report_rate
        return bool(rate) and self._rng.random() < rate
