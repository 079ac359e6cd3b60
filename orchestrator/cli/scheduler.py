"""``orchestrator scheduler``: plan on a schedule and queue due tasks (one active at a time)."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.console import Console

from orchestrator import logs, tracing
from orchestrator.cli import runtime
from orchestrator.metrics_dir import prepare

out = Console()


def register(app: typer.Typer) -> None:
    app.command("scheduler")(scheduler)


def scheduler(
    plan_every: float = typer.Option(
        900, help="Seconds between planning runs, on the service's clock (ORCHESTRATOR_CLOCK)."
    ),
    sweep_every: float = typer.Option(2, help="Real seconds between sweeps of due tasks."),
    lock_ttl: float = typer.Option(
        15, help="Real seconds the leader lock outlives its holder: the takeover delay."
    ),
    requeue_after: float = typer.Option(
        None,
        min=1,
        help="Seconds on the service's clock a queued task may wait before it is queued again "
        "(its message may be lost). Default: five real minutes at the clock's speed.",
        show_default=False,
    ),
) -> None:
    """Run the scheduler: plan periodically, queue tasks whose time has come.

    It plans every tenant's portfolio on a schedule and moves tasks whose send time has come
    onto the send queue.

    Run as many as you like (replicas, rolling deploys): one holds the leader lock in Redis
    and works; the others wait and take over within --lock-ttl when it dies.

    On a virtual clock (ORCHESTRATOR_CLOCK), --plan-every and --requeue-after are virtual
    time: a planning run is due when the clock says so, however fast it runs.
    """
    prepare(runtime.settings().metrics_folder)  # before prometheus-client is imported

    from channels.egress import Egress
    from orchestrator.clock import speed_of
    from orchestrator.dispatch import build_dispatch
    from orchestrator.dispatch.broker import enqueue_tasks, make_broker, send_queue
    from orchestrator.liveness import Heartbeat
    from orchestrator.metrics import track_process_exit
    from orchestrator.outbound.passes import lender_events_pass
    from orchestrator.planning.scheduler import Scheduler
    from orchestrator.services import Services

    settings = runtime.settings()
    logs.configure(level=settings.log_level, fmt=settings.log_format)
    tracing.configure("orchestrator-scheduler")
    services = Services.build(settings)
    track_process_exit()
    broker = make_broker(settings)
    queue = send_queue(settings)
    _, reconciler = build_dispatch(
        services, lambda task_id: enqueue_tasks(broker, [task_id], queue)
    )
    # The file says whether this process leads: rewritten every few seconds, and at once
    # when the lead changes hands (else it would say so up to a beat late, and a probe
    # reading two schedulers' files could find no leader, or two).
    heartbeat = Heartbeat(
        settings.heartbeat_folder,
        "scheduler",
        state=lambda: {"leader": runner.leader, "token": runner.lock.token},
    )
    runner = Scheduler(
        services.store,
        services.redis,
        services.clock,
        services.planner,
        lambda ids: enqueue_tasks(broker, ids, queue),
        namespace=settings.queue_namespace,
        plan_every=timedelta(seconds=plan_every),
        sweep_every=timedelta(seconds=sweep_every),
        lock_ttl=timedelta(seconds=lock_ttl),
        stale_queued=requeue_delay(requeue_after, speed_of(services.clock)),
        reconcile=reconciler.run,
        idempotency_ttl=timedelta(hours=settings.idempotency_ttl_hours),
        lender_events=lender_events_pass(
            services.store,
            services.clock,
            egress=Egress(allow_loopback=settings.allow_loopback_providers),
        ),
        on_leadership=lambda _: heartbeat.beat_now(),
    )
    out.print(f"scheduler {runner.lock.token} started; waiting for the leader lock")
    heartbeat.start()
    try:
        runner.run_forever()
    finally:
        heartbeat.stop()


def requeue_delay(seconds: float | None, speed: float) -> timedelta:
    """How long a queued task waits before it is queued again, on the service's clock.

    Parameters:
      seconds: ``--requeue-after``; ``None`` means five real minutes, whatever the clock's
        speed (at 288x a fixed five virtual minutes would re-queue every queued task on
        every sweep).
      speed: the clock's virtual seconds per real second.
    """
    return timedelta(seconds=seconds if seconds else 300 * speed)
