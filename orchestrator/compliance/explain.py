"""One readable line per decision, for the ledger and the account's timeline.

``blocked: us.reg_f.call_frequency_7d — 7 call attempts since 2026-03-02T14:05Z
(12 CFR 1006.14(b)(2)(i)(A)); next allowed 2026-03-09T14:05Z``
"""

from __future__ import annotations

from orchestrator.compliance.localtime import iso_minute
from orchestrator.compliance.model import Decision


def explain(decision: Decision) -> str:
    """The decision as one line: what was decided, every blocking rule with its citation,
    and when the contact would be allowed (or that it would not be)."""
    if decision.allowed:
        line = f"allowed: {decision.channel.value} at {iso_minute(decision.at)}"
        if decision.window_closes_at is not None:
            line += f"; window closes {iso_minute(decision.window_closes_at)}"
        return line
    parts = "; ".join(f"{r.rule_id} — {r.message} ({r.citation})" for r in decision.reasons)
    if decision.next_allowed_at is not None:
        tail = f"next allowed {iso_minute(decision.next_allowed_at)}"
    elif any(r.until is None for r in decision.reasons):
        tail = "no next allowed time (a block without end)"
    else:
        tail = "no allowed time within the search horizon"
    return f"blocked: {parts}; {tail}"
