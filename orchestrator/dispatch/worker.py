"""The worker process: ``orchestrator worker`` runs Dramatiq on this module.

Importing it configures logging, the broker (Redis or RabbitMQ) and the send actor. The
dispatcher itself (store connections, HTTP client) is built lazily in each worker process,
after Dramatiq forks.

SIGTERM stops a worker process gracefully: Dramatiq's threads finish the sends in flight
(each is recorded) and the messages it prefetched go back to the broker. Dramatiq reads a
*second* SIGTERM as "die now", and a stop signalled to the whole process group (systemd's
default, ``kill -TERM -PGID``, a terminal) reaches each worker process twice: once directly,
once forwarded by Dramatiq's main process. :func:`one_stop_per_signal` makes the pair one
request, so only a SIGTERM that comes later kills.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType
from typing import Any

import dramatiq.worker

from orchestrator import logs, tracing
from orchestrator.dispatch import Dispatcher, build_dispatch
from orchestrator.dispatch.actor import declare_send_actor
from orchestrator.dispatch.broker import enqueue_tasks, make_broker, send_queue
from orchestrator.dispatch.middleware import Liveness, TaskContext
from orchestrator.metrics import track_process_exit
from orchestrator.services import Services
from orchestrator.settings import load_settings

settings = load_settings()
logs.configure(level=settings.log_level, fmt=settings.log_format)
tracing.configure("orchestrator-worker")
broker = make_broker(settings)
queue = send_queue(settings)
# ``orchestrator worker`` sets the prefetch; Dramatiq read it when first imported, which
# may have been before (a forked process), so it is applied again here.
dramatiq.worker.QUEUE_PREFETCH = int(os.environ.get("dramatiq_queue_prefetch") or 0)  # noqa: SIM112
broker.add_middleware(TaskContext())
broker.add_middleware(Liveness(settings.heartbeat_folder))
track_process_exit()

# A signal to the process group and its copy forwarded by Dramatiq's main process arrive
# within milliseconds of each other; a deliberate second SIGTERM comes later.
SAME_STOP_SECONDS = 2.0


def one_stop_per_signal(signum: int = signal.SIGTERM) -> None:
    """Wrap the process's handler of ``signum`` (Dramatiq's, in a worker process) so that
    copies of one stop request arriving within :data:`SAME_STOP_SECONDS` call it once."""
    handler = signal.getsignal(signum)
    if not callable(handler) or threading.current_thread() is not threading.main_thread():
        return
    first: list[float] = []

    def handle(number: int, frame: FrameType | None) -> Any:
        now = time.monotonic()
        if first and now - first[0] < SAME_STOP_SECONDS:
            return None  # the same stop, delivered twice
        first[:] = [now]
        return handler(number, frame)

    signal.signal(signum, handle)


one_stop_per_signal()

_lock = threading.Lock()
_dispatcher: Dispatcher | None = None


def dispatcher() -> Dispatcher:
    global _dispatcher
    with _lock:
        if _dispatcher is None:
            services = Services.build(settings)
            _dispatcher, _ = build_dispatch(
                services, lambda task_id: enqueue_tasks(broker, [task_id], queue)
            )
        return _dispatcher


send_task = declare_send_actor(broker, dispatcher, queue_name=queue)
