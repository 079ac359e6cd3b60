"""Helpers the channel tests share: messages, pinned transports, adapter builders."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from channels.base import Adapter, OutboundMessage
from channels.registry import adapter_class
from orchestrator.domain import Channel

NOW = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)


def message(**overrides: Any) -> OutboundMessage:
    """A rendered message with sensible defaults."""
    fields: dict[str, Any] = {
        "attempt_ref": "att-0001",
        "idempotency_key": "task-0001",
        "channel": Channel.SMS,
        "to": "+12125550123",
        "body": "Your payment of $125.00 is overdue. Reply STOP to opt out.",
        "callback_url": "https://orchestrator.example/v1/webhooks/twilio_sms",
    }
    fields.update(overrides)
    return OutboundMessage(**fields)


@dataclass
class Pinned:
    """A MockTransport that records requests and answers from a function."""

    answer: Callable[[httpx.Request], httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.answer(request)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))


def build(name: str, settings: dict[str, Any], http: httpx.Client, clock: Any) -> Adapter:
    """An adapter from its settings mapping, as the config loader builds it."""
    return adapter_class(name).from_config(settings, http=http, clock=clock, path=f"test.{name}")


def journal_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
