"""The per-agent channel of the live desk: a Redis pub/sub channel per agent that any process (a gateway process
or a worker) publishes desk frames on, and that every gateway process listens to, forwarding each frame to the
agent's sockets it holds (an agent's socket may be on any process).

Redis shares pub/sub channels among all databases of a server: the channels are named after the database (the
number in REDIS_URL), so deployments and test runs on other databases of the same server never hear each other.

Delivery is at most once: a frame published while the agent has no socket open is lost, which is why the state
kept in the database, not the frames, is the truth a reconnecting desk starts from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

CHANNEL_PREFIX = "hotline:desk:"


def _namespace(redis: Redis | AsyncRedis) -> str:
    return f"{CHANNEL_PREFIX}{redis.connection_pool.connection_kwargs.get('db', 0)}:agent:"


def agent_channel(redis: Redis | AsyncRedis, staff_id: int) -> str:
    """The channel of one agent's desk on this Redis database."""
    return f"{_namespace(redis)}{staff_id}"


def channel_pattern(redis: Redis | AsyncRedis) -> str:
    """What a gateway process subscribes to: every agent's channel on this Redis database."""
    return _namespace(redis) + "*"


def staff_of_channel(channel: str | bytes) -> int | None:
    """The agent an agent channel belongs to; None for any other channel."""
    name = channel.decode() if isinstance(channel, bytes) else channel
    head, _, number = name.rpartition(":")
    if not head.startswith(CHANNEL_PREFIX) or not head.endswith(":agent") or not number.isdecimal():
        return None
    return int(number) if len(number) <= 10 else None


def send_to_agent(redis: Redis, staff_id: int, frame: Mapping[str, Any]) -> int:
    """Publish a desk frame (a JSON object with `type`) to the agent's sockets, wherever they are connected; how
    many gateway processes received it."""
    if not isinstance(frame.get("type"), str):
        raise ValueError("a desk frame needs its type")
    return int(redis.publish(agent_channel(redis, staff_id), orjson.dumps(dict(frame))))  # type: ignore[arg-type]


async def send_to_agent_async(redis: AsyncRedis, staff_id: int, frame: Mapping[str, Any]) -> int:
    """`send_to_agent` on an asyncio client."""
    if not isinstance(frame.get("type"), str):
        raise ValueError("a desk frame needs its type")
    return int(await redis.publish(agent_channel(redis, staff_id), orjson.dumps(dict(frame))))
