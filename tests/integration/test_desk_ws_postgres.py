"""The desk's WebSocket across two gateway processes on one PostgreSQL database and one Redis: a frame sent from
one reaches the agent's socket on the other, a state chosen through one reaches the desk on the other, and both
processes' silence checks together make a quiet agent offline once. The desks' clock is a fixed one, moved by hand;
the heartbeat and the silence checks run when the test says (real-time loops racing the test's steps on a loaded
machine would decide what it asserts)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.db import make_engine
from crm_store.desk.agent_tables import DeskAgent
from crm_store.types import utcnow
from gateway import desk
from gateway.app import create_app
from gateway.desk_socket import CHANNELS, TIMING, DeskTiming, beat_open_desks, silence_quiet_desks
from gateway.keys import REDIS
from tests.customer_helpers import SECRET, build_org
from tests.fake_clock import FakeClock
from workers.desk_channel import send_to_agent
from workers.settings import Settings

pytestmark = pytest.mark.integration

DESK = "/api/v1/desk/ws"
STATE = "/api/v1/agents/me/state"
SID = "CA" + "ab" * 16
# Silent after 1 s of the desks' clock; the heartbeat and the check run once at start, then when the test says.
HELD = DeskTiming(ping=5.0, beat=3600.0, check=3600.0, silence=1.0)


async def _frame(ws: Any) -> dict[str, Any]:
    return dict(await asyncio.wait_for(ws.receive_json(), 10))


async def _becomes_offline(engine: Any, staff_id: int, seconds: float) -> None:
    for _ in range(int(seconds / 0.05)):
        with Session(engine) as session:
            if session.get(DeskAgent, staff_id).state == "offline":  # type: ignore[union-attr]
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"staff {staff_id} still online after {seconds} s")


async def test_two_gateways_share_the_agents_channels(
    aiohttp_client: Any, postgres_url: str, redis_url: str, tmp_path: Any
) -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": postgres_url,
            "REDIS_URL": redis_url,
            "HOTLINE_SECRET_KEY": SECRET,
            "HOTLINE_DATA_DIR": str(tmp_path),
        }
    )
    engine = make_engine(postgres_url)
    clock = FakeClock(utcnow())
    gateways: list[Any] = []
    try:
        org = build_org(engine)
        for _ in range(2):
            app = create_app(settings, embedded_worker=False)
            app[desk.CLOCK] = clock
            app[TIMING] = HELD
            gateways.append(await aiohttp_client(app))
        one, other = gateways
        agent, staff_id = org.auth("agent.seocho"), org.staff["agent.seocho"]

        async with other.ws_connect(DESK, headers=agent) as ws:
            assert (await _frame(ws))["state"] == "offline"
            # A state chosen through one process reaches the desk held by the other.
            answer = await one.put(STATE, json={"state": "available"}, headers=agent)
            assert answer.status == 200, await answer.text()
            assert (await _frame(ws))["state"] == "available"
            # A frame sent from the first process (its Redis client) reaches the socket on the second.
            offer = {"type": "offer", "call_sid": SID, "queue": "general", "priority": 1, "customer": None}
            assert send_to_agent(one.app[REDIS], staff_id, offer) == 2  # both processes listen
            assert await _frame(ws) == offer
            # Longer than the silence: the desk on the second process beats, and both processes' checks leave the
            # agent available.
            clock.now += timedelta(seconds=HELD.silence * 1.5)
            assert (await beat_open_desks(one.app), await beat_open_desks(other.app)) == (0, 1)
            assert await asyncio.gather(silence_quiet_desks(one.app), silence_quiet_desks(other.app)) == [[], []]
            with Session(engine) as session:
                assert session.get(DeskAgent, staff_id).state == "available"  # type: ignore[union-attr]
        # Closed by the agent: at once (no check runs, the clock stands still: the closing did it).
        await _becomes_offline(engine, staff_id, 10.0)
        assert not other.app[CHANNELS].open_for(staff_id)

        # No desk open: the silence checks of both processes, at once, make the agent offline, once.
        quiet = org.staff["agent.haeundae"]
        answer = await other.put(STATE, json={"state": "available"}, headers=org.auth("agent.haeundae"))
        assert answer.status == 200, await answer.text()
        clock.now += timedelta(seconds=HELD.silence * 2)
        checks = await asyncio.gather(silence_quiet_desks(one.app), silence_quiet_desks(other.app))
        assert [quiet_agent.staff_id for check in checks for quiet_agent in check] == [quiet]
        await _becomes_offline(engine, quiet, 10.0)
        with Session(engine) as session:
            chosen = session.exec(
                select(AuditEntry).where(
                    col(AuditEntry.action) == "agent.state", col(AuditEntry.target) == f"staff:{quiet}"
                )
            ).all()
        # Only the agent's own choice is audited; the silence check moved them once, unaudited.
        assert len(chosen) == 1
    finally:
        for client in gateways:  # stopped while their database is still there
            await client.close()
        engine.dispose()
