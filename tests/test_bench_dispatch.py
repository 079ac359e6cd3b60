"""``orchestrator bench dispatch`` runs end to end on a tiny workload, on each broker and at
two batch sizes: every task is sent exactly once (one attempt, one ledger entry, one provider
message each), and each broker is measured against ceilings of its own. No timing is
checked: the figures belong to docs/BENCHMARKS.md, not to a test."""

from __future__ import annotations

import json
import secrets

import pika
import pika.exceptions
import pytest

from bench import dispatch


def toy(pg_server_url: str, redis_url: str, *extra: str) -> list[str]:
    return [
        *("--tasks", "10", "--batch-sizes", "5,1", "--workers", "2", "--warmup", "2"),
        *("--timeout", "60", "--sandbox", "thread", "--json"),
        *("--database-url", pg_server_url, "--redis-url", redis_url),
        *extra,
    ]


def assert_exactly_once(figures: dict, tasks: int = 10) -> None:
    assert figures["exactly_once"] is True
    assert [run["batch_size"] for run in figures["runs"]] == [5, 1]
    for run in figures["runs"]:
        assert run["sent"] == run["attempts"] == run["tasks_with_one_attempt"] == tasks
        assert run["ledger_sent"] == run["provider_messages"] == tasks
        assert run["provider_recipients"] == tasks
    assert figures["other_statuses"] == {}
    assert figures["dispatch_per_second"] > 0
    assert figures["ceiling_per_second"] > 0
    assert figures["bare_per_second"] > 0


@pytest.mark.slow
@pytest.mark.rabbitmq
def test_every_task_is_sent_exactly_once_on_both_brokers(
    pg_server_url, redis_url, rabbitmq_url, rabbitmq_namespaces, capsys
):
    prefix = f"test-bench-{secrets.token_hex(4)}"
    # The bench deletes its queues itself (checked below); the fixture would otherwise.
    rabbitmq_namespaces.append(f"{prefix}-rabbitmq")

    code = dispatch.main(
        toy(
            *(pg_server_url, redis_url, "--rabbitmq-url", rabbitmq_url, "--namespace", prefix),
            *("--sealing", "on"),
        )
    )

    runs = json.loads(capsys.readouterr().out)
    assert code == 0
    assert sorted(runs) == ["rabbitmq", "redis"]
    for broker, figures in runs.items():
        assert figures["broker"] == broker
        assert_exactly_once(figures)
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    try:
        for name in (f"{prefix}-rabbitmq.send", f"{prefix}-rabbitmq-bare.bare"):
            with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="NOT_FOUND"):
                connection.channel().queue_declare(name, passive=True)
    finally:
        connection.close()


def test_one_broker_can_be_measured_alone_sealed_and_unsealed(pg_server_url, redis_url, capsys):
    code = dispatch.main(toy(pg_server_url, redis_url, "--broker", "redis"))

    runs = json.loads(capsys.readouterr().out)
    assert code == 0
    assert list(runs) == ["redis", "redis-unsealed"]
    assert [runs[name]["sealing"] for name in runs] == ["on", "off"]
    for figures in runs.values():
        assert_exactly_once(figures)
    # One pair of ceilings per broker, measured once and compared against by both runs.
    assert runs["redis"]["ceiling_seconds"] == runs["redis-unsealed"]["ceiling_seconds"]
