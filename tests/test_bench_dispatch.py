"""``orchestrator bench dispatch`` runs end to end on a tiny workload, on each broker: every
task is sent exactly once (one attempt, one ledger entry, one provider message each). No
timing is checked: the figures belong to docs/BENCHMARKS.md, not to a test."""

from __future__ import annotations

import json

import pytest

from bench import dispatch


@pytest.mark.rabbitmq
def test_every_task_is_sent_exactly_once_on_both_brokers(
    pg_server_url, redis_url, rabbitmq_url, capsys
):
    code = dispatch.main(
        [
            *("--tasks", "20", "--workers", "2", "--warmup", "2", "--timeout", "60"),
            *("--database-url", pg_server_url, "--redis-url", redis_url),
            *("--rabbitmq-url", rabbitmq_url, "--json"),
        ]
    )

    runs = json.loads(capsys.readouterr().out)
    assert code == 0
    assert sorted(runs) == ["rabbitmq", "redis"]
    for broker, figures in runs.items():
        assert figures["broker"] == broker
        assert figures["exactly_once"] is True
        assert figures["sent"] == figures["attempts"] == figures["tasks_with_one_attempt"] == 20
        assert figures["ledger_sent"] == figures["provider_messages"] == 20
        assert figures["provider_recipients"] == 20
        assert figures["other_statuses"] == {}
        assert figures["dispatch_per_second"] > 0
        assert figures["bare_per_second"] > 0


def test_one_broker_can_be_measured_alone(pg_server_url, redis_url, capsys):
    code = dispatch.main(
        [
            *("--tasks", "5", "--workers", "2", "--warmup", "1", "--timeout", "60"),
            *("--database-url", pg_server_url, "--redis-url", redis_url),
            *("--broker", "redis", "--json"),
        ]
    )

    runs = json.loads(capsys.readouterr().out)
    assert code == 0
    assert list(runs) == ["redis"]
    assert runs["redis"]["exactly_once"] is True
