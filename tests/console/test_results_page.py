"""The results page: champion against each challenger per segment over a chosen period,
with each challenger's difference from the champion, and a CSV with the same figures (the
hand-built history of tests/reporting/history.py, whose figures tests/reporting/test_results.py
works out by hand)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from orchestrator.reporting.results import results
from tests.console.conftest import shoot, sign_in
from tests.reporting.history import PERIOD, build


def _cell(page, segment: str, figure: str, arm: str) -> str:
    return page.locator(
        f"table[data-segment='{segment}'] tr[data-figure='{figure}'] td[data-arm='{arm}']"
    ).inner_text()


def test_results_show_each_arm_against_the_champion_and_the_csv_says_the_same(page, console):
    with console.store.transaction() as conn:
        build(conn, console.tenant_id)
    name, password = console.user("viewer")
    sign_in(page, console, name, password, "/console/results")
    # By default the current calendar month (the clock says 2026-11-02).
    assert page.input_value("#month") == "2026-11"
    assert page.input_value("#from") == "2026-11-01"
    assert page.input_value("#to") == "2026-12-01"
    assert "Not a calendar month" not in page.locator("#period").inner_text()

    # Any other period by its dates: counted from the rows, and said so.
    page.fill("#from", "2026-10-02")
    page.fill("#to", PERIOD[1].isoformat())
    page.click("#show-period")
    assert "2026-10-02 to 2026-10-31 inclusive" in page.locator("#period").inner_text()
    assert "Not a calendar month" in page.locator("#period").inner_text()
    assert page.input_value("#month") == ""

    page.select_option("#month", "2026-10")
    page.click("#show-month")
    assert "2026-10-01 to 2026-10-31 inclusive" in page.locator("#period").inner_text()
    assert page.input_value("#from") == PERIOD[0].isoformat()

    standard = page.locator("table[data-segment='standard'] thead").inner_text()
    assert "champion" in standard
    assert "early_call vs champion" in standard
    assert _cell(page, "standard", "accounts", "champion") == "2"
    assert _cell(page, "standard", "contact rate", "champion").startswith("50.0%\n1 of 2")
    assert _cell(page, "standard", "kept-promise rate", "early_call").startswith("0.0%\n0 of 1")
    assert _cell(page, "standard", "collected, USD", "champion") == "300.00"
    row = page.locator("table[data-segment='standard'] tr[data-figure='contact rate']")
    assert "−50.0 pp" in row.inner_text()  # early_call reached none of its one account
    money = page.locator("table[data-segment='standard'] tr[data-figure='collected, USD']")
    assert "−200.00" in money.inner_text()
    push = page.locator("table[data-segment='small_balance'] tr[data-figure='push: messages']")
    assert "1 unpriced" in push.inner_text()
    shoot(page, "results")

    with page.expect_download() as download:
        page.click("#csv")
    sent = download.value
    assert sent.suggested_filename == "results-acme-2026-10-01-2026-11-01.csv"
    text = Path(sent.path()).read_text(encoding="utf-8")
    with console.store.snapshot() as conn:
        expected = results(
            conn,
            tenant_id=console.tenant_id,
            tenant="acme",
            start=PERIOD[0],
            end=PERIOD[1],
            channels=console.services.config.get().channels_for("acme"),
        )
    assert text == expected.as_csv()
    rows = {(r["segment"], r["arm"]): r for r in csv.DictReader(io.StringIO(text))}
    assert rows[("standard", "champion")]["collected_USD"] == "300.00"
    assert rows[("standard", "champion")]["contact_rate"] == "0.5"

    # A reversed period is named, and nothing is shown for it.
    page.fill("#from", "2026-11-01")
    page.fill("#to", "2026-10-01")
    page.click("#show-period")
    assert "must be after from" in page.locator("#to-error").inner_text()
    assert page.locator("table.results").count() == 0
