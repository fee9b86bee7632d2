"""What the console's live sockets share (the desk, the dispatch board, the wallboard): the check that a browser
opened them from the console's own origin, and an asyncio Redis client for their subscriptions."""

from __future__ import annotations

import fakeredis
from aiohttp import web
from redis import Redis
from redis import asyncio as aioredis
from yarl import URL

from gateway.keys import SETTINGS


def async_redis(sync: Redis, url: str | None) -> aioredis.Redis:
    """An asyncio client of the same Redis as the application's (of the same in-process stand-in without one)."""
    if url:
        return aioredis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=30)
    return fakeredis.FakeAsyncRedis(server=sync.connection_pool.connection_kwargs["server"])


def same_origin(request: web.Request) -> bool:
    """Whether the request's Origin is the console's own (its host, or the configured public base URL); a page of
    another site could otherwise open a socket with the console's cookie."""
    origin = request.headers.get("Origin")
    if not origin:
        return False
    allowed = {request.host, URL(request.config_dict[SETTINGS].base_url).raw_authority}
    return URL(origin).raw_authority in allowed
