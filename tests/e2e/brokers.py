"""Run an end-to-end test on each broker the service supports (the ``broker_kind`` fixture)."""

from __future__ import annotations

import pytest

BOTH_BROKERS = pytest.mark.parametrize(
    "broker_kind", ["redis", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)]
)
