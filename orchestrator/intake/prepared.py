"""What intake hands to the store: validated documents as rows, and what writing them did.

Shared by the generic writer (:mod:`orchestrator.intake.upsert`) and the PostgreSQL ``COPY``
path (:mod:`orchestrator.intake.postgres`), so that neither imports the other's types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class PreparedAccount:
    """A validated document turned into rows (zones resolved, jurisdiction derived)."""

    external_id: str
    row: dict[str, Any]  # the account's columns, ``document`` as JSON text
    contact_points: list[dict[str, Any]]
    events: list[dict[str, Any]]


@dataclass(slots=True)
class IntakeResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    events_added: int = 0
    account_ids: dict[str, int] = field(default_factory=dict)
    # Accounts whose plan may need to change: new or changed content, or a new event.
    touched: set[int] = field(default_factory=set)

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged
