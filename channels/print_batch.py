"""Letters a lender prints and posts itself: each one written as a PDF into the day's batch.

The adapter sits where a print-and-mail API would, so a letter passes the same checks at
send (holds, caps, the address not returned), is written once (the file is named by the
task's idempotency key, so a retried send finds it and writes nothing new) and lands in the
ledger as ``sent`` on its posting day. ``orchestrator letters export`` then gathers a day's
batch for the print room: the PDFs in postal-code order and a ``manifest.csv``.

Layout on disk::

    {spool_dir}/{posting day}/{idempotency key}.pdf
    {spool_dir}/{posting day}/letters.jsonl     one JSON object per letter written

A letter the post returns is reported by the lender (an ``opt_out`` or a re-sent account
without the address); there is no webhook.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from channels.base import Adapter, AdapterSettings, OutboundMessage, Receipt
from orchestrator.channel_types.addresses import PostalAddress
from orchestrator.domain import Channel, DeliveryStatus
from orchestrator.errors import PermanentError, TransientError
from orchestrator.messages.letters import Letter, LetterFonts, Letterhead, letter_pdf

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
JOURNAL = "letters.jsonl"


class PrintBatchSettings(AdapterSettings):
    """Print-it-yourself settings.

    Parameters:
      spool_dir: where each day's batch folder is written (created when missing).
      sender_name / sender_lines / sender_country: the letterhead and return address.
      letterhead_contact: a line of contact details under the letterhead.
      latin_font / cjk_font: TrueType files to embed instead of Debian's.
    """

    sender_fields = frozenset({"sender_name", "sender_lines", "letterhead_contact"})

    base_url: str = "file:"
    spool_dir: str
    sender_name: str
    sender_lines: tuple[str, ...] = ()
    sender_country: str = "US"
    letterhead_contact: str = ""
    latin_font: str | None = None
    cjk_font: str | None = None


class PrintBatch(Adapter):
    """Writes each letter as a PDF into the posting day's batch folder."""

    name = "print_batch"
    channel = Channel.LETTER
    Settings = PrintBatchSettings
    supports_lookup = True
    settings: PrintBatchSettings

    def _folder(self, day: str) -> Path:
        return Path(self.settings.spool_dir) / day

    def _file(self, folder: Path, message: OutboundMessage) -> Path:
        return folder / f"{_SAFE_NAME.sub('_', message.idempotency_key)[:120]}.pdf"

    def send(self, message: OutboundMessage) -> Receipt:
        day = self.clock.now().date()
        folder = self._folder(day.isoformat())
        target = self._file(folder, message)
        if target.exists():  # a retried send of the same task: already in the batch
            return Receipt(self.name, f"{day.isoformat()}/{target.name}", DeliveryStatus.SENT)
        try:
            recipient = PostalAddress.parse(message.to)
        except ValueError as exc:
            raise PermanentError(
                self.name, "invalid_address", str(exc), invalid_address=True
            ) from None
        s = self.settings
        pdf = letter_pdf(
            Letter(recipient, message.subject or "", message.body, message.locale, day),
            Letterhead(s.sender_name, s.sender_lines, s.letterhead_contact, s.sender_country),
            LetterFonts(
                latin=Path(s.latin_font) if s.latin_font else None,
                cjk=Path(s.cjk_font) if s.cjk_font else None,
            ),
        )
        entry: dict[str, Any] = {
            "file": target.name,
            "attempt_ref": message.attempt_ref,
            "recipient": json.loads(recipient.text()),
            "lines": recipient.lines(s.sender_country),
            "pages": pdf.count(b"/Type /Page\n") or pdf.count(b"/Type /Page"),
            "sha256": hashlib.sha256(pdf).hexdigest(),
        }
        try:
            folder.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".pdf.part")
            partial.write_bytes(pdf)
            os.replace(partial, target)  # the letter appears whole or not at all
            with (folder / JOURNAL).open("a", encoding="utf-8") as journal:
                journal.write(json.dumps(entry, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise TransientError(self.name, "spool", f"cannot write the batch: {exc}") from None
        return Receipt(self.name, f"{day.isoformat()}/{target.name}", DeliveryStatus.SENT)

    def lookup(self, message: OutboundMessage) -> Receipt | None:
        spool = Path(self.settings.spool_dir)
        for folder in sorted(spool.iterdir()) if spool.is_dir() else []:
            target = self._file(folder, message)
            if target.exists():
                return Receipt(self.name, f"{folder.name}/{target.name}", DeliveryStatus.SENT)
        return None


def read_batch(folder: Path) -> list[dict[str, Any]]:
    """The letters written into one day's batch folder, each once, as the journal lists
    them (a letter whose PDF is missing is left out)."""
    journal = folder / JOURNAL
    if not journal.is_file():
        return []
    found: dict[str, dict[str, Any]] = {}
    for line in journal.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            if (folder / entry["file"]).is_file():
                found.setdefault(entry["file"], entry)
    return list(found.values())
