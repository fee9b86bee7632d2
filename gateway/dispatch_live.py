"""The dispatch board's live side: the board's WebSocket (GET /console/dispatch/ws), the one subscription per gateway
process to the boards' Redis channel (`workers.dispatch_channel`), and `tell_boards`, which every step of a request
or a surveyor calls once its transaction is committed.

A board frame reaches every open board, on whichever gateway process, whose viewer's unit lies above the unit of what
changed; the page then reads again what the frame names (GET /console/dispatch/live/change), and its whole panels
now and then. The board changes when something is published, and its clocks (time left against each promise)
count down in the browser."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Any

import orjson
from aiohttp import WSCloseCode, WSMsgType, web
from redis import asyncio as aioredis
from redis.exceptions import RedisError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.dispatch import access
from crm_store.org.tables import OrgUnit
from crm_store.validation import NotAllowed
from gateway.desk_socket import Config
from gateway.inputs import request_viewer
from gateway.keys import EXECUTOR, REDIS, SESSIONS, SETTINGS
from gateway.live_sockets import async_redis, same_origin
from workers.dispatch_channel import board_channel, board_frame, send_to_boards

log = logging.getLogger(__name__)

OUTBOX = 32
SEND_TIMEOUT = 10.0
PING = 15.0


class BoardConnection:
    """One open board: the viewer's unit path and a bounded outbox drained by a writer task."""

    def __init__(self, ws: web.WebSocketResponse, unit_path: str) -> None:
        self.ws, self.unit_path = ws, unit_path
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue(maxsize=OUTBOX)

    def sees(self, path: str) -> bool:
        """Whether what lies in the unit of `path` is in this board's scope."""
        return path.startswith(self.unit_path)

    def deliver(self, text: str) -> None:
        """Queue a frame; a board that lets its outbox fill up is closed (it reloads when it reconnects)."""
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            while not self._outbox.empty():
                self._outbox.get_nowait()
            self._outbox.put_nowait(None)

    async def write(self) -> None:
        """Send queued frames until the socket closes or the board reads too slowly."""
        while True:
            text = await self._outbox.get()
            if text is None:
                await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"too slow")
                return
            try:
                await asyncio.wait_for(self.ws.send_str(text), SEND_TIMEOUT)
            except (TimeoutError, ConnectionError):
                await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"too slow")
                return


class SharedReads:
    """What the boards of one unit read, computed once per change: every open board reads its panels again on each
    frame, and the boards of one unit read the same thing. An entry serves until the next frame reaches this process
    (any frame: which unit it concerns is not worth working out) or for `MAX_AGE` seconds (the clocks move)."""

    MAX_AGE = 5.0

    def __init__(self) -> None:
        self.generation = 0
        self._entries: dict[Hashable, tuple[int, float, asyncio.Future[Any]]] = {}

    def changed(self) -> None:
        """Something changed: the next read of every unit is made anew."""
        self.generation += 1
        self._entries.clear()

    async def read(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        """The current read of `key` (a unit, or a unit and what a frame named), computing it (once, however many
        boards ask at the same time) when needed."""
        loop = asyncio.get_running_loop()
        entry = self._entries.get(key)
        if entry is None or entry[0] != self.generation or loop.time() - entry[1] > self.MAX_AGE:
            entry = (self.generation, loop.time(), asyncio.ensure_future(compute()))
            self._entries[key] = entry
        try:
            return await asyncio.shield(entry[2])
        except Exception:
            if self._entries.get(key) is entry:
                del self._entries[key]
            raise


class Boards:
    """This process's open boards, fed by one subscription to the boards' channel, and their shared reads."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self.open: set[BoardConnection] = set()
        self.subscribed = asyncio.Event()
        self.reads = SharedReads()

    def forward(self, data: str | bytes) -> int:
        """A published frame to the boards of this process that see its unit; how many."""
        self.reads.changed()
        text = data.decode() if isinstance(data, bytes) else data
        try:
            path = orjson.loads(text).get("unit_path")
        except (orjson.JSONDecodeError, AttributeError):
            return 0
        if not isinstance(path, str):
            return 0
        reached = 0
        for board in list(self.open):
            if board.sees(path):
                board.deliver(text)
                reached += 1
        return reached

    async def listen(self) -> None:
        """Forward published frames until cancelled; Redis away: subscribe again a second later."""
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(board_channel(self.redis))
                    self.subscribed.set()
                    while True:
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        if message is not None and message["type"] == "message":
                            self.forward(message["data"])
            except (RedisError, OSError):
                self.subscribed.clear()
                log.warning("dispatch boards: Redis unreachable; subscribing again in 1 s", exc_info=True)
                await asyncio.sleep(1.0)


BOARDS = web.AppKey("dispatch_boards", Boards)


async def unit_path(session: AsyncSession, unit_id: int | None) -> str:
    """The path of an org unit ("/" when unknown: only the head office's boards see it)."""
    if unit_id is None:
        return "/"
    found = (await session.exec(select(col(OrgUnit.path)).where(col(OrgUnit.id) == unit_id))).first()
    return found or "/"


async def tell_boards(app: Config, kind: str, ident: int, *, path: str, **more: Any) -> None:
    """Tell every board that sees `path` that `kind` `ident` changed (after the change is committed); a frame that
    cannot be published is logged and lost (the boards read again at the next one)."""
    frame = board_frame(kind, ident, unit_path=path, **more)
    app[BOARDS].reads.changed()  # this process's next reads see the change, before its own frame comes back
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(app[EXECUTOR], send_to_boards, app[REDIS], frame)
    except RedisError:
        log.warning("board frame for %s %s not published", kind, ident, exc_info=True)


async def board_socket(request: web.Request) -> web.StreamResponse:
    """GET /console/dispatch/ws: the board's live frames (board roles, from the console's own origin)."""
    viewer = request_viewer(request)
    access.board_only(viewer)
    ws = web.WebSocketResponse(heartbeat=PING, max_msg_size=1024)
    if not ws.can_prepare(request).ok:
        raise web.HTTPBadRequest(text="a WebSocket upgrade is expected")
    # A page of another site could open the socket with the console's cookie.
    if not same_origin(request):
        raise NotAllowed("the board opens from the console's own origin")
    async with request.config_dict[SESSIONS]() as session:
        path = await unit_path(session, viewer.org_unit_id)
    await ws.prepare(request)
    board = BoardConnection(ws, path)
    boards = request.config_dict[BOARDS]
    boards.open.add(board)
    writer = asyncio.create_task(board.write(), name=f"board-writer-{viewer.staff_id}")
    try:
        await ws.send_str(orjson.dumps({"type": "hello"}).decode())
        async for message in ws:  # the board only listens; whatever it sends is ignored
            if message.type is WSMsgType.ERROR:
                break
    finally:
        boards.open.discard(board)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
    return ws


async def _boards(app: web.Application) -> AsyncIterator[None]:
    redis = async_redis(app[REDIS], app[SETTINGS].redis_url)
    boards = Boards(redis)
    app[BOARDS] = boards
    listening = asyncio.create_task(boards.listen(), name="dispatch-boards")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(boards.subscribed.wait(), 2.0)
    yield
    listening.cancel()
    await asyncio.gather(listening, return_exceptions=True)
    await redis.aclose()


async def _close_boards(app: web.Application) -> None:
    await asyncio.gather(
        *(b.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for b in list(app[BOARDS].open))
    )


def setup_dispatch_live(app: web.Application) -> None:
    """The boards' subscription and their closing at shutdown (on the root application)."""
    app.cleanup_ctx.append(_boards)
    app.on_shutdown.append(_close_boards)
