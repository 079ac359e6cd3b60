"""What the queues and circuits look like now, read when ``/metrics`` is scraped.

Counters and histograms are counted where the work happens (in every process, added up by
the multiprocess folder); these gauges describe shared state instead, so they are read from
where that state lives, once per scrape, by whichever API process is scraped:

- the broker's send queue: messages ready, delayed (waiting for a retry) and dead-lettered,
  and on Redis the age of the oldest ready message (RabbitMQ does not tell without taking
  messages off the queue);
- the store's open tasks by status, and the age of the oldest ``queued`` task (on the
  injected clock): a task queued long ago and not yet sent is work the workers are not
  getting through, whichever broker carries it;
- each provider's circuit breaker in Redis: 0 closed, 1 half-open (a trial send is out),
  2 open; and its consecutive transient failures. A provider is listed from its first
  failure on (a provider that never failed has no state to show).

A source that does not answer is left out of the scrape (and logged), never failing it:
``/metrics`` still shows every process's counters.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import redis
import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from orchestrator.clock import Clock
from orchestrator.dispatch.broker import is_rabbitmq, send_queue
from orchestrator.domain import TaskStatus
from orchestrator.logs import get_logger
from orchestrator.settings import Settings
from orchestrator.store.db import Store
from orchestrator.store.tables import Task

log = get_logger(__name__)

OPEN_STATUSES = (TaskStatus.PLANNED, TaskStatus.QUEUED, TaskStatus.SENDING)
CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}


def _families() -> dict[str, Any]:
    return {
        "depth": GaugeMetricFamily(
            "orchestrator_queue_messages",
            "Messages on the broker's send queue: ready, delayed (a retry's wait) and dead",
            labels=["queue", "state"],
        ),
        "age": GaugeMetricFamily(
            "orchestrator_queue_oldest_message_age_seconds",
            "Age of the oldest ready message on the broker's send queue (Redis broker only)",
            labels=["queue"],
        ),
        "tasks": GaugeMetricFamily(
            "orchestrator_tasks_open",
            "Tasks not yet final, by status (planned, queued, sending)",
            labels=["status"],
        ),
        "queued_age": GaugeMetricFamily(
            "orchestrator_tasks_oldest_queued_age_seconds",
            "Age of the oldest queued task since it was queued (0 when none is queued)",
        ),
        "circuit": GaugeMetricFamily(
            "orchestrator_circuit_state",
            "Each provider's circuit breaker: 0 closed, 1 half-open, 2 open",
            labels=["provider"],
        ),
        "failures": GaugeMetricFamily(
            "orchestrator_circuit_failures",
            "A provider's consecutive transient failures (its breaker opens at its threshold)",
            labels=["provider"],
        ),
    }


def describe() -> Iterator[Metric]:
    """The families :class:`QueueCollector` exports, empty (their names and types)."""
    yield from _families().values()


class QueueCollector(Collector):
    """Parameters:
    settings: the broker, its queue names and the Redis namespace.
    store: the tasks.
    client: Redis (circuit breakers; the Redis broker's keys when it is the broker).
    clock: the injected clock the tasks' times are on.
    """

    def __init__(self, settings: Settings, store: Store, client: redis.Redis, clock: Clock):
        self.settings = settings
        self.store = store
        self.client = client
        self.clock = clock

    def describe(self) -> Iterator[Metric]:
        """The metric families, without reading anything (their names, for a registry)."""
        return describe()

    def collect(self) -> Iterator[Metric]:
        families = _families()
        for name, read in (
            ("broker", self._broker),
            ("store", self._tasks),
            ("circuits", self._circuits),
        ):
            try:
                read(families)
            except Exception as exc:  # noqa: BLE001 - a scrape never fails for one source
                log.warning("metrics source unavailable", source=name, error=str(exc))
        yield from families.values()

    def _broker(self, families: dict[str, Any]) -> None:
        queue = send_queue(self.settings)
        if is_rabbitmq(self.settings):
            counts = _rabbitmq_counts(self.settings.broker_url or "", queue)
        else:
            counts, oldest = self._redis_queue(queue)
            if oldest is not None:
                families["age"].add_metric([queue], oldest)
        for state, count in counts.items():
            families["depth"].add_metric([queue, state], count)

    def _redis_queue(self, queue: str) -> tuple[dict[str, int], float | None]:
        """Dramatiq's Redis layout: ready message ids in the list ``<ns>:<queue>`` (taken
        from its head), delayed ones on ``<queue>.DQ``, dead ones in the sorted set
        ``<queue>.XQ``; each queue's messages in the hash ``….msgs``."""
        url = self.settings.broker_url
        own = url is not None and url != self.settings.redis_url
        client = redis.Redis.from_url(url) if url is not None and own else self.client
        try:
            base = f"{self.settings.queue_namespace}:{queue}"
            pipe = client.pipeline()
            pipe.llen(base)
            pipe.llen(f"{base}.DQ")
            pipe.zcard(f"{base}.XQ")
            pipe.lindex(base, 0)
            ready, delayed, dead, head = pipe.execute()
            oldest = None
            if head is not None:
                data = client.hget(f"{base}.msgs", head)
                if data is not None:
                    from dramatiq.message import Message

                    sent_ms = Message.decode(data).message_timestamp  # type: ignore[arg-type]
                    oldest = max(0.0, time.time() - sent_ms / 1000)
            elif ready == 0:
                oldest = 0.0
            return {"ready": int(ready), "delayed": int(delayed), "dead": int(dead)}, oldest
        finally:
            if own:
                client.close()

    def _tasks(self, families: dict[str, Any]) -> None:
        with self.store.snapshot() as conn:
            counts = dict(
                conn.execute(
                    sa.select(Task.status, sa.func.count())
                    .where(Task.status.in_([s.value for s in OPEN_STATUSES]))
                    .group_by(Task.status)
                ).all()
            )
            oldest = conn.execute(
                sa.select(sa.func.min(Task.updated_at)).where(
                    Task.status == TaskStatus.QUEUED.value
                )
            ).scalar()
        for status in OPEN_STATUSES:
            families["tasks"].add_metric([status.value], int(counts.get(status.value, 0)))
        age = 0.0
        if oldest is not None:
            age = max(0.0, (self.clock.now() - _aware(oldest)).total_seconds())
        families["queued_age"].add_metric([], age)

    def _circuits(self, families: dict[str, Any]) -> None:
        prefix = f"{self.settings.queue_namespace}:breaker:"
        seen: dict[str, set[str]] = {}
        for raw in self.client.scan_iter(match=f"{prefix}*", count=500):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            provider, _, part = key[len(prefix) :].rpartition(":")
            if provider:
                seen.setdefault(provider, set()).add(part)
        for provider in sorted(seen):
            parts = seen[provider]
            state = "open" if "open" in parts else "half_open" if "trial" in parts else "closed"
            failures = self.client.get(f"{prefix}{provider}:failures") if "failures" in parts else 0
            families["circuit"].add_metric([provider], CIRCUIT_STATES[state])
            families["failures"].add_metric([provider], int(failures or 0))


def _aware(value: Any) -> Any:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _rabbitmq_counts(url: str, queue: str) -> dict[str, int]:
    """Ready messages on the send queue, its delay queue (``.DQ``) and dead letters
    (``.XQ``), by passive declares (a queue not declared yet counts 0)."""
    import pika
    import pika.exceptions

    parameters = pika.URLParameters(url)
    parameters.socket_timeout = 2
    parameters.blocked_connection_timeout = 2
    connection = pika.BlockingConnection(parameters)
    try:
        counts = {}
        for state, name in (("ready", queue), ("delayed", f"{queue}.DQ"), ("dead", f"{queue}.XQ")):
            channel = connection.channel()
            try:
                counts[state] = channel.queue_declare(queue=name, passive=True).method.message_count
            except pika.exceptions.ChannelClosedByBroker:
                counts[state] = 0
            else:
                channel.close()
        return counts
    finally:
        connection.close()
