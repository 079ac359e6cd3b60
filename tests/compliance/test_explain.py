"""A decision reads as one line for the ledger and the timeline."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.compliance import decide, explain
from orchestrator.compliance.engine import HORIZON
from orchestrator.domain import Channel

from .conftest import account, utc


def test_an_allowed_decision_says_when_its_window_closes(library):
    decision = decide(account(), [], Channel.SMS, utc(2026, 6, 1, 14, 5), library.pack_for("US-NY"))
    assert explain(decision) == "allowed: sms at 2026-06-01T14:05Z; window closes 2026-06-02T01:00Z"


def test_a_blocked_decision_names_rule_citation_and_next_time(library):
    decision = decide(
        account(), [], Channel.SMS, utc(2026, 6, 1, 3, 0, 30), library.pack_for("US-NY")
    )
    line = explain(decision)
    assert line.startswith("blocked: us.reg_f.inconvenient_time — ")
    assert "(12 CFR 1006.6(b)(1)(i))" in line
    assert line.endswith("next allowed 2026-06-01T12:00Z")
    assert "\n" not in line


def test_a_block_without_end_is_said_plainly():
    from orchestrator.compliance import RulePack

    never = RulePack.model_validate(
        {
            "id": "never",
            "caps": [
                {
                    "id": "test.none",
                    "citation": "test",
                    "limit": 0,
                    "window": "1d",
                    "counts": {"channels": ["sms"], "kinds": ["attempt"]},
                }
            ],
        }
    )
    decision = decide(account(), [], Channel.SMS, utc(2026, 6, 1, 14, 0), never)
    assert decision.next_allowed_at is None
    assert explain(decision).endswith("no next allowed time (a block without end)")
    assert timedelta(days=400) == HORIZON
