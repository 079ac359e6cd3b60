"""Fixtures for the hostile-tenant tests: the webhook tests' world (the real API over HTTP on
loopback, with tenant ``acme``) is where a second tenant plays its tricks."""

from __future__ import annotations

from tests.e2e.conftest import provider_env  # noqa: F401
from tests.webhooks.conftest import (  # noqa: F401
    api_server,
    configurable_world,
    store,
    webhook_namespace,
    world,
)
