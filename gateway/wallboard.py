"""The supervisors' wallboard, live: one loop per gateway process reads the company's desk (`crm_store.desk.wallboard`)
every `WallboardTiming.tick` seconds while boards are open (every `WallboardTiming.idle` seconds otherwise, for
/metrics), exports it as Prometheus gauges, and pushes each open board its figures: each part of the organisation's
board is cut and encoded once per tick, whatever the number of screens showing it.

Several gateway processes each read the same database and export the same truth; Prometheus scrapes whichever it
scrapes (take `max` across instances, not `sum`). At shutdown every board socket closes with 1001 (going away)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from aiohttp import WSCloseCode, WSMsgType, web

from crm_store.db import async_session_scope
from crm_store.desk import wallboard
from crm_store.desk.wallboard import Snapshot, Wallboard
from crm_store.org.scope import SUPERVISORS, Viewer
from crm_store.types import utcnow
from crm_store.validation import BUSINESS_TZ, NotAllowed
from gateway.contract import Answered
from gateway.desk import CLOCK
from gateway.inputs import request_viewer
from gateway.keys import METRICS, SESSIONS
from gateway.live_sockets import same_origin
from gateway.metrics import Metrics

log = logging.getLogger(__name__)

SEND_TIMEOUT = 5.0
WATCHERS = SUPERVISORS
NOT_A_WATCHER = "대기열 현황판은 센터장, 임원, 관리자만 볼 수 있습니다"


@dataclass(frozen=True)
class WallboardTiming:
    """Seconds between reads while boards are open, and while none is (the metrics' refresh); today's counts are
    read again at most every `day` seconds (the calls waiting and the agents at every read)."""

    tick: float = 1.0
    idle: float = 5.0
    day: float = 2.0


TIMING = web.AppKey("wallboard_timing", WallboardTiming)


def frame_time(board: Wallboard) -> str:
    """When the board's figures were read, in Korea time ("14:05:09")."""
    return datetime.fromisoformat(board.at).astimezone(BUSINESS_TZ).strftime("%H:%M:%S")


def frame(board: Wallboard) -> str:
    """The board as the socket sends it: its figures and when they were read, in Korea time."""
    return json.dumps(
        {"type": "wallboard", "at_kst": frame_time(board), **board.model_dump(mode="json")}, ensure_ascii=False
    )


class Screen:
    """One open board: the latest frame for it, sent by its writer (a slow screen skips frames, never queues)."""

    def __init__(self, ws: web.WebSocketResponse, unit_path: str | None) -> None:
        self.ws, self.unit_path = ws, unit_path
        self._latest: str | None = None
        self._fresh = asyncio.Event()

    def show(self, text: str) -> None:
        self._latest = text
        self._fresh.set()

    async def write(self) -> None:
        while not self.ws.closed:
            await self._fresh.wait()
            self._fresh.clear()
            text, self._latest = self._latest, None
            if text is None:
                continue
            try:
                await asyncio.wait_for(self.ws.send_str(text), SEND_TIMEOUT)
            except (TimeoutError, ConnectionError):
                await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"too slow")
                return


class WallboardHub:
    """This process's open boards by scope, the loop that feeds them, and the gauges it keeps."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.screens: dict[str | None, set[Screen]] = {}
        self.latest: Snapshot | None = None
        self.wake = asyncio.Event()
        self.stop = asyncio.Event()
        self.loop: asyncio.Task[None] | None = None

    def attach(self, screen: Screen) -> None:
        self.screens.setdefault(screen.unit_path, set()).add(screen)
        if self.latest is not None:
            screen.show(frame(wallboard.board_for(self.latest, screen.unit_path)))
        self.wake.set()

    def detach(self, screen: Screen) -> None:
        here = self.screens.get(screen.unit_path, set())
        here.discard(screen)
        if not here:
            self.screens.pop(screen.unit_path, None)

    async def read(self) -> Snapshot:
        """Read the desk once, export it, show it on every open board."""
        now = self.app.get(CLOCK, utcnow)()
        async with async_session_scope(self.app[SESSIONS]) as session:
            snapshot = await wallboard.take_snapshot(
                session, now=now, previous=self.latest, day_every=self.app[TIMING].day
            )
        self.latest = snapshot
        export(self.app[METRICS], snapshot)
        for unit_path, screens in list(self.screens.items()):
            text = frame(wallboard.board_for(snapshot, unit_path))
            for screen in list(screens):
                screen.show(text)
        return snapshot

    async def run(self) -> None:
        timing = self.app[TIMING]
        while not self.stop.is_set():
            try:
                await self.read()
            except Exception as err:  # the database away: the boards keep their last figures
                log.warning("wallboard: the desk could not be read (%s); trying again", type(err).__name__)
            every = timing.tick if self.screens else timing.idle
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(self.wake, self.stop), every)
            self.wake.clear()


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


def export(metrics: Metrics, snapshot: Snapshot) -> None:
    """The company's figures as gauges per queue (every agent counted)."""
    for figures in wallboard.company_board(snapshot):
        metrics.wallboard_waiting.labels(figures.queue).set(figures.waiting)
        metrics.wallboard_longest_wait.labels(figures.queue).set(figures.longest_wait)
        for state, count in figures.agents.items():
            metrics.wallboard_agents.labels(figures.queue, state).set(count)
        metrics.wallboard_service_level.labels(figures.queue).set(
            figures.service_level if figures.service_level is not None else float("nan")
        )
        metrics.wallboard_abandonment.labels(figures.queue).set(
            figures.abandonment_rate if figures.abandonment_rate is not None else float("nan")
        )
        metrics.wallboard_handling.labels(figures.queue).set(
            figures.average_handling if figures.average_handling is not None else float("nan")
        )


HUB = web.AppKey("wallboard_hub", WallboardHub)


def _watcher(request: web.Request) -> Viewer:
    viewer = request_viewer(request)
    if viewer.role not in WATCHERS:
        raise NotAllowed(NOT_A_WATCHER)
    return viewer


async def board_of(request: web.Request) -> Wallboard:
    """The viewer's board, read now (the page's first figures, the API's answer)."""
    viewer = _watcher(request)
    now = request.config_dict.get(CLOCK, utcnow)()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        path = await wallboard.unit_path_of(session, viewer.org_unit_id)
        snapshot = await wallboard.take_snapshot(session, now=now)
    return wallboard.board_for(snapshot, path)


async def get_wallboard(request: web.Request) -> Answered:
    """GET /api/v1/desk/wallboard"""
    return await board_of(request)


async def wallboard_socket(request: web.Request) -> web.StreamResponse:
    """GET /console/wallboard/ws: the viewer's board pushed every tick (text frames `{"type": "wallboard", ...}`)."""
    viewer = _watcher(request)
    ws = web.WebSocketResponse(heartbeat=10.0, max_msg_size=1024)
    if not ws.can_prepare(request).ok:
        raise web.HTTPBadRequest(text="a WebSocket upgrade is expected")
    # A page of another site could open the socket with the console's cookie (the desk's own-origin rule).
    if not same_origin(request):
        raise NotAllowed("the wallboard opens from the console's own origin")
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        path = await wallboard.unit_path_of(session, viewer.org_unit_id)
    await ws.prepare(request)
    hub = request.config_dict[HUB]
    screen = Screen(ws, path)
    writer = asyncio.create_task(screen.write(), name=f"wallboard-{viewer.staff_id}")
    hub.attach(screen)
    try:
        async for message in ws:  # the board only listens; anything the client sends is ignored
            if message.type is WSMsgType.ERROR:
                break
    finally:
        hub.detach(screen)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
    return ws


async def _hub(app: web.Application) -> AsyncIterator[None]:
    hub = WallboardHub(app)
    app[HUB] = hub
    hub.loop = asyncio.create_task(hub.run(), name="wallboard")
    yield
    hub.stop.set()
    await asyncio.gather(hub.loop, return_exceptions=True)


async def _close_boards(app: web.Application) -> None:
    """At shutdown: every board of this process closed with 1001; the page reconnects to another process."""
    screens = [screen for screens in app[HUB].screens.values() for screen in screens]
    await asyncio.gather(
        *(s.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for s in screens),
        return_exceptions=True,
    )


def setup_wallboard(app: web.Application) -> None:
    """The wallboard's loop and its closing at shutdown (tests may set their own timing first)."""
    app.setdefault(TIMING, WallboardTiming())
    app.cleanup_ctx.append(_hub)
    app.on_shutdown.append(_close_boards)
