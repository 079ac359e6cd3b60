"""The Dramatiq broker (Redis, or RabbitMQ in production) and the names of the queues and actors.

Only tasks' ids travel through the broker; the tasks themselves live in the store. Due tasks
go in batches (``send_tasks``, up to :data:`BATCH_SIZE` ids a message), which a worker
reserves in one transaction and sends concurrently; a task retried after a backoff goes
alone (``send_task``). A message
that is lost is re-sent by the scheduler's reconcile sweep; one delivered twice does nothing
the second time (the worker's claim is a compare-and-set in the store).

``BROKER_URL`` chooses: ``amqp://…`` is RabbitMQ (durable queues, delayed retries on its
``.DQ`` queues, dead letters on ``.XQ``); unset or ``redis://…`` is Redis on ``REDIS_URL``
(or on the URL given). ORCHESTRATOR_QUEUE_NAMESPACE isolates deployments and test runs on
both: a Redis key namespace, or a prefix of RabbitMQ's queue names (RabbitMQ has no
namespaces of its own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.message import Message

from orchestrator.dispatch.middleware import add_trace_context

if TYPE_CHECKING:
    from orchestrator.settings import Settings

SEND_QUEUE = "send"
SEND_ACTOR = "send_task"
SEND_BATCH_ACTOR = "send_tasks"
# Task ids a message carries: chosen from bench/dispatch.py's figures by batch size
# (docs/BENCHMARKS.md).
BATCH_SIZE = 20
_AMQP_SCHEMES = ("amqp://", "amqps://")


def is_rabbitmq(settings: Settings) -> bool:
    """Whether ``settings`` choose RabbitMQ (``BROKER_URL=amqp://…``)."""
    return (settings.broker_url or "").startswith(_AMQP_SCHEMES)


def send_queue(settings: Settings) -> str:
    """The send queue's name: ``send`` on Redis (the namespace is in its keys), and
    ``<namespace>.send`` on RabbitMQ, where queue names are global to the virtual host."""
    if is_rabbitmq(settings):
        return f"{settings.queue_namespace}.{SEND_QUEUE}"
    return SEND_QUEUE


def make_broker(settings: Settings) -> dramatiq.Broker:
    """The broker ``settings`` choose (see the module's docstring), made the global broker
    for actors declared afterwards."""
    broker: dramatiq.Broker
    if is_rabbitmq(settings):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        # Publisher confirms: an enqueue returns once RabbitMQ has the message, so a task the
        # scheduler marked queued is on a durable queue, not in a socket buffer.
        broker = RabbitmqBroker(url=settings.broker_url, confirm_delivery=True)
    else:
        url = settings.broker_url or settings.redis_url
        broker = RedisBroker(url=url, namespace=settings.queue_namespace)  # type: ignore[no-untyped-call]
    add_trace_context(broker)
    dramatiq.set_broker(broker)
    return broker


def send_message(task_id: int, queue_name: str = SEND_QUEUE) -> Message[None]:
    """The message asking a worker to send task ``task_id``."""
    return Message(
        queue_name=queue_name, actor_name=SEND_ACTOR, args=(task_id,), kwargs={}, options={}
    )


def batch_message(task_ids: list[int], queue_name: str = SEND_QUEUE) -> Message[None]:
    """The message asking a worker to send the tasks ``task_ids`` together."""
    return Message(
        queue_name=queue_name,
        actor_name=SEND_BATCH_ACTOR,
        args=(list(task_ids),),
        kwargs={},
        options={},
    )


def enqueue_tasks(
    broker: dramatiq.Broker,
    task_ids: list[int],
    queue_name: str = SEND_QUEUE,
    *,
    batch_size: int = BATCH_SIZE,
) -> None:
    """Put ``task_ids`` on the send queue, ``batch_size`` to a message, in the order given
    (the sweep gives them earliest first)."""
    for start in range(0, len(task_ids), batch_size):
        broker.enqueue(batch_message(task_ids[start : start + batch_size], queue_name))
