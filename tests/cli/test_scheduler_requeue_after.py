"""``orchestrator scheduler --requeue-after``: the delay before a queued task is queued again
is the operator's to choose, and by default it is five real minutes at any clock speed."""

from __future__ import annotations

from datetime import timedelta

import typer
from typer.testing import CliRunner

from orchestrator.cli import scheduler
from orchestrator.cli.scheduler import requeue_delay


def command() -> typer.Typer:
    app = typer.Typer()
    scheduler.register(app)
    return app


def test_the_option_is_documented() -> None:
    result = CliRunner().invoke(command(), ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--requeue-after" in result.output


def test_an_explicit_delay_is_used_as_given() -> None:
    assert requeue_delay(90, speed=288) == timedelta(seconds=90)


def test_the_default_is_five_real_minutes_on_any_clock() -> None:
    assert requeue_delay(None, speed=1) == timedelta(minutes=5)
    assert requeue_delay(None, speed=288) == timedelta(minutes=5 * 288)


def test_a_delay_below_one_second_is_refused() -> None:
    result = CliRunner().invoke(command(), ["--requeue-after", "0"])
    assert result.exit_code == 2
    assert "requeue-after" in result.output
