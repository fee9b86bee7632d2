"""The desk's WebSocket against real gateway processes (`hotline serve`) on PostgreSQL and a throwaway Redis: a
gateway killed outright leaves its agent to the silence check of another gateway, which makes them offline; a
gateway stopped with SIGTERM closes its desks with 1001 (going away) and leaves the agents' state alone."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import Session

from crm_store.db import make_engine
from crm_store.desk.agent_tables import DeskAgent
from gateway.desk_socket import DeskTiming
from tests.customer_helpers import SECRET, build_org
from tests.processes import HOTLINE, Process, RedisServer, free_port, processes, service_env, wait_http

pytestmark = pytest.mark.fault

DEFAULT = DeskTiming()


def _state(engine: Any, staff_id: int) -> str | None:
    with Session(engine) as session:
        agent = session.get(DeskAgent, staff_id)
        return None if agent is None else agent.state


async def _open_desk(session: aiohttp.ClientSession, port: int, token: str) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(
        f"http://127.0.0.1:{port}/api/v1/desk/ws", headers={"Authorization": f"Bearer {token}"}
    )
    frame = await asyncio.wait_for(ws.receive_json(), 10)
    assert frame["type"] == "state"
    return ws


async def _choose(session: aiohttp.ClientSession, port: int, token: str, state: str) -> None:
    answer = await session.put(
        f"http://127.0.0.1:{port}/api/v1/agents/me/state",
        json={"state": state},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status == 200, await answer.text()


async def test_killed_and_stopped_gateways(postgres_url: str, redis_server: RedisServer, tmp_path: Path) -> None:
    engine = make_engine(postgres_url)
    org = build_org(engine)
    agent, staff_id = org.tokens["agent.seocho"], org.staff["agent.seocho"]
    ports = [free_port(), free_port()]
    with processes(tmp_path) as started:
        gateways = []
        for n, port in enumerate(ports):
            env = service_env(postgres_url, redis_server.url, port, tmp_path / f"data{n}", HOTLINE_SECRET_KEY=SECRET)
            gateway = Process(f"serve{n}", [*HOTLINE, "serve"], env, tmp_path)
            started.append(gateway)
            gateways.append(gateway)
        for gateway, port in zip(gateways, ports, strict=True):
            wait_http(f"http://127.0.0.1:{port}/healthz", proc=gateway)
        async with aiohttp.ClientSession() as session:
            ws = await _open_desk(session, ports[0], agent)
            await _choose(session, ports[1], agent, "available")
            assert (await asyncio.wait_for(ws.receive_json(), 10))["state"] == "available"
            # The first gateway dies with the desk open: the second one's silence check makes the agent offline.
            gateways[0].kill(signal.SIGKILL)
            gateways[0].popen.wait(10)
            deadline = time.monotonic() + DEFAULT.silence + DEFAULT.check * 3
            for _ in range(int(deadline - time.monotonic()) * 2):
                if _state(engine, staff_id) == "offline":
                    break
                await asyncio.sleep(0.5)
            assert _state(engine, staff_id) == "offline"
            await ws.close()

            # The desk on the second gateway: SIGTERM closes it with 1001, the agent's state stays as it was.
            ws = await _open_desk(session, ports[1], agent)
            await _choose(session, ports[1], agent, "break")
            await asyncio.wait_for(ws.receive_json(), 10)
            gateways[1].kill(signal.SIGTERM)
            closing = await asyncio.wait_for(ws.receive(), 20)
            assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, aiohttp.WSCloseCode.GOING_AWAY)
            assert gateways[1].popen.wait(20) == 0
            assert _state(engine, staff_id) == "break"
    engine.dispose()
