"""Shared fixtures: settings for a throwaway SQLite database, real Redis and PostgreSQL when asked for."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from redis.exceptions import RedisError

from workers.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
IN_CI = os.environ.get("CI") == "true"
# Browser tests drive Debian's Chromium (installed by .ci/run), never a browser downloaded by a test tool.
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def need_service(what: str, reason: str) -> None:
    """Skip when a real service is missing on a developer machine; under CI that is a failure."""
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true: {reason}")
    pytest.skip(f"{what} not reachable ({reason}); integration test skipped")


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Embedded defaults (SQLite file, in-process queue) in a temporary data folder, migrated."""
    from crm_store.migrate import upgrade

    settings = Settings.from_env(
        {
            "HOTLINE_DATA_DIR": str(tmp_path),
            "HOTLINE_RECORDING_HOSTS": "api.twilio.com,127.0.0.1",
            "HOTLINE_JOB_RETRIES": "1",
        }
    )
    upgrade(settings.sync_db_url)
    return settings


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis for the session: the machine's (or HOTLINE_TEST_REDIS), else a throwaway redis-server.

    CI runs on whatever machine state the submitting session left: if the shared Redis is not
    answering, the suite starts a real redis-server of its own on a free port rather than fail or skip.
    """
    url = os.environ.get("HOTLINE_TEST_REDIS", "redis://127.0.0.1:6379/13")
    client = Redis.from_url(url, socket_connect_timeout=1)
    reason = ""
    try:
        client.ping()
    except RedisError as err:
        reason = f"{url}: {err}"
    finally:
        client.close()
    if not reason:
        yield url
        return
    from tests.processes import RedisServer, free_port, redis_server_binary

    if redis_server_binary() is None:
        need_service("Redis", f"{reason}; no redis-server binary to start one")
    server = RedisServer(free_port(), tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield f"redis://127.0.0.1:{server.port}/13"
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_service: str) -> Iterator[str]:
    """A real Redis database of its own (db 13), emptied before and after."""
    client = Redis.from_url(redis_service, socket_connect_timeout=1)
    try:
        client.flushdb()
    except RedisError as err:
        need_service("Redis", f"{redis_service}: {err}")
    yield redis_service
    client.flushdb()
    client.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, migrated, dropped afterwards."""
    from crm_store.migrate import upgrade
    from tests.pg_helpers import create_database, drop_database, postgres_admin_url

    admin = postgres_admin_url()
    if admin is None:
        need_service("PostgreSQL", "HOTLINE_TEST_POSTGRES")
    assert admin is not None
    url = create_database(admin)
    upgrade(url)
    yield url
    drop_database(admin, url)


@pytest.fixture
def settings(sqlite_settings: Settings) -> Settings:
    """Embedded defaults with the tests' registration-number key (tests.customer_helpers.SECRET)."""
    from tests.customer_helpers import SECRET

    return sqlite_settings.model_copy(update={"secret_key": SECRET})


@pytest.fixture
def engine(settings: Settings) -> Iterator[Any]:
    """A synchronous engine on the test's SQLite database, for arranging and checking rows."""
    from crm_store.db import make_engine

    engine = make_engine(settings.sync_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
async def world_client(aiohttp_client: Any, settings: Settings, engine: Any) -> tuple[Any, Any]:
    """The review world (tests.review_helpers: every role at every level, two customers, routed calls) and a client."""
    from gateway.app import create_app
    from tests.review_helpers import add_customers_and_calls, build_world

    world = build_world(engine)
    client = await aiohttp_client(create_app(settings, embedded_worker=False))
    await add_customers_and_calls(client, world, engine)
    return world, client


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium through playwright; missing Chromium skips the test (fails it under CI)."""
    if shutil.which(CHROMIUM) is None:
        need_service("Chromium", f"{CHROMIUM} (Debian package chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        await chromium.close()
