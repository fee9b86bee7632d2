"""The per-agent channel of the live desk: a Redis pub/sub channel per agent that any process (a gateway process
or a worker) publishes desk frames on, and that every gateway process listens to, forwarding each frame to the
agent's sockets it holds (an agent's socket may be on any process).

Delivery is at most once: a frame published while the agent has no socket open is lost, which is why the state
kept in the database, not the frames, is the truth a reconnecting desk starts from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from redis import Redis

CHANNEL_PREFIX = "hotline:desk:agent:"
# What a gateway process subscribes to: every agent's channel.
CHANNEL_PATTERN = CHANNEL_PREFIX + "*"


def agent_channel(staff_id: int) -> str:
    """The channel of one agent's desk."""
    return f"{CHANNEL_PREFIX}{staff_id}"


def staff_of_channel(channel: str | bytes) -> int | None:
    """The agent an agent channel belongs to; None for any other channel."""
    name = channel.decode() if isinstance(channel, bytes) else channel
    number = name.removeprefix(CHANNEL_PREFIX)
    if number == name or not number.isdecimal() or len(number) > 10:
        return None
    return int(number)


def send_to_agent(redis: Redis, staff_id: int, frame: Mapping[str, Any]) -> int:
    """Publish a desk frame (a JSON object with `type`) to the agent's sockets, wherever they are connected; how
    many gateway processes received it."""
    if not isinstance(frame.get("type"), str):
        raise ValueError("a desk frame needs its type")
    return int(redis.publish(agent_channel(staff_id), orjson.dumps(dict(frame))))  # type: ignore[arg-type]
