"""Fixtures for the hostile-tenant tests: the webhook tests' world (the real API over HTTP on
loopback, with tenant ``acme``) is where a second tenant plays its tricks; the ops config
API (``ops``, ``client_for``) is where it edits its own configs."""

from __future__ import annotations

from tests.config.conftest import client_for, config_services, config_source, ops  # noqa: F401
from tests.e2e.conftest import provider_env  # noqa: F401
from tests.webhooks.conftest import (  # noqa: F401
    api_server,
    configurable_world,
    store,
    webhook_namespace,
    world,
)
