"""The desk's WebSocket across two gateway processes on one PostgreSQL database and one Redis: a frame sent from
one reaches the agent's socket on the other, a state chosen through one reaches the desk on the other, and both
processes' silence checks together make a quiet agent offline once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.db import make_engine
from crm_store.desk.agent_tables import DeskAgent
from gateway.app import create_app
from gateway.desk_socket import TIMING, DeskTiming
from gateway.keys import REDIS
from tests.customer_helpers import SECRET, build_org
from workers.desk_channel import send_to_agent
from workers.settings import Settings

pytestmark = pytest.mark.integration

DESK = "/api/v1/desk/ws"
STATE = "/api/v1/agents/me/state"
SID = "CA" + "ab" * 16
QUICK = DeskTiming(ping=5.0, beat=0.1, check=0.2, silence=1.0)


async def _frame(ws: Any) -> dict[str, Any]:
    return dict(await asyncio.wait_for(ws.receive_json(), 5))


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
    gateways: list[Any] = []
    try:
        org = build_org(engine)
        for _ in range(2):
            app = create_app(settings, embedded_worker=False)
            app[TIMING] = QUICK
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
            # The desk on the second process beats: both processes' checks leave the agent available.
            await asyncio.sleep(QUICK.silence * 1.5)
            with Session(engine) as session:
                assert session.get(DeskAgent, staff_id).state == "available"  # type: ignore[union-attr]
        await _becomes_offline(engine, staff_id, 0.5)  # closed by the agent: at once, before any silence

        # No desk open: the silence checks of both processes make the agent offline, once.
        quiet = org.staff["agent.haeundae"]
        answer = await other.put(STATE, json={"state": "available"}, headers=org.auth("agent.haeundae"))
        assert answer.status == 200, await answer.text()
        await _becomes_offline(engine, quiet, 5.0)
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
