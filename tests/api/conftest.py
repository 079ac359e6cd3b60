"""The ops config API's fixtures (an ops client for tenant ``acme`` on a configuration that
reads the test store), for the API tests that call ``/v1/config``."""

from tests.config.conftest import client_for, config_services, config_source, ops  # noqa: F401
