"""Fixtures of the dispatch store tests: the dispatch world on a migrated SQLite database, and async sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.db import async_session_factory, make_async_engine
from tests.dispatch_helpers import World, build_world
from workers.settings import Settings


@pytest.fixture
def world(engine: Any) -> World:
    return build_world(engine)


@pytest.fixture
async def sessions(sqlite_settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_async_engine(sqlite_settings.sync_db_url)
    yield async_session_factory(engine)
    await engine.dispose()
