"""The simulated borrowers: what happens to a message after the provider accepted it.

Each decision draws from a generator seeded with the run's seed and the message's own id,
so a message's fate does not depend on the order in which requests arrived.
"""

from __future__ import annotations

import random

from channels.sandbox.settings import OutcomeRates

CALL_ENDINGS = ("human", "machine", "no-answer", "busy")
DIALER_OUTCOMES = (
    "right_party_contact",
    "promise_to_pay",
    "voicemail",
    "wrong_number",
    "dispute",
    "cease_request",
)


class Borrowers:
    """Draws outcomes.

    Parameters:
      seed: the run's seed.
      rates: the probabilities (replaceable at run time through the control API).
    """

    def __init__(self, seed: int, rates: OutcomeRates) -> None:
        self.seed = seed
        self.rates = rates

    def _rng(self, key: str) -> random.Random:
        return random.Random(f"{self.seed}:{key}")  # noqa: S311 - a simulation, not security

    def delivered(self, key: str) -> bool:
        """An SMS or push reached the handset."""
        return self._rng(f"{key}:delivered").random() < self.rates.delivered

    def bounced(self, key: str) -> bool:
        """An email hard-bounced."""
        return self._rng(f"{key}:bounced").random() < self.rates.bounced

    def returned(self, key: str) -> bool:
        """A letter is returned to the sender (the address is not deliverable)."""
        return self._rng(f"{key}:returned").random() < self.rates.returned

    def replies_stop(self, key: str) -> bool:
        """The borrower answers with an opt-out."""
        return self._rng(f"{key}:stop").random() < self.rates.stop_reply

    def call_ending(self, key: str) -> str:
        """How an automated call ends: human, machine, no-answer or busy."""
        roll = self._rng(f"{key}:call").random()
        for ending, rate in zip(
            CALL_ENDINGS[:3],
            (self.rates.call_human, self.rates.call_machine, self.rates.call_no_answer),
            strict=True,
        ):
            if roll < rate:
                return ending
            roll -= rate
        return "busy"

    def dialer_outcome(self, key: str) -> str:
        """How an agent's call ends (one of the dialer protocol's outcomes)."""
        roll = self._rng(f"{key}:dialer").random()
        for outcome in DIALER_OUTCOMES:
            rate = getattr(self.rates, f"dialer_{outcome}")
            if roll < rate:
                return outcome
            roll -= rate
        return "no_answer"
