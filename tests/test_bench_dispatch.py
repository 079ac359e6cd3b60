"""``orchestrator bench dispatch`` runs end to end on a tiny workload: every task is sent
exactly once (one attempt, one ledger entry, one provider message each). No timing is
checked: the figures belong to docs/BENCHMARKS.md, not to a test."""

from __future__ import annotations

import json

from bench import dispatch


def test_every_task_is_sent_exactly_once(pg_server_url, redis_url, capsys):
    code = dispatch.main(
        [
            *("--tasks", "20", "--workers", "2", "--warmup", "2", "--timeout", "60"),
            *("--database-url", pg_server_url, "--redis-url", redis_url, "--json"),
        ]
    )

    figures = json.loads(capsys.readouterr().out)
    assert code == 0
    assert figures["exactly_once"] is True
    assert figures["sent"] == figures["attempts"] == figures["tasks_with_one_attempt"] == 20
    assert figures["ledger_sent"] == figures["provider_messages"] == 20
    assert figures["provider_recipients"] == 20
    assert figures["other_statuses"] == {}
    assert figures["dispatch_per_second"] > 0
    assert figures["bare_per_second"] > 0
