"""Print-it-yourself letters: the print_batch adapter writes each letter once into its
posting day's folder, and ``orchestrator letters export`` gathers the day for the print
room in postal-code order with a manifest."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime

import httpx
from typer.testing import CliRunner

from channels.base import OutboundMessage
from channels.registry import adapter_class
from orchestrator.channel_types.addresses import PostalAddress
from orchestrator.cli.letters import app
from orchestrator.clock import VirtualClock
from orchestrator.domain import Channel

POSTED = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
PEOPLE = [
    PostalAddress("Ann Lee", "350 Fifth Avenue", "New York", "US", "10118", "NY"),
    PostalAddress("Omar Haddad", "1355 Market Street", "San Francisco", "US", "94103", "CA"),
    PostalAddress("Grace Kim", "24 Beacon Street", "Boston", "US", "02108", "MA"),
]


def adapter(spool):
    return adapter_class("print_batch").from_config(
        {"spool_dir": str(spool), "sender_name": "Example Lender",
         "sender_lines": ["1 Main Street", "Wilmington DE 19801"]},
        http=httpx.Client(), clock=VirtualClock(POSTED), path="test.print_batch",
    )  # fmt: skip


def letter(index: int) -> OutboundMessage:
    return OutboundMessage(
        attempt_ref=f"att-{index}",
        idempotency_key=f"task-{index}",
        channel=Channel.LETTER,
        to=PEOPLE[index].text(),
        subject="Final notice",
        body=f"Dear {PEOPLE[index].name},\n\nYour account is past due.",
    )


def test_a_day_is_exported_in_postal_code_order_with_a_manifest(tmp_path) -> None:
    spool = tmp_path / "spool"
    printer = adapter(spool)
    receipts = [printer.send(letter(i)) for i in range(3)]
    assert printer.send(letter(0)) == receipts[0]  # a retried task writes nothing new
    assert printer.lookup(letter(1)) == receipts[1]
    assert len(list((spool / "2026-11-30").glob("*.pdf"))) == 3

    result = CliRunner().invoke(
        app, ["export", "2026-11-30", "--spool", str(spool), "--to", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    batch = tmp_path / "out" / "letters-2026-11-30"
    with (batch / "manifest.csv").open(encoding="utf-8") as manifest:
        rows = list(csv.DictReader(manifest))
    assert [r["postal_code"] for r in rows] == ["02108", "10118", "94103"]
    assert [r["attempt_ref"] for r in rows] == ["att-2", "att-0", "att-1"]
    assert rows[0]["file"] == "0001-task-2.pdf"
    assert rows[1]["address"] == "350 Fifth Avenue / New York NY 10118"
    for row in rows:
        pdf = (batch / row["file"]).read_bytes()
        assert pdf.startswith(b"%PDF-")
        assert hashlib.sha256(pdf).hexdigest() == row["sha256"]
        assert row["pages"] == "1"
    assert "Wrote 3 letters" in result.output


def test_a_day_without_letters_says_where_they_come_from(tmp_path) -> None:
    result = CliRunner().invoke(app, ["export", "2026-11-30", "--spool", str(tmp_path)])
    assert result.exit_code == 1
    assert "print_batch" in result.output


def test_a_day_that_is_not_a_date_is_refused(tmp_path) -> None:
    result = CliRunner().invoke(app, ["export", "30/11/2026", "--spool", str(tmp_path)])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output
