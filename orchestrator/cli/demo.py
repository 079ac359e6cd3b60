"""``orchestrator demo``: everything in one command, on the embedded default."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    accounts: int = typer.Option(300, min=1, max=20_000, help="Sample accounts to seed."),
    days: float = typer.Option(3, min=0.1, max=30, help="Virtual days to run."),
    speed: float = typer.Option(
        1440, min=1, help="Virtual seconds per real second (1440: a day a minute)."
    ),
    data_dir: Path = typer.Option(Path("var/demo"), help="Where the demo's store and logs go."),
    port: int = typer.Option(8000, help="The API's port (another free one if taken)."),
    keep_running: bool = typer.Option(
        None,
        "--keep-running/--exit",
        help="Leave the API up after the summary (default: when run in a terminal).",
        show_default=False,
    ),
) -> None:
    """Run the whole system on a fresh embedded store and watch it work.

    Starts the API, the provider sandbox, a dispatch worker and the scheduler on one
    compressed clock; seeds a lender and a few hundred accounts (US states, China, UK,
    Australia; due dates from three days ahead to six weeks behind; some disputes, promises
    to pay, a cease request); plans, checks and sends for a few virtual days; then shows
    contacts per channel, delivery statuses, what was blocked by which rule, and how to read
    any account's timeline. Needs Redis (a private one is started if none answers).
    """
    from orchestrator.cli import runtime
    from orchestrator.demo.runner import Demo, DemoOptions

    options = DemoOptions(
        accounts=accounts,
        days=days,
        speed=speed,
        data_dir=data_dir,
        port=port,
        keep_running=sys.stdin.isatty() if keep_running is None else keep_running,
    )
    raise typer.Exit(Demo(runtime.settings(), options, Console()).run())
