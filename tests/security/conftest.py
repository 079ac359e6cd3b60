"""A hostile tenant's tools: the ops config API (``ops``, ``client_for``) and the real API
served over HTTP with provider accounts configured (``world``), on both stores."""

from tests.config.conftest import client_for, config_services, config_source, ops  # noqa: F401
from tests.webhooks.conftest import (  # noqa: F401
    api_server,
    configurable_world,
    provider_env,
    store,
    webhook_namespace,
    world,
)
