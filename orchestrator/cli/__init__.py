"""The ``orchestrator`` command."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="orchestrator",
    help="A compliant omnichannel collections contact orchestrator.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@app.callback()
def _root() -> None:
    """Plan, check and send collection contacts (SMS, email, push, calls) within the law."""


def main() -> None:
    app()
