"""The dispatch board's channel: one Redis pub/sub channel on which any process (a gateway process after a step of a
request, a worker after its timers) tells every open board that a request or a surveyor changed, and that every
gateway process listens to, forwarding each frame to the boards it holds whose viewer may see that unit.

A frame names what changed and the path of its org unit (`OrgUnit.path`): a board receives it when that path lies
under its viewer's unit; a request's frame also names its surveyor (`surveyor`, a username) and vendor (`vendor`),
so that a board reads again only those rows. Delivery is at most once; a board reads its whole panels again every
few minutes and when it reconnects, so a lost frame only delays what it shows. Named after the Redis database,
like the desk's channels (workers.desk_channel)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

CHANNEL_PREFIX = "hotline:dispatch:"


def board_channel(redis: Redis | AsyncRedis) -> str:
    """The boards' channel on this Redis database."""
    return f"{CHANNEL_PREFIX}{redis.connection_pool.connection_kwargs.get('db', 0)}:board"


def board_frame(kind: str, ident: int, *, unit_path: str, **more: Any) -> dict[str, Any]:
    """A board frame: `kind` (request, surveyor) and its id, the path of its unit, and what else the board may show."""
    return {"type": kind, "id": ident, "unit_path": unit_path, **more}


def send_to_boards(redis: Redis, frame: Mapping[str, Any]) -> int:
    """Publish a board frame to every gateway process; how many received it."""
    if not isinstance(frame.get("type"), str) or not isinstance(frame.get("unit_path"), str):
        raise ValueError("a board frame needs its type and unit_path")
    return int(redis.publish(board_channel(redis), orjson.dumps(dict(frame))))  # type: ignore[arg-type]
