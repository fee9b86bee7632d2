"""Agents and customer search on a real PostgreSQL database (migrated by the postgres_url fixture): one offer per
agent under concurrency, lapsed heartbeats, and every search look-up served by an index."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from crm_store.customers import search
from crm_store.db import async_session_factory, async_session_scope, make_async_engine
from crm_store.desk import agents
from crm_store.desk.agent_tables import AgentState
from crm_store.org.scope import Viewer
from crm_store.org.tables import Role
from crm_store.validation import Conflict
from tests.customer_helpers import gateway_on

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


async def test_two_offers_for_one_agent_at_once_only_one_wins(
    aiohttp_client: Any, postgres_url: str, tmp_path: Any
) -> None:
    async with gateway_on(aiohttp_client, postgres_url, tmp_path) as (_engine, org, client):
        answer = await client.put(
            "/api/v1/agents/me/state", json={"state": "available"}, headers=org.auth("agent.seocho")
        )
        assert answer.status == 200, await answer.text()
        staff_id = org.staff["agent.seocho"]
        engine = make_async_engine(postgres_url)
        sessions = async_session_factory(engine)
        try:

            async def offer(call_sid: str) -> str | None:
                try:
                    async with async_session_scope(sessions) as session:
                        await agents.move_agent(session, staff_id, AgentState.OFFERED, now=NOW, call_sid=call_sid)
                        await asyncio.sleep(0.2)  # the other offer waits on the row meanwhile
                except Conflict:
                    return None
                return call_sid

            won = await asyncio.gather(*(offer(f"CA{n:032x}") for n in range(1, 5)))
            assert len([sid for sid in won if sid is not None]) == 1
            # Its desk falls silent: offline, and the call it held is named to be offered again. The last beat is
            # on the test's clock (the PUT above beat on the gateway's, today's date).
            async with async_session_scope(sessions) as session:
                assert await agents.heartbeat(session, staff_id, now=NOW)
            async with async_session_scope(sessions) as session:
                silenced = await agents.silence_offline_agents(
                    session, now=NOW + timedelta(days=1), silence=timedelta(seconds=15)
                )
            assert [(s.staff_id, s.was, s.offered_call_sid) for s in silenced] == [
                (staff_id, AgentState.OFFERED, next(sid for sid in won if sid))
            ]
        finally:
            await engine.dispose()


async def test_search_on_postgres(aiohttp_client: Any, postgres_url: str, tmp_path: Any) -> None:
    async with gateway_on(aiohttp_client, postgres_url, tmp_path) as (_engine, org, client):
        body = {
            "kind": "individual",
            "name": "정하늘",
            "org_unit_id": org.units["SEOUL-GANGNAM-SEOCHO"],
            "phones": ["010-4444-5555"],
            "vehicles": ["서울12가3456"],
            "registration_number": "910303-2345678",
        }
        answer = await client.post("/api/v1/customers", json=body, headers=org.auth("agent.seocho"))
        assert answer.status == 201, await answer.text()
        customer_id = (await answer.json())["id"]
        policy = {"line": "auto", "premium": 900_000, "start_date": "2026-01-01", "end_date": "2027-01-01"}
        answer = await client.post(
            f"/api/v1/customers/{customer_id}/policies", json=policy, headers=org.auth("agent.seocho")
        )
        number = (await answer.json())["policy_number"]
        for q in ("+82-10-4444-5555", "서울 12가 3456", number.lower(), "정하", "정하늘"):
            answer = await client.get("/api/v1/customers/search", params={"q": q}, headers=org.auth("agent.seocho"))
            assert [i["id"] for i in (await answer.json())["items"]] == [customer_id], q
            answer = await client.get("/api/v1/customers/search", params={"q": q}, headers=org.auth("agent.haeundae"))
            assert (await answer.json())["items"] == [], q


async def _plan(postgres_url: str, statement: Any, *settings: str) -> str:
    """The plan PostgreSQL makes for the statement with these planner settings (the test tables are empty: without
    them the planner reads the tables whole, index or not)."""
    sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    engine = make_async_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            for setting in settings:
                await conn.execute(text(f"SET {setting} = off"))
            return "\n".join((await conn.execute(text("EXPLAIN " + sql))).scalars())
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("q", "index"),
    [
        ("010-4444-5555", "ix_customer_phone_e164"),
        ("12가3456", "ix_vehicle_plate"),
        ("AU-2026-0000001", "ix_policy_policy_number"),
        ("정하", "ix_customer_name_prefix"),
    ],
)
async def test_every_search_look_up_is_an_index_probe(postgres_url: str, q: str, index: str) -> None:
    viewer = Viewer(staff_id=1, username="agent", role=Role.AGENT, org_unit_id=1)
    _, condition = search.match_condition(q)
    plan = await _plan(postgres_url, search.search_query(viewer, condition, limit=21, before_id=None), "enable_seqscan")
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan


async def test_the_longest_idle_agents_come_in_index_order(postgres_url: str) -> None:
    plan = await _plan(postgres_url, agents.available_agents_query(5), "enable_seqscan", "enable_bitmapscan")
    assert "Index Scan using ix_desk_agent_idle" in plan and "Sort" not in plan, plan
