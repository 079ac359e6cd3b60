"""``orchestrator alive``: the liveness probe of workers and schedulers on this host."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from orchestrator.cli import runtime

out = Console()
err = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("alive")(alive)


def alive(
    role: str = typer.Argument(
        None, help="worker or scheduler; omitted: list every heartbeat on this host."
    ),
    within: float = typer.Option(
        30, min=1, help="Seconds a heartbeat may be old (they are written every 5)."
    ),
) -> None:
    """Exit 0 when a ROLE process on this host has a fresh heartbeat, 1 when none has.

    Workers and schedulers write a heartbeat file every five seconds in
    ORCHESTRATOR_DATA_DIR/heartbeats and remove it when they stop cleanly. This reads the
    files only: it needs neither Redis nor the database, so a container's healthcheck built
    on it never restarts healthy processes during an outage of either. The API has its own
    probes: GET /livez and GET /readyz.

    Examples: `orchestrator alive worker` (a healthcheck), `orchestrator alive` (a table).
    """
    from orchestrator.liveness import ROLES, alive, beats

    folder = runtime.settings().heartbeat_folder
    now = time.time()
    if role is None:
        found = beats(folder)
        if not found:
            out.print(f"no heartbeats in {folder}")
            raise typer.Exit(1)
        table = Table("role", "pid", "host", "last beat", "age", "state")
        for beat in found:
            table.add_row(
                beat.role,
                str(beat.pid),
                beat.host,
                datetime.fromtimestamp(beat.at, UTC).isoformat(timespec="seconds"),
                f"{beat.age(now):.0f} s",
                ", ".join(f"{k}={v}" for k, v in beat.state.items()) or "-",
            )
        out.print(table)
        return
    if role not in ROLES:
        err.print(f"[bold red]error:[/] ROLE must be {' or '.join(ROLES)}, not {role!r}")
        raise typer.Exit(2)
    live = alive(folder, role, within, now=now)
    if not live:
        err.print(
            f"no {role} on this host has beaten in the last {within:g} s (folder {folder}): "
            f"start `orchestrator {role}`, or look at its log for why it stopped"
        )
        raise typer.Exit(1)
    out.print(f"{len(live)} {role} process(es) alive: " + ", ".join(str(b.pid) for b in live))
