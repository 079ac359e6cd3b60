"""Reading import files: JSON Lines (one account document per line) or CSV.

CSV columns use the document's own names, dotted for nesting (``borrower.name``,
``borrower.address.country``, ``debt.amount_due``); contact points have one column per channel
(``sms``, ``call``, ``email``, ``push``; several addresses separated by ``;``) with their
flags as ``sms.consent``, ``call.consent``, ``email.workplace``...; an ``events`` column may
hold a JSON array of events. An empty cell means "not given".
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from orchestrator.domain import Channel

_FLAGS = ("consent", "workplace")
_CHANNELS = frozenset(c.value for c in Channel)
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


@dataclass(frozen=True, slots=True)
class Row:
    """One record of an import file: its line number and the document (or why it is none)."""

    line: int
    document: Any
    raw: str


class FileFormatError(ValueError):
    pass


def detect_format(path: Path, given: str | None) -> str:
    if given:
        if given not in ("csv", "jsonl"):
            raise FileFormatError(f"--format must be csv or jsonl, not {given!r}")
        return given
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise FileFormatError(
        f"cannot tell the format of {path.name} from its extension: use .csv or .jsonl, "
        "or pass --format"
    )


def count_records(path: Path, fmt: str) -> int:
    """Records in the file (for the progress bar), counting lines without parsing them."""
    with path.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return max(lines - (1 if fmt == "csv" else 0), 0)


def read_rows(path: Path, fmt: str) -> Iterator[Row]:
    return _read_jsonl(path) if fmt == "jsonl" else _read_csv(path)


def _read_jsonl(path: Path) -> Iterator[Row]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            try:
                document = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                document = _Unreadable(f"line is not valid JSON: {exc}")
            yield Row(number, document, text.decode("utf-8", "replace"))


def _read_csv(path: Path) -> Iterator[Row]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            return
        for record in reader:
            line = reader.line_num
            try:
                document: Any = csv_document(record)
            except ValueError as exc:
                document = _Unreadable(str(exc))
            yield Row(line, document, orjson.dumps(record).decode())


@dataclass(frozen=True, slots=True)
class _Unreadable:
    """A record that could not even be turned into a document; validation reports it."""

    reason: str


def csv_document(record: dict[str, str | None]) -> dict[str, Any]:
    """A CSV record (dotted column names) as an account document."""
    document: dict[str, Any] = {}
    points: dict[str, list[dict[str, Any]]] = {}
    for column, cell in record.items():
        if column is None:
            raise ValueError("the row has more cells than the header has columns")
        value = (cell or "").strip()
        head, _, flag = column.partition(".")
        if head in _CHANNELS:
            if not flag:
                points[head] = [
                    {"channel": head, "address": a.strip()} for a in value.split(";") if a.strip()
                ]
            continue
        if not value:
            continue
        if column == "events":
            try:
                document["events"] = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"events is not a JSON array: {exc}") from None
            continue
        _put(document, column.split("."), value)
    for column, cell in record.items():
        head, _, flag = (column or "").partition(".")
        if flag in _FLAGS and head in points:
            truth = (cell or "").strip().lower()
            if truth not in _TRUE | _FALSE:
                raise ValueError(f"{column} must be true or false, not {cell!r}")
            for point in points[head]:
                point[flag] = truth in _TRUE
    contact_points = [p for channel in Channel for p in points.get(channel.value, [])]
    if contact_points:
        document["contact_points"] = contact_points
    return document


def _put(target: dict[str, Any], path: list[str], value: str) -> None:
    for part in path[:-1]:
        nested = target.setdefault(part, {})
        if not isinstance(nested, dict):
            raise ValueError(f"column {'.'.join(path)} clashes with column {part}")
        target = nested
    target[path[-1]] = value


def is_unreadable(document: Any) -> str | None:
    return document.reason if isinstance(document, _Unreadable) else None
