"""``orchestrator queue dead-letters`` and ``requeue``: a send message Dramatiq gave up on is
listed with its task and reason, and requeued onto the send queue, on both brokers.

The message fails through the broker's own retry path first (one delayed retry: RabbitMQ's
``.DQ`` queue, Redis's delay set), so the dead letter carries the traceback of its failure."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import dramatiq
import pytest
from dramatiq import Worker
from typer.testing import CliRunner

from orchestrator.cli.queue import app
from orchestrator.dispatch.broker import SEND_ACTOR, send_message, send_queue
from orchestrator.dispatch.dead_letters import list_dead_letters
from orchestrator.settings import Settings, load_settings

TASK = 4242


@pytest.fixture(params=["redis", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def settings(request, redis_url: str, redis_namespace: str) -> Settings:
    """Settings on one broker, under this test's own namespace (queues deleted afterwards)."""
    broker_url = None
    if request.param == "rabbitmq":
        broker_url = request.getfixturevalue("rabbitmq_url")
        request.getfixturevalue("rabbitmq_namespaces").append(redis_namespace)
    return load_settings(
        redis_url=redis_url, queue_namespace=redis_namespace, broker_url=broker_url
    )


@pytest.fixture
def failing_then_working(settings: Settings) -> Iterator[tuple[threading.Event, list[int]]]:
    """A worker whose send actor fails until the event is set, then records the task ids."""
    from dramatiq.brokers.redis import RedisBroker

    broker: dramatiq.Broker
    if settings.broker_url:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=settings.broker_url, confirm_delivery=True)
    else:
        broker = RedisBroker(url=settings.redis_url, namespace=settings.queue_namespace)  # type: ignore[no-untyped-call]
    healthy = threading.Event()
    sent: list[int] = []

    def send_task(task_id: int) -> None:
        if not healthy.is_set():
            raise RuntimeError("provider exploded")
        sent.append(task_id)

    dramatiq.actor(
        broker=broker,
        actor_name=SEND_ACTOR,
        queue_name=send_queue(settings),
        max_retries=1,
        min_backoff=10,
        max_backoff=20,
    )(send_task)
    worker = Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    broker.enqueue(send_message(TASK, send_queue(settings)))
    yield healthy, sent
    worker.stop(timeout=5000)
    broker.close()


def cli(settings: Settings, *args: str) -> Any:
    env = {
        "REDIS_URL": settings.redis_url,
        "BROKER_URL": settings.broker_url or "",
        "ORCHESTRATOR_QUEUE_NAMESPACE": settings.queue_namespace,
        "COLUMNS": "300",
    }
    return CliRunner().invoke(app, list(args), env=env)


def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_dead_letter_is_listed_and_requeued_onto_the_send_queue(settings, failing_then_working):
    healthy, sent = failing_then_working
    eventually(lambda: bool(list_dead_letters(settings)), "the message to be dead-lettered")

    [letter] = list_dead_letters(settings)
    assert (letter.actor, letter.task_id) == (SEND_ACTOR, TASK)
    assert letter.reason == "RuntimeError: provider exploded"
    assert letter.failed_at is not None
    listed = cli(settings, "dead-letters")
    assert listed.exit_code == 0, listed.output
    assert letter.message_id in listed.output
    assert str(TASK) in listed.output
    assert len(list_dead_letters(settings)) == 1  # listing took nothing away

    # Bad input changes nothing.
    assert cli(settings, "requeue").exit_code == 2
    unknown = cli(settings, "requeue", letter.message_id, "no-such-message")
    assert unknown.exit_code == 1
    assert "no-such-message" in unknown.output
    assert [d.message_id for d in list_dead_letters(settings)] == [letter.message_id]

    healthy.set()
    requeued = cli(settings, "requeue", letter.message_id)
    assert requeued.exit_code == 0, requeued.output
    assert letter.message_id in requeued.output
    eventually(lambda: sent == [TASK], "the requeued message to be sent")
    assert list_dead_letters(settings) == []
    assert "no dead letters" in cli(settings, "dead-letters").output
