"""Shared fixtures: real PostgreSQL and Redis, each test run isolated in its own namespace.

``TEST_POSTGRES_URL`` (default: the CI machine's ``test`` database) and ``TEST_REDIS_URL``
name the servers. Set ``TEST_POSTGRES_URL=none`` to skip the PostgreSQL half of the store
tests on a machine without it; Redis is required. ``TEST_RABBITMQ_URL`` names RabbitMQ; its
tests (marked ``rabbitmq``) are skipped, saying why, when it does not answer or is ``none``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from urllib.parse import quote

import pytest

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")

# Personal data is sealed at rest: the suite (and every process it starts) uses the
# published development keys unless the environment names others.
os.environ.setdefault("ORCHESTRATOR_KEK", "b3JjaGVzdHJhdG9yLWRldmVsb3BtZW50LWtlay0zMmI=")
os.environ.setdefault("ORCHESTRATOR_LOOKUP_KEY", "b3JjaGVzdHJhdG9yLWRldmVsb3BtZW50LWxvb2t1cCE=")


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    if PG_URL.lower() == "none":
        pytest.skip("TEST_POSTGRES_URL=none: PostgreSQL tests skipped on this machine")
    return PG_URL


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    import sqlalchemy as sa

    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - machine problem
        pytest.fail(f"PostgreSQL at {pg_server_url} does not answer: {exc.orig}")
    try:
        yield _with_search_path(pg_server_url, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'orchestrator.db'}"


def answering_redis_url() -> str:
    """``REDIS_URL``, once Redis there answers (the test fails, saying so, if not)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:  # pragma: no cover - machine problem
        pytest.fail(f"Redis at {REDIS_URL} does not answer: {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_url() -> str:
    return answering_redis_url()


@pytest.fixture
def redis_namespace(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    import redis

    namespace = f"test-{secrets.token_hex(6)}"
    yield namespace
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"{namespace}*", count=1000):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    """The RabbitMQ URL (TEST_RABBITMQ_URL); skips the test, saying why, if it does not answer."""
    if RABBITMQ_URL.lower() == "none":
        pytest.skip("TEST_RABBITMQ_URL=none: RabbitMQ tests skipped on this machine")
    import pika
    import pika.exceptions

    try:
        pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL)).close()
    except pika.exceptions.AMQPError as exc:  # pragma: no cover - machine problem
        pytest.skip(f"RabbitMQ at {RABBITMQ_URL} does not answer ({exc!r}): start rabbitmq-server")
    return RABBITMQ_URL


@pytest.fixture
def rabbitmq_namespaces(rabbitmq_url: str) -> Iterator[list[str]]:
    """Append a queue-name prefix (ORCHESTRATOR_QUEUE_NAMESPACE) a test used on RabbitMQ:
    its send queue and the queue's ``.DQ``/``.XQ`` are deleted at teardown."""
    import pika

    from orchestrator.dispatch.broker import SEND_QUEUE

    used: list[str] = []
    yield used
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    try:
        channel = connection.channel()
        for namespace in used:
            for suffix in ("", ".DQ", ".XQ"):
                channel.queue_delete(f"{namespace}.{SEND_QUEUE}{suffix}")
    finally:
        connection.close()


@pytest.fixture(scope="session")
def provider_values() -> dict[str, str]:
    """Every provider credential for the run (the sandbox's): the same values in every test.
    ``provider_env`` (tests/e2e/conftest.py) puts them in the environment for one test."""
    from channels.sandbox.credentials import sandbox_credentials

    return sandbox_credentials()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory):
    """A SQLite file migrated once; each test gets a copy."""
    from orchestrator.store.db import Store
    from orchestrator.store.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "template.db"
    store = Store.connect(f"sqlite:///{path}")
    upgrade(store.engine)
    store.dispose()
    return path


@pytest.fixture(scope="session")
def migrated_pg(pg_server_url):
    """A PostgreSQL schema migrated once for the run; tests empty it before use."""
    import sqlalchemy as sa

    from orchestrator.store.db import Store
    from orchestrator.store.migrate import upgrade

    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - machine problem
        pytest.fail(f"PostgreSQL at {pg_server_url} does not answer: {exc.orig}")
    url = _with_search_path(pg_server_url, schema)
    store = Store.connect(url)
    upgrade(store.engine)
    store.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """A migrated, empty store, once on SQLite and once on PostgreSQL."""
    import shutil

    from orchestrator.store.db import Store
    from orchestrator.store.tables import (
        Base,
        ResultsMark,
        RollupChange,
        RollupTotal,
    )

    if request.param == "sqlite":
        path = tmp_path / "orchestrator.db"
        shutil.copy(request.getfixturevalue("migrated_sqlite"), path)
        store = Store.connect(f"sqlite:///{path}", pool_size=4)
    else:
        store = Store.connect(request.getfixturevalue("migrated_pg"), pool_size=4)
        # DELETE, children first: on tables this small it takes milliseconds where TRUNCATE
        # takes a third of a second. Ids keep counting up; no test relies on their values.
        with store.transaction() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
            # The deletes above appended their counts' changes (store/rollup.py) and their
            # results' marks (store/kept_results.py): drop them.
            for table in (RollupChange.__table__, RollupTotal.__table__, ResultsMark.__table__):
                conn.execute(table.delete())
    yield store
    store.dispose()


@pytest.fixture
def clock():
    from datetime import UTC, datetime

    from orchestrator.clock import VirtualClock

    return VirtualClock(datetime(2026, 11, 2, 15, 0, tzinfo=UTC))


@pytest.fixture
def tenant(store, clock):
    """A tenant with a lender key: (tenant_id, key)."""
    from orchestrator.tenancy import Role, create_tenant, issue_key

    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "acme", name="Acme Lending", now=clock.now())
        key = issue_key(conn, tenant_id, role=Role.LENDER, now=clock.now())
    return tenant_id, key


@pytest.fixture(scope="session")
def file_config():
    """The shipped configuration (files only), loaded once for the whole run."""
    from orchestrator.clock import SystemClock
    from orchestrator.configuration.source import ConfigSource
    from orchestrator.settings import load_settings

    settings = load_settings()
    return ConfigSource(settings.config_dir, settings.templates_dir, None, now=SystemClock().now)


@pytest.fixture
def services(store, clock, redis_url, file_config):
    """The process's shared services on the test store, the test clock and real Redis."""
    from orchestrator.services import Services
    from orchestrator.settings import load_settings

    settings = load_settings(redis_url=redis_url, batch_limit=50)
    return Services.build(settings, clock=clock, store=store, config=file_config)


@pytest.fixture
def api(services, tenant):
    """The API in-process, authenticated as the ``acme`` tenant."""
    from fastapi.testclient import TestClient

    from orchestrator.api.app import create_app

    with TestClient(
        create_app(services), headers={"Authorization": f"Bearer {tenant[1]}"}
    ) as client:
        yield client


# --- a real browser ----------------------------------------------------------------------

CHROMIUM = os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium")
# Flags for a closed network: no background traffic to Google's hosts, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium from the Debian package (``apt-get install chromium``), driven by
    Playwright. Fails in CI when the binary is missing; skips elsewhere, saying how to get it."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: apt-get install chromium (or set TEST_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium):
    """A fresh browser context (no cookies) and page; any request that leaves 127.0.0.1 fails
    the test, since the pages must work air-gapped."""
    from urllib.parse import urlsplit

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def guard(route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in {"127.0.0.1", "localhost"}:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
    assert not outside, f"the page asked for third-party resources: {outside}"


# --- the order files are handed to xdist's workers ------------------------------------------

# With ``--dist loadfile`` a file is one unit of work, and the run lasts as long as the worker
# that finishes last. xdist would hand out the files with the most tests first, leaving the
# long single-test files (a multi-process run, the demo) to start near the end, alone. The
# longest files, as measured (``--durations``, per-file totals), go first instead; then every
# other file with a ``slow`` test, then the ones that drive Chromium or Hypothesis, then the
# rest by number of tests. Nothing is skipped or changed: only the order of the files.
LONGEST_FIRST = [
    "tests/test_chaos_short.py",
    "tests/e2e/test_the_stack_as_separate_processes_on_rabbitmq.py",
    "tests/e2e/test_the_stack_as_separate_processes_on_redis.py",
    "tests/test_demo_command.py",  # one demo run, read by both its tests
    "tests/test_bench_dispatch.py",
    # Many tests, each with an API of its own: the longest in-process files.
    "tests/selfservice/test_every_action_is_an_account_event.py",
    "tests/lender_events/test_tenants_and_bad_input.py",
    "tests/config/test_config_api_refuses_invalid_config.py",
    "tests/api/test_bodies_over_a_routes_limit_are_refused_unread.py",
    "tests/selfservice/test_links_open_only_while_valid.py",
    "tests/test_bench_burst.py",
    "tests/test_benchmarks_run.py",
]


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist: keep the order below
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def rank(path: str) -> tuple[int, int, int]:
        tests = files[path]
        if path in LONGEST_FIRST:
            return (0, LONGEST_FIRST.index(path), 0)
        if any(t.get_closest_marker("slow") for t in tests):
            return (1, 0, -len(tests))
        heavy = any(
            {"page", "chromium"} & set(getattr(t, "fixturenames", ()))
            or getattr(getattr(t, "obj", None), "is_hypothesis_test", False)
            for t in tests
        )
        return (2 if heavy else 3, 0, -len(tests))

    items[:] = [item for path in sorted(files, key=rank) for item in files[path]]
