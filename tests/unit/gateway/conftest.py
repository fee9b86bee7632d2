"""Fixtures of the gateway's API tests: the organisation of tests.customer_helpers and a client of the app."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.app import create_app
from tests.customer_helpers import Org, build_org
from workers.settings import Settings


@pytest.fixture
def org(engine: Any) -> Org:
    """Units of two provinces, staff of every role with their tokens (tests.customer_helpers)."""
    return build_org(engine)


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, org: Org) -> Any:
    """The gateway on the test's SQLite database, without the in-process worker."""
    return await aiohttp_client(create_app(settings, embedded_worker=False))
