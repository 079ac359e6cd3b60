"""The ``orchestrator sandbox`` command function registers on a Typer app and documents
its options."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from channels.sandbox.command import sandbox


def test_help_lists_every_option() -> None:
    app = typer.Typer()
    app.command()(sandbox)
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--port", "--smtp-port", "--log", "--callback-base", "--seed", "--stop-rate"):
        assert option in result.output
