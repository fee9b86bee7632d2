"""The desk's WebSocket on SQLite and the real Redis: who may open it, the state frame, frames published on the
agent's channel, refused frames, and the agent going offline when the desk closes or falls silent."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from redis import Redis
from sqlmodel import Session, col, update

from crm_store.desk.agent_tables import DeskAgent
from crm_store.org.auth import hash_password
from crm_store.org.tables import Staff
from crm_store.types import utcnow
from gateway import desk, desk_socket
from gateway.app import create_app
from gateway.desk_socket import CHANNELS, MAX_FRAME, OUTBOX, TIMING, DeskTiming, silence_quiet_desks
from gateway.keys import REDIS
from tests.customer_helpers import Org
from tests.fake_clock import FakeClock
from tests.live_helpers import until as _until
from tests.review_helpers import PASSWORD, console_login
from workers.desk_channel import send_to_agent
from workers.settings import Settings

DESK = "/api/v1/desk/ws"
STATE = "/api/v1/agents/me/state"
SID = "CA" + "0" * 31 + "1"
# Silent after 1 s of the desks' clock (a `FakeClock` the tests move by hand). The heartbeat and the silence check
# run once as the app starts and then only when a test runs them (or sets its own quick loop): a beat or a check on
# real time, racing the test's steps on a loaded machine, would decide what the test asserts.
HELD = DeskTiming(ping=5.0, beat=3600.0, check=3600.0, silence=1.0)


@pytest.fixture
def redis_settings(settings: Settings, redis_url: str) -> Settings:
    return settings.model_copy(update={"redis_url": redis_url})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(utcnow())


def _desk_app(settings: Settings, clock: FakeClock, timing: DeskTiming = HELD) -> Any:
    app = create_app(settings, embedded_worker=False)
    app[desk.CLOCK] = clock
    app[TIMING] = timing
    return app


@pytest.fixture
async def desk_client(aiohttp_client: Any, redis_settings: Settings, org: Org, clock: FakeClock) -> Any:
    return await aiohttp_client(_desk_app(redis_settings, clock))


@pytest.fixture
def closings(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The desk socket's closing of an agent's desk (`_close_desk`), as ("start", staff) and ("done", staff)."""
    seen: list[tuple[str, int]] = []
    close_desk = desk_socket._close_desk

    async def noted(app: Any, viewer: Any) -> None:
        seen.append(("start", viewer.staff_id))
        await close_desk(app, viewer)
        seen.append(("done", viewer.staff_id))

    monkeypatch.setattr(desk_socket, "_close_desk", noted)
    return seen


def _agent(engine: Any, staff_id: int) -> DeskAgent | None:
    with Session(engine) as session:
        return session.get(DeskAgent, staff_id)


async def _frame(ws: Any) -> dict[str, Any]:
    return dict(await asyncio.wait_for(ws.receive_json(), 10))


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer nonsense"}, 401), ("am.seocho", 403), ("admin", 403)],
)
async def test_only_desk_roles_open_the_desk(desk_client: Any, org: Org, headers: Any, status: int) -> None:
    if isinstance(headers, str):
        headers = org.auth(headers)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await desk_client.ws_connect(DESK, headers=headers)
    assert refused.value.status == status


async def test_a_plain_get_is_no_upgrade(desk_client: Any, org: Org) -> None:
    answer = await desk_client.get(DESK, headers=org.auth("agent.seocho"))
    assert answer.status == 400
    assert "WebSocket" in (await answer.json())["error"]


async def test_a_console_session_opens_it_from_the_consoles_origin_only(
    desk_client: Any, org: Org, engine: Any
) -> None:
    with Session(engine) as session:
        session.execute(
            update(Staff).where(col(Staff.username) == "cm.seoul").values(password_hash=hash_password(PASSWORD))
        )
        session.commit()
    await console_login(desk_client, "cm.seoul")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await desk_client.ws_connect(DESK, headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    origin = str(desk_client.make_url("/")).rstrip("/")
    async with desk_client.ws_connect(DESK, headers={"Origin": origin}) as ws:
        assert (await _frame(ws))["type"] == "state"


async def test_state_on_connect_and_on_every_change(desk_client: Any, org: Org) -> None:
    agent = org.auth("agent.seocho")
    async with desk_client.ws_connect(DESK, headers=agent) as ws:
        assert await _frame(ws) == {"type": "state", "state": "offline", "since": None}
        answer = await desk_client.put(STATE, json={"state": "available"}, headers=agent)
        assert answer.status == 200, await answer.text()
        frame = await _frame(ws)
        assert (frame["type"], frame["state"]) == ("state", "available")
        assert frame["since"] == (await answer.json())["since"]
        # Another desk of the agent opens on the state as stored (closing the last desk would make them offline).
        async with desk_client.ws_connect(DESK, headers=agent) as second:
            assert (await _frame(second))["state"] == "available"


async def test_a_frame_sent_to_the_agent_reaches_their_desks(desk_client: Any, org: Org, redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    offer = {"type": "offer", "call_sid": SID, "queue": "general", "priority": 0, "caller": "+821012345678"}
    try:
        async with (
            desk_client.ws_connect(DESK, headers=org.auth("agent.seocho")) as first,
            desk_client.ws_connect(DESK, headers=org.auth("agent.seocho")) as second,
            desk_client.ws_connect(DESK, headers=org.auth("agent.haeundae")) as other,
        ):
            for ws in (first, second, other):
                await _frame(ws)
            # Another Redis database of the same server (another deployment, another test run) is not heard.
            db = int(redis.connection_pool.connection_kwargs.get("db", 0))
            elsewhere = Redis.from_url(redis_url.rsplit("/", 1)[0] + f"/{(db + 1) % 16}")
            try:
                send_to_agent(elsewhere, org.staff["agent.seocho"], {"type": "offer", "call_sid": "elsewhere"})
            finally:
                elsewhere.close()
            assert send_to_agent(redis, org.staff["agent.seocho"], offer) >= 1
            assert await _frame(first) == offer
            assert await _frame(second) == offer
            # The other agent's desk: the next frame it gets is one sent to it after the offer, not the offer.
            mine = {"type": "call", "call_sid": SID, "state": "ended"}
            assert send_to_agent(redis, org.staff["agent.haeundae"], mine) >= 1
            assert await _frame(other) == mine
        with pytest.raises(ValueError, match="type"):
            send_to_agent(redis, org.staff["agent.seocho"], {"call_sid": SID})
    finally:
        redis.close()


@pytest.mark.parametrize(
    ("sent", "error", "fields"),
    [
        ("not json", "a frame is a JSON object", None),
        ("[1, 2]", "a frame is a JSON object", None),
        ('{"type": "hello"}', "unknown frame type", {"type": "accept or decline"}),
        ('{"call_sid": "x"}', "unknown frame type", {"type": "accept or decline"}),
        ('{"type": "accept"}', "malformed frame", {"call_sid": "Field required"}),
        ('{"type": "decline", "call_sid": "CA12"}', "malformed frame", {"call_sid"}),
        ('{"type": "accept", "call_sid": 7}', "malformed frame", {"call_sid": "Input should be a valid string"}),
        (f'{{"type": "accept", "call_sid": "{SID}", "extra": 1}}', "malformed frame", {"extra"}),
    ],
)
async def test_refused_frames_are_answered_with_an_error(
    desk_client: Any, org: Org, sent: str, error: str, fields: Any
) -> None:
    async with desk_client.ws_connect(DESK, headers=org.auth("agent.seocho")) as ws:
        await _frame(ws)
        await ws.send_str(sent)
        frame = await _frame(ws)
        assert (frame["type"], frame["error"]) == ("error", error)
        if isinstance(fields, set):
            assert set(frame["fields"]) == fields
        elif fields is not None:
            assert frame["fields"] == fields
        # The desk stays open and answers the next frame.
        await ws.send_str(f'{{"type": "decline", "call_sid": "{SID}"}}')
        assert await _frame(ws) == {"type": "error", "error": "no call is offered to you", "call_sid": SID}


async def test_binary_and_oversized_frames(desk_client: Any, org: Org) -> None:
    async with desk_client.ws_connect(DESK, headers=org.auth("agent.seocho")) as ws:
        await _frame(ws)
        await ws.send_bytes(b"\x00\x01")
        assert (await _frame(ws))["error"] == "frames are JSON text"
        await ws.send_str('{"type": "accept", "call_sid": "' + "x" * MAX_FRAME + '"}')
        closing = await asyncio.wait_for(ws.receive(), 10)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


async def test_the_open_desk_beats_and_closing_it_goes_offline(
    aiohttp_client: Any, redis_settings: Settings, org: Org, engine: Any, clock: FakeClock
) -> None:
    # The heartbeat runs on its own, every 0.1 s; the silence check only when the test runs it.
    app = _desk_app(redis_settings, clock, DeskTiming(ping=5.0, beat=0.1, check=3600.0, silence=1.0))
    desk_client = await aiohttp_client(app)
    agent, staff_id = org.auth("agent.seocho"), org.staff["agent.seocho"]
    async with desk_client.ws_connect(DESK, headers=agent) as ws:
        await _frame(ws)
        assert (await desk_client.put(STATE, json={"state": "available"}, headers=agent)).status == 200
        await _frame(ws)
        first = _agent(engine, staff_id)
        assert first is not None and first.heartbeat_at == clock.now
        # Longer than the silence on the desks' clock: the beat writes the heartbeat by itself, and the check then
        # leaves the agent available.
        clock.now += timedelta(seconds=HELD.silence * 1.5)
        await _until(lambda: getattr(_agent(engine, staff_id), "heartbeat_at", None) == clock.now, seconds=10)
        assert await silence_quiet_desks(app) == []
        later = _agent(engine, staff_id)
        assert later is not None and later.state == "available"
        assert later.heartbeat_at is not None and later.heartbeat_at - first.heartbeat_at >= timedelta(seconds=1)
    # Closed by the agent: offline at once. No silence check runs and the clock stands still: the closing did it.
    await _until(lambda: getattr(_agent(engine, staff_id), "state", None) == "offline", seconds=10)


async def test_a_desk_gone_quiet_makes_its_agent_offline(
    aiohttp_client: Any, redis_settings: Settings, org: Org, engine: Any, clock: FakeClock
) -> None:
    # The silence check runs on its own, every 0.2 s; nothing beats.
    app = _desk_app(redis_settings, clock, DeskTiming(ping=5.0, beat=3600.0, check=0.2, silence=1.0))
    desk_client = await aiohttp_client(app)
    agent, staff_id = org.auth("agent.haeundae"), org.staff["agent.haeundae"]
    # Available without any desk open: once the silence has passed, the periodic check takes the agent offline.
    assert (await desk_client.put(STATE, json={"state": "available"}, headers=agent)).status == 200
    clock.now += timedelta(seconds=HELD.silence * 2)
    await _until(lambda: getattr(_agent(engine, staff_id), "state", None) == "offline", seconds=10)


async def test_an_agent_on_a_call_stays_when_the_desk_closes(
    desk_client: Any, org: Org, engine: Any, clock: FakeClock, closings: list[tuple[str, int]]
) -> None:
    agent, staff_id = org.auth("agent.seocho"), org.staff["agent.seocho"]
    assert (await desk_client.put(STATE, json={"state": "available"}, headers=agent)).status == 200
    with Session(engine) as session:
        session.execute(
            update(DeskAgent).where(col(DeskAgent.staff_id) == staff_id).values(state="on_call", call_sid=SID)
        )
        session.commit()
    async with desk_client.ws_connect(DESK, headers=agent) as ws:
        assert (await _frame(ws))["state"] == "on_call"
    # The server has closed the desk (and declined to take the agent offline), and the silence has passed.
    await _until(lambda: closings == [("start", staff_id), ("done", staff_id)], seconds=10)
    clock.now += timedelta(seconds=HELD.silence * 2)
    assert await silence_quiet_desks(desk_client.app) == []
    held = _agent(engine, staff_id)
    assert held is not None and held.state == "on_call"


async def test_shutdown_closes_the_desks_with_going_away(
    aiohttp_client: Any, redis_settings: Settings, org: Org, engine: Any, clock: FakeClock
) -> None:
    client = await aiohttp_client(_desk_app(redis_settings, clock))
    agent = org.auth("agent.seocho")
    ws = await client.ws_connect(DESK, headers=agent)
    await _frame(ws)
    assert (await client.put(STATE, json={"state": "break"}, headers=agent)).status == 200
    await _frame(ws)
    stopping = asyncio.create_task(client.server.close())
    closing = await asyncio.wait_for(ws.receive(), 10)
    assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, aiohttp.WSCloseCode.GOING_AWAY)
    await asyncio.wait_for(stopping, 10)
    kept = _agent(engine, org.staff["agent.seocho"])
    assert kept is not None and kept.state == "break"


async def test_without_redis_the_stand_in_carries_the_frames(
    aiohttp_client: Any, settings: Settings, org: Org, clock: FakeClock
) -> None:
    app = _desk_app(settings, clock)
    client = await aiohttp_client(app)
    agent = org.auth("agent.seocho")
    async with client.ws_connect(DESK, headers=agent) as ws:
        await _frame(ws)
        assert (await client.put(STATE, json={"state": "available"}, headers=agent)).status == 200
        assert (await _frame(ws))["state"] == "available"
        send_to_agent(app[REDIS], org.staff["agent.seocho"], {"type": "call", "call_sid": SID, "state": "ended"})
        assert await _frame(ws) == {"type": "call", "call_sid": SID, "state": "ended"}


async def test_a_desk_that_reads_too_slowly_is_dropped(
    desk_client: Any, org: Org, engine: Any, clock: FakeClock, closings: list[tuple[str, int]]
) -> None:
    agent, staff_id = org.auth("agent.seocho"), org.staff["agent.seocho"]
    assert (await desk_client.put(STATE, json={"state": "available"}, headers=agent)).status == 200
    async with desk_client.ws_connect(DESK, headers=agent) as ws:
        await _frame(ws)
        (desk,) = desk_client.app[CHANNELS].every_desk()
        for n in range(OUTBOX + 1):  # more than its outbox holds before the writer could send one
            desk.deliver(f'{{"type": "call", "n": {n}}}')
        closing = await asyncio.wait_for(ws.receive(), 10)
        assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, aiohttp.WSCloseCode.POLICY_VIOLATION)
    # Dropped by the server: the agent's state is left to the silence check, not taken offline at once (the server
    # decides that as it forgets the desk, in the same step).
    await _until(lambda: not desk_client.app[CHANNELS].open_for(staff_id), seconds=10)
    assert closings == []
    kept = _agent(engine, staff_id)
    assert kept is not None and kept.state == "available"
    clock.now += timedelta(seconds=HELD.silence * 2)
    assert [quiet.staff_id for quiet in await silence_quiet_desks(desk_client.app)] == [staff_id]
