"""``orchestrator scheduler``: plan on a schedule and queue due tasks (one active at a time)."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.console import Console

from orchestrator import logs
from orchestrator.cli import runtime
from orchestrator.metrics_dir import prepare

out = Console()


def register(app: typer.Typer) -> None:
    app.command("scheduler")(scheduler)


def scheduler(
    plan_every: float = typer.Option(900, help="Seconds between planning runs."),
    sweep_every: float = typer.Option(2, help="Seconds between sweeps of due tasks."),
    lock_ttl: float = typer.Option(
        15, help="Seconds the leader lock outlives its holder: the takeover delay."
    ),
) -> None:
    """Run the scheduler: plan periodically, queue tasks whose time has come.

    It plans every tenant's portfolio on a schedule and moves tasks whose send time has come
    onto the send queue.

    Run as many as you like (replicas, rolling deploys): one holds the leader lock in Redis
    and works; the others wait and take over within --lock-ttl when it dies.
    """
    prepare(runtime.settings().metrics_folder)  # before prometheus-client is imported

    from orchestrator.broker import enqueue_tasks, make_broker
    from orchestrator.dispatch import build_dispatch
    from orchestrator.metrics import track_process_exit
    from orchestrator.scheduler import Scheduler
    from orchestrator.services import Services

    settings = runtime.settings()
    logs.configure(level=settings.log_level, fmt=settings.log_format)
    services = Services.build(settings)
    track_process_exit()
    broker = make_broker(settings.redis_url, settings.queue_namespace)
    _, reconciler = build_dispatch(services, lambda task_id: enqueue_tasks(broker, [task_id]))
    runner = Scheduler(
        services.store,
        services.redis,
        services.clock,
        services.planner,
        lambda ids: enqueue_tasks(broker, ids),
        namespace=settings.queue_namespace,
        plan_every=timedelta(seconds=plan_every),
        sweep_every=timedelta(seconds=sweep_every),
        lock_ttl=timedelta(seconds=lock_ttl),
        on_tick=reconciler.run,
        idempotency_ttl=timedelta(hours=settings.idempotency_ttl_hours),
    )
    out.print(f"scheduler {runner.lock.token} started; waiting for the leader lock")
    runner.run_forever()
