"""The sandbox's record of everything it accepted and every callback it posted.

One JSON object per line, appended as it happens, so a test or a person can ``tail -f`` the
file; the same entries are kept in memory for the control API.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any


class Journal:
    """An append-only JSON Lines log.

    Parameters:
      path: the file; its folder is created.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def message(
        self,
        provider: str,
        *,
        at: datetime,
        to: str,
        body: str,
        attempt_ref: str | None,
        provider_message_id: str,
        idempotency_key: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Record one accepted message."""
        return self.append(
            {
                "kind": "message",
                "provider": provider,
                "attempt_ref": attempt_ref,
                "idempotency_key": idempotency_key,
                "provider_message_id": provider_message_id,
                "to": to,
                "body": body,
                "received_at": at.isoformat(),
                **extra,
            }
        )

    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        line = json.dumps(entry, ensure_ascii=False, default=str)
        with self._lock:
            self._entries.append(entry)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        return entry

    def entries(
        self, *, provider: str | None = None, kind: str | None = None
    ) -> list[dict[str, Any]]:
        """Entries in order, optionally only one provider's or one kind's."""
        with self._lock:
            return [
                entry
                for entry in self._entries
                if (provider is None or entry.get("provider") == provider)
                and (kind is None or entry.get("kind") == kind)
            ]

    def clear(self) -> None:
        """Forget the in-memory entries and truncate the file."""
        with self._lock:
            self._entries.clear()
            self.path.write_text("", encoding="utf-8")
