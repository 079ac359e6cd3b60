"""The Dramatiq broker (Redis) and the names of the queues and actors.

Only a task's id travels through Redis; the task itself lives in the store. A message that is
lost is re-sent by the scheduler's reconcile sweep; one delivered twice does nothing the
second time (the worker's claim is a compare-and-set in the store).
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.message import Message

SEND_QUEUE = "send"
SEND_ACTOR = "send_task"


def make_broker(redis_url: str, namespace: str) -> RedisBroker:
    """A Redis broker under ``namespace`` (so several deployments or test runs can share a
    Redis), made the global broker for actors declared afterwards."""
    broker = RedisBroker(url=redis_url, namespace=namespace)  # type: ignore[no-untyped-call]
    dramatiq.set_broker(broker)
    return broker


def send_message(task_id: int) -> Message[None]:
    """The message asking a worker to send task ``task_id``."""
    return Message(
        queue_name=SEND_QUEUE, actor_name=SEND_ACTOR, args=(task_id,), kwargs={}, options={}
    )


def enqueue_tasks(broker: dramatiq.Broker, task_ids: list[int]) -> None:
    for task_id in task_ids:
        broker.enqueue(send_message(task_id))
