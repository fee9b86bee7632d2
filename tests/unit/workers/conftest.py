"""Fixtures of the worker tests: a worker context on the test's SQLite database and the in-process queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from workers.context import build_context, install
from workers.settings import Settings


@pytest.fixture
def context(settings: Settings) -> Iterator[Any]:
    """The worker context the jobs use (installed as current), its queue emptied first."""
    ctx = build_context(settings)
    install(ctx)
    ctx.redis.flushall()
    yield ctx
    ctx.close()
