"""``orchestrator bench``: the benchmarks under ``bench/`` (run from a checkout)."""

from __future__ import annotations

import importlib

import typer
from rich.console import Console

app = typer.Typer(
    help=(
        "Run the benchmarks (figures in docs/BENCHMARKS.md).\n\n"
        "Each reports its figures and, where there is one, the ceiling measured in the same "
        "run. Arguments after the name go to the benchmark: "
        "[bold]orchestrator bench ingest --help[/bold]."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)
err = Console(stderr=True, soft_wrap=True)

BENCHMARKS = {
    "ingest": "accounts through POST /v1/accounts:batch on the real server (SQLite, PostgreSQL)",
    "decide": "compliance decisions per second and p99 latency, one core",
    "plan": "planning a generated portfolio on PostgreSQL, 10k to 1M accounts",
    "dispatch": "end-to-end sends to the sandbox vs one HTTP request a message, by batch size, "
    "on Redis and RabbitMQ",
    "burst": "the morning burst: thousands of SMS at 08:00 smoothed to a provider's rate limit",
    "simulate": "orchestrator simulate on a generated portfolio, wall clock",
    "reporting": "the results and the overview's reads over a seeded portfolio on PostgreSQL",
    "rollup_writes": "what the overview's counting triggers cost sends and delivery reports",
    "chaos": "the multi-process stack broken while it works; the invariants checked after",
    "sealing": "what sealing personal data at rest costs intake's write and planning's read, "
    "per account, in one process (the end-to-end benchmarks take --sealing on|off|both)",
}


def _runner(name: str, summary: str) -> None:
    @app.command(
        name,
        help=summary,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
    )
    def run(ctx: typer.Context) -> None:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError:
            err.print(
                f"[bold red]error:[/] bench/{name}.py is not importable: benchmarks run from a "
                "checkout of the repository installed with `pip install -e .`."
            )
            raise typer.Exit(2) from None
        raise typer.Exit(module.main(list(ctx.args)))


for _name, _summary in BENCHMARKS.items():
    _runner(_name, _summary)
