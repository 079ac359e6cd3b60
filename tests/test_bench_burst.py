"""``orchestrator bench burst`` runs end to end on a tiny morning: nothing goes out before
the window opens, and every task is sent exactly once. No rate is checked: the figures
belong to docs/BENCHMARKS.md, not to a test."""

from __future__ import annotations

import json

import pytest

from bench import burst


@pytest.mark.slow
def test_the_burst_waits_for_the_window_and_sends_each_task_once(pg_server_url, redis_url, capsys):
    code = burst.main(
        [
            *("--tasks", "20", "--rate", "50", "--processes", "1", "--workers", "2"),
            *("--timeout", "120", "--database-url", pg_server_url, "--redis-url", redis_url),
            "--json",
        ]
    )

    figures = json.loads(capsys.readouterr().out)
    assert code == 0
    assert figures["before_window"] == 0
    assert figures["exactly_once"] is True
    assert figures["provider_messages"] == figures["attempts"] == 20
    assert sum(figures["per_second"]) == 20
