"""The benchmarks under ``bench/`` run, at toy sizes, and report what they measured (their
figures go in docs/BENCHMARKS.md; no timing is asserted here)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PG_URL as PG


def test_plan_benchmark_plans_a_growing_portfolio_and_cleans_up(capsys):
    import sqlalchemy as sa

    if PG.lower() == "none":
        pytest.skip("TEST_POSTGRES_URL=none: the planning benchmark needs PostgreSQL")

    from bench import plan

    def schemas() -> int:
        engine = sa.create_engine(PG)
        with engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bench_%'")
            ).scalar()
        engine.dispose()
        return int(found or 0)

    before = schemas()
    assert plan.main(["--sizes", "300,600", "--database-url", PG, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)

    # Sealed as in production, then with the benchmarks' null cipher, each on its own store.
    assert [(f["portfolio"], f["sealing"]) for f in figures] == [
        (300, "on"),
        (600, "on"),
        (300, "off"),
        (600, "off"),
    ]
    on, off = figures[1], figures[3]
    assert on["read"] == off["read"]  # the same portfolio either way
    assert on["tasks"] == off["tasks"]
    for f in figures:
        assert 0 < f["read"] <= f["portfolio"]
        assert sum(f["tasks"].values()) > 0
        assert f["peak_rss_mib"] > 0
    assert schemas() <= before, "the benchmark drops its schema"


def test_plan_benchmark_refuses_sizes_that_shrink(capsys):
    from bench import plan

    with pytest.raises(SystemExit) as exit_:
        plan.main(["--sizes", "600,300"])
    assert exit_.value.code == 2
    assert "ascending" in capsys.readouterr().err


def test_simulate_benchmark_times_the_real_command(capsys):
    from bench import simulate

    assert simulate.main(["--accounts", "40", "--days", "3", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)

    assert figures["accounts"] == 40
    assert figures["seconds"] > 0
    assert sum(figures["log_lines"].values()) > 0


def test_reporting_benchmark_seeds_times_and_cleans_up(capsys):
    if PG.lower() == "none":
        pytest.skip("TEST_POSTGRES_URL=none: the reporting benchmark needs PostgreSQL")

    from bench import reporting

    assert (
        reporting.main(["--accounts", "500", "--repeat", "1", "--postgres-url", PG, "--json"]) == 0
    )
    figures = json.loads(capsys.readouterr().out)

    rows = figures["seed"]["rows"]
    assert rows["accounts"] == 500
    assert rows["tasks"] == 1500
    # One attempt per task that was not blocked; every account is in October's cohort.
    assert 0 < rows["attempts"] < rows["tasks"]
    results = figures["queries"][0]
    assert results["answer"].startswith("500 accounts")
    assert all(q["median_s"] > 0 for q in figures["queries"])


def test_rollup_writes_benchmark_times_both_modes(capsys):
    from bench import rollup_writes

    assert rollup_writes.main(["--sqlite", "--sends", "4", "--rounds", "2"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["per_mode"] == 4
    for kind in ("send", "report", "in one transaction, per attempt: insert"):
        assert figures[kind]["counting_us"] > 0
        assert figures[kind]["ceiling_us"] > 0


def test_sealing_benchmark_reports_both_modes(capsys):
    from bench import sealing

    assert sealing.main(["--accounts", "40", "--database", "sqlite", "--repeat", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines[1:]] == [["sqlite", "off"], ["sqlite", "on"]]
