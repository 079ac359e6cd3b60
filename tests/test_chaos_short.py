"""A short chaos run (``bench/chaos.py``): the real multi-process topology on a PostgreSQL and
a Redis of its own, workers SIGKILLed, 30 % provider faults, Redis and PostgreSQL restarted
once; the independent check of the providers' journal and the store finds nothing lost,
nothing sent twice, no rule broken and every task due in a final state. The full run and
its figures are in docs/RELIABILITY.md."""

from __future__ import annotations

import json
import shutil

import pytest

from bench import chaos

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")
def test_a_short_chaos_run_loses_nothing_doubles_nothing_breaks_no_rule(capsys):
    code = chaos.main(
        [
            *("--accounts", "60", "--days", "0.05", "--speed", "240"),
            *("--workers", "2", "--threads", "2", "--kill-every", "5", "--drain", "90"),
            # Sixty accounts take a second: no separate ingest at real speed.
            "--ingest-during",
            "--json",
        ]
    )

    figures = json.loads(capsys.readouterr().out)
    assert figures["worker_kills"] >= 1
    assert figures["provider_messages"] > 0
    assert figures["tasks_lost"] == 0, figures["examples"]
    assert figures["duplicate_sends"] == 0, figures["examples"]
    assert figures["outside_window_or_over_cap"] == 0, figures["examples"]
    assert figures["not_final"] == 0, figures["examples"]
    assert code == 0
