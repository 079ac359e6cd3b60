"""The compliance engine: pure rules deciding whether, and when, a borrower may be contacted.

Public surface::

    decide(account, history, channel, at, pack, *, purpose, contact_point) -> Decision
    explain(decision) -> str
    RulePack, active_holds, Hold, HoldKind, HORIZON
    zones.resolve_zones(...), zones.derive_jurisdiction(...)

Rule packs are data (``config/compliance/*.yaml``) loaded by
:mod:`orchestrator.configuration.rulepacks`; nothing in this package reads files, the clock,
or the network.
"""

from orchestrator.compliance.engine import HORIZON, decide
from orchestrator.compliance.explain import explain
from orchestrator.compliance.holds import Hold, HoldKind, active_holds
from orchestrator.compliance.model import (
    AccountEvent,
    AccountFacts,
    ContactPointFacts,
    Decision,
    PastContact,
    Reason,
)
from orchestrator.compliance.pack import RulePack

__all__ = [
    "HORIZON",
    "AccountEvent",
    "AccountFacts",
    "ContactPointFacts",
    "Decision",
    "Hold",
    "HoldKind",
    "PastContact",
    "Reason",
    "RulePack",
    "active_holds",
    "decide",
    "explain",
]
