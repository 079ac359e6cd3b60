"""The ops config API's fixtures (an ops client for tenant ``acme`` on a configuration that
reads the test store), for the API tests that call ``/v1/config``; the providers'
credentials in the environment, for those that post webhooks."""

from tests.config.conftest import client_for, config_services, config_source, ops  # noqa: F401
from tests.e2e.conftest import provider_env  # noqa: F401
