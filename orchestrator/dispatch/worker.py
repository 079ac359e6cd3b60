"""The worker process: ``orchestrator worker`` runs Dramatiq on this module.

Importing it configures logging, the broker (Redis or RabbitMQ) and the send actor. The
dispatcher itself (store connections, HTTP client) is built lazily in each worker process,
after Dramatiq forks.
"""

from __future__ import annotations

import os
import threading

import dramatiq.worker

from orchestrator import logs
from orchestrator.dispatch import Dispatcher, build_dispatch
from orchestrator.dispatch.actor import declare_send_actor
from orchestrator.dispatch.broker import enqueue_tasks, make_broker, send_queue
from orchestrator.dispatch.middleware import Liveness, TaskContext
from orchestrator.metrics import track_process_exit
from orchestrator.services import Services
from orchestrator.settings import load_settings

settings = load_settings()
logs.configure(level=settings.log_level, fmt=settings.log_format)
broker = make_broker(settings)
queue = send_queue(settings)
# ``orchestrator worker`` sets the prefetch; Dramatiq read it when first imported, which
# may have been before (a forked process), so it is applied again here.
dramatiq.worker.QUEUE_PREFETCH = int(os.environ.get("dramatiq_queue_prefetch") or 0)  # noqa: SIM112
broker.add_middleware(TaskContext())
broker.add_middleware(Liveness(settings.heartbeat_folder))
track_process_exit()

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
