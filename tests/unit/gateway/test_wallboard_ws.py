"""The wallboard's WebSocket on SQLite: only supervisors, only from the console's origin; the board at once and a
change within a tick; one read of the desk per tick for every screen of a process, each scope's board encoded
once; closed with 1001 at shutdown."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest import mock

import aiohttp
import pytest
from sqlmodel import Session, col, select, update

from crm_store.desk.tables import DeskQueue, WaitingCall
from crm_store.org.auth import hash_password
from crm_store.org.tables import Staff
from crm_store.types import utcnow
from gateway import wallboard
from gateway.app import create_app
from tests.customer_helpers import Org
from tests.desk_helpers import install_default_menu
from tests.review_helpers import PASSWORD, console_login
from workers.settings import Settings

BOARD = "/console/wallboard/ws"


async def _client(aiohttp_client: Any, settings: Settings, engine: Any, timing: wallboard.WallboardTiming) -> Any:
    install_default_menu(engine)
    with Session(engine) as session:
        session.execute(update(Staff).values(password_hash=hash_password(PASSWORD)))
        session.commit()
    app = create_app(settings, embedded_worker=False)
    app[wallboard.TIMING] = timing
    return await aiohttp_client(app)


@pytest.fixture
async def board_client(aiohttp_client: Any, settings: Settings, org: Org, engine: Any) -> Any:
    return await _client(aiohttp_client, settings, engine, wallboard.WallboardTiming(tick=0.1, idle=0.1))


async def _board(ws: Any) -> dict[str, Any]:
    frame = dict(await asyncio.wait_for(ws.receive_json(), 10))
    assert frame["type"] == "wallboard"
    return frame


def _origin(client: Any) -> dict[str, str]:
    return {"Origin": str(client.make_url("/")).rstrip("/")}


async def test_only_supervisors_from_the_consoles_origin(board_client: Any) -> None:
    await console_login(board_client, "agent.seocho")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await board_client.ws_connect(BOARD, headers=_origin(board_client))
    assert refused.value.status == 403
    board_client.session.cookie_jar.clear()
    await console_login(board_client, "cm.seoul")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await board_client.ws_connect(BOARD, headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    async with board_client.ws_connect(BOARD, headers=_origin(board_client)) as ws:
        assert (await _board(ws))["service_level_seconds"] == 20


async def _accident_waiting(ws: Any, count: int) -> None:
    """Frames until the board shows `count` calls waiting in the accident queue (a frame of the tick before may
    come first)."""
    while {q["queue"]: q["waiting"] for q in (await _board(ws))["queues"]}["accident"] != count:
        pass


async def test_a_call_waiting_reaches_every_screen_from_one_read(board_client: Any, engine: Any) -> None:
    await console_login(board_client, "admin")
    hub = board_client.server.app[wallboard.HUB]
    screens = [await board_client.ws_connect(BOARD, headers=_origin(board_client)) for _ in range(3)]
    try:
        for ws in screens:
            await _accident_waiting(ws, 0)
        with Session(engine) as session:
            queue = session.exec(select(DeskQueue).where(col(DeskQueue.name) == "accident")).one()
            assert queue.id is not None
            session.add(WaitingCall(call_sid="CA" + "5" * 32, queue_id=queue.id, enqueued_at=utcnow()))
            session.commit()
        hub.stop.set()  # the loop ends: the test reads by hand
        assert hub.loop is not None
        await hub.loop
        with mock.patch.object(wallboard, "frame", wraps=wallboard.frame) as encoded:
            await hub.read()
        assert encoded.call_count == 1  # three screens of one part of the organisation: one board encoded
        for ws in screens:
            await _accident_waiting(ws, 1)
    finally:
        for ws in screens:
            await ws.close()


async def test_shutdown_closes_the_boards_with_going_away(board_client: Any) -> None:
    await console_login(board_client, "cm.seoul")
    ws = await board_client.ws_connect(BOARD, headers=_origin(board_client))
    await _board(ws)
    stopping = asyncio.create_task(board_client.server.close())
    while True:
        message = await asyncio.wait_for(ws.receive(), 10)
        if message.type is not aiohttp.WSMsgType.TEXT:
            break
    assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, aiohttp.WSCloseCode.GOING_AWAY)
    await asyncio.wait_for(stopping, 10)
