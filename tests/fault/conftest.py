"""Fixtures of the fault tests: a throwaway redis-server of their own (they stop it; never the machine's shared one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need_service
from tests.processes import RedisServer, free_port, redis_server_binary


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if redis_server_binary() is None:
        need_service("redis-server", "binary not installed")
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()
