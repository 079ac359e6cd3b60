"""Dead letters: send messages Dramatiq gave up on, for an operator to inspect and requeue.

Both brokers keep them beside the send queue, under ``<queue>.XQ``: on RabbitMQ a durable
queue the send queue dead-letters into (messages expire from it after Dramatiq's
``dramatiq_dead_message_ttl``, 7 days); on Redis a sorted set of message ids plus a hash of
the messages, under the namespace. ``orchestrator queue dead-letters`` and
``orchestrator queue requeue`` read them through this module.

A requeued message starts afresh (its retry count and last traceback are dropped). Sending
it again is safe: the worker's claim in the store refuses a task that is no longer queued.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dramatiq.message import Message

from orchestrator.dispatch.broker import is_rabbitmq, send_queue
from orchestrator.settings import Settings

# What Dramatiq's retries middleware wrote into a message's options; a requeue clears them.
# (and the Redis broker's own key for the message, which it assigns again on enqueue).
_RETRY_OPTIONS = ("retries", "traceback", "requeue_timestamp", "eta", "redis_message_id")


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message, as the operator sees it.

    Attributes:
      message_id: Dramatiq's message id (what ``requeue`` takes).
      actor: the actor it was for (``send_task``).
      task_id: the task it asked to send, if the message carries one.
      batch: the tasks a batch message (``send_tasks``) asked to send.
      failed_at: when the broker dead-lettered it, if the broker says.
      reason: the last line of the last recorded traceback, or how the broker dropped it.
    """

    message_id: str
    actor: str
    task_id: int | None
    failed_at: datetime | None
    reason: str
    batch: tuple[int, ...] = ()


class UnknownDeadLetters(LookupError):
    """Some message ids given to ``requeue`` are not dead letters (nothing was requeued)."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"not in the dead letters: {', '.join(missing)}")
        self.missing = missing


def list_dead_letters(settings: Settings) -> list[DeadLetter]:
    """Every dead-lettered send message, oldest first."""
    if is_rabbitmq(settings):
        return _Rabbitmq(settings).letters()
    return _Redis(settings).letters()


def requeue(settings: Settings, message_ids: Iterable[str] | None) -> list[str]:
    """Put dead letters back on the send queue; ``None`` means all of them.

    Returns the ids requeued. Raises UnknownDeadLetters, requeuing nothing, if any id given
    is not a dead letter."""
    wanted = None if message_ids is None else list(dict.fromkeys(message_ids))
    if is_rabbitmq(settings):
        return _Rabbitmq(settings).requeue(wanted)
    return _Redis(settings).requeue(wanted)


def _describe(message: Message[Any], failed_at: datetime | None, fallback: str) -> DeadLetter:
    args = message.args
    task_id = args[0] if args and isinstance(args[0], int) else None
    batch = tuple(args[0]) if args and isinstance(args[0], list) else ()
    traceback = str(message.options.get("traceback") or "").strip()
    reason = traceback.splitlines()[-1] if traceback else fallback
    return DeadLetter(message.message_id, message.actor_name, task_id, failed_at, reason, batch)


def _fresh(message: Message[Any], queue_name: str) -> Message[Any]:
    options = {k: v for k, v in message.options.items() if k not in _RETRY_OPTIONS}
    return Message(
        queue_name=queue_name,
        actor_name=message.actor_name,
        args=message.args,
        kwargs=message.kwargs,
        options=options,
        message_id=message.message_id,
        message_timestamp=message.message_timestamp,
    )


def _check(found: Iterable[str], wanted: list[str] | None) -> list[str]:
    """The ids to requeue among ``found``, or UnknownDeadLetters."""
    found = list(found)
    if wanted is None:
        return found
    missing = [m for m in wanted if m not in set(found)]
    if missing:
        raise UnknownDeadLetters(missing)
    return wanted


class _Redis:
    """Dramatiq's Redis layout: ``<ns>:<queue>.XQ`` (keys by time) and ``….XQ.msgs``. The
    keys are the broker's own (``redis_message_id``), not Dramatiq's message ids."""

    def __init__(self, settings: Settings) -> None:
        import redis

        self.settings = settings
        self.queue = send_queue(settings)
        self.client = redis.Redis.from_url(settings.broker_url or settings.redis_url)
        self.ids_key = f"{settings.queue_namespace}:{self.queue}.XQ"
        self.messages_key = f"{self.ids_key}.msgs"

    def _entries(self) -> list[tuple[bytes, Message[Any], datetime]]:
        entries: list[tuple[bytes, Message[Any], datetime]] = []
        ranked: list[tuple[bytes, float]] = self.client.zrange(  # type: ignore[assignment]
            self.ids_key, 0, -1, withscores=True
        )
        for raw_id, score in ranked:
            data: bytes | None = self.client.hget(self.messages_key, raw_id)  # type: ignore[assignment]
            if data is not None:
                failed_at = datetime.fromtimestamp(score / 1000, UTC)
                entries.append((raw_id, Message.decode(data), failed_at))
        return entries

    def letters(self) -> list[DeadLetter]:
        return [_describe(m, at, "failed") for _, m, at in self._entries()]

    def requeue(self, wanted: list[str] | None) -> list[str]:
        from orchestrator.dispatch.broker import make_broker

        messages = {m.message_id: (key, m) for key, m, _ in self._entries()}
        chosen = _check(messages, wanted)
        broker = make_broker(self.settings)
        try:
            for message_id in chosen:
                key, message = messages[message_id]
                broker.enqueue(_fresh(message, self.queue))
                self.client.zrem(self.ids_key, key)
                self.client.hdel(self.messages_key, key)
        finally:
            broker.close()
        return chosen


class _Rabbitmq:
    """The durable ``<queue>.XQ`` the send queue dead-letters into.

    Messages are taken from it unacknowledged; the ones not requeued go back when the
    channel closes, so listing changes nothing."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queue = send_queue(settings)
        self.dead_queue = f"{self.queue}.XQ"

    def _drain(self, channel: Any) -> list[tuple[int, Message[Any], datetime | None, str]]:
        import pika.exceptions

        try:
            channel.queue_declare(queue=self.dead_queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker:
            return []  # no queue yet: nothing has ever been dead-lettered
        taken: list[tuple[int, Message[Any], datetime | None, str]] = []
        while True:
            method, properties, body = channel.basic_get(self.dead_queue, auto_ack=False)
            if method is None:
                return taken
            deaths = (properties.headers or {}).get("x-death") or [{}]
            failed_at = deaths[0].get("time")
            if isinstance(failed_at, datetime) and failed_at.tzinfo is None:
                failed_at = failed_at.replace(tzinfo=UTC)
            fallback = str(deaths[0].get("reason") or "failed")
            taken.append((method.delivery_tag, Message.decode(body), failed_at, fallback))

    def _connect(self) -> Any:
        import pika

        return pika.BlockingConnection(pika.URLParameters(self.settings.broker_url))

    def letters(self) -> list[DeadLetter]:
        connection = self._connect()
        try:
            channel = connection.channel()
            entries = self._drain(channel)
        finally:
            connection.close()  # returns every message taken to the queue
        return [_describe(message, at, fallback) for _, message, at, fallback in entries]

    def requeue(self, wanted: list[str] | None) -> list[str]:
        import pika

        connection = self._connect()
        try:
            channel = connection.channel()
            entries = {
                message.message_id: (tag, message) for tag, message, _, _ in self._drain(channel)
            }
            chosen = _check(entries, wanted)
            if chosen:
                channel.confirm_delivery()
            for message_id in chosen:
                tag, message = entries[message_id]
                channel.basic_publish(
                    exchange="",
                    routing_key=self.queue,
                    body=_fresh(message, self.queue).encode(),
                    properties=pika.BasicProperties(delivery_mode=2),
                )
                # Acknowledged only once RabbitMQ confirmed the copy: a crash in between
                # leaves a duplicate, which the store's claim makes harmless, never a loss.
                channel.basic_ack(tag)
        finally:
            connection.close()
        return chosen
