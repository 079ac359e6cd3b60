"""``orchestrator results``: the service's figures as a readable table, or as CSV."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from orchestrator.reporting.results import results
from tests.reporting.history import PERIOD, build


def run(args, url):
    env = {**os.environ, "DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", "results", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


# Each run is a process that loads the configuration: once, on the embedded store, is enough
# (the figures themselves are tested on both stores in tests/reporting/).
@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_table_and_the_csv_show_the_arms(store, tenant, file_config):
    with store.transaction() as conn:
        build(conn, tenant[0])
    url = store.engine.url.render_as_string(hide_password=False)
    period = ["--from", PERIOD[0].isoformat(), "--to", PERIOD[1].isoformat()]

    table = run(["-t", "acme", *period], url)
    as_csv = run(["-t", "acme", *period, "--csv", "-"], url)
    unknown = run(["-t", "nobody", *period], url)

    assert table.returncode == 0, table.stderr
    assert "Results of acme, 2026-10-01 to 2026-10-31" in table.stdout
    assert "early_call" in table.stdout
    assert "small_balance" in table.stdout
    assert "300.00 USD" in table.stdout
    with store.snapshot() as conn:
        expected = results(
            conn,
            tenant_id=tenant[0],
            tenant="acme",
            start=PERIOD[0],
            end=PERIOD[1],
            channels=file_config.get().channels_for("acme"),
        )
    assert as_csv.stdout == expected.as_csv()
    assert unknown.returncode == 2
    assert "orchestrator tenants list" in unknown.stderr
