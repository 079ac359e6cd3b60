"""``orchestrator api``: the HTTP service."""

from __future__ import annotations

import typer
import uvicorn

from orchestrator.cli import runtime
from orchestrator.metrics_dir import prepare


def register(app: typer.Typer) -> None:
    app.command("api")(api)
    app.command("worker")(worker)


def api(
    host: str = typer.Option(None, help="Address to bind (default ORCHESTRATOR_API_HOST)."),
    port: int = typer.Option(None, help="Port (default ORCHESTRATOR_API_PORT, 8000)."),
    workers: int = typer.Option(1, help="Worker processes (PostgreSQL recommended for > 1)."),
) -> None:
    """Serve the lender API, the provider webhooks and the ops config API.

    OpenAPI at /openapi.json, interactive docs at /docs, health at /healthz.
    """
    config = runtime.settings()
    prepare(config.metrics_folder)  # before prometheus-client is imported: see metrics_dir
    runtime.open_store(config)  # fail now, with one sentence, if the store is not ready
    uvicorn.run(
        "orchestrator.api.app:from_environment",
        factory=True,
        host=host or config.api_host,
        port=port or config.api_port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


def worker(
    processes: int = typer.Option(2, help="Worker processes."),
    threads: int = typer.Option(8, help="Threads per process (sends wait on providers)."),
    shutdown_timeout: float = typer.Option(
        120,
        min=1,
        help="On SIGTERM, real seconds the sends in flight get to finish and be recorded "
        "before the process exits anyway (what is still unfinished is reconciled after its "
        "lease). Keep it longer than channels.yaml's longest send and shorter than your "
        "orchestrator's stop grace period.",
    ),
) -> None:
    """Run dispatch workers: claim, re-check every rule, send, record.

    Each worker claims queued tasks, checks every rule again and reserves the contact in one
    transaction, sends through the channel's providers and records the outcome.

    Run as many as you like, on as many machines: a task is claimed by one worker only, and
    a worker killed mid-send neither loses the task nor sends it twice. Their metrics are
    served by the API on the same host (ORCHESTRATOR_METRICS_DIR, see docs/operations.md).

    SIGTERM stops it gracefully: it takes no new message, finishes and records the sends in
    flight, and hands the messages it holds back to the broker. `orchestrator alive worker`
    is its liveness probe (docs/deployment.md).
    """
    import os
    import sys

    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    config = runtime.settings()
    # Dramatiq's prefetch is per process; ours is per thread (ORCHESTRATOR_WORKER_PREFETCH).
    # Dramatiq reads the lower-case name.
    prefetch = str(threads * config.prefetch_per_thread)
    os.environ["dramatiq_queue_prefetch"] = prefetch  # noqa: SIM112
    prepare(config.metrics_folder)  # every worker process inherits it
    # Only now: the dispatch package imports prometheus-client, which must see the folder.
    from orchestrator.dispatch.broker import send_queue

    runtime.open_store(config)
    runtime.open_redis(config)
    arguments = make_argument_parser().parse_args(  # type: ignore[no-untyped-call]
        [
            "orchestrator.dispatch.worker",
            "--processes",
            str(processes),
            "--threads",
            str(threads),
            "--queues",
            send_queue(config),
            "--skip-logging",
            "--worker-shutdown-timeout",
            str(int(shutdown_timeout * 1000)),
        ]
    )
    sys.exit(dramatiq_main(arguments))  # type: ignore[no-untyped-call]
