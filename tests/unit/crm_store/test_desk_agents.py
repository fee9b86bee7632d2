"""Agents at the desk: endpoints, the states an agent chooses and those the desk sets, heartbeats that lapse, the
available agents of a queue longest idle first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from crm_store.audit import AuditEntry
from crm_store.db import async_session_factory, async_session_scope, make_async_engine
from crm_store.desk import agents
from crm_store.desk.agent_tables import AgentState, DeskAgent
from crm_store.org.scope import Viewer
from crm_store.org.tables import Role
from crm_store.validation import Conflict, InvalidInput
from tests.customer_helpers import Org, build_org
from workers.settings import Settings

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
AVAILABLE, OFFERED, ON_CALL, WRAP_UP, BREAK, OFFLINE = (
    AgentState.AVAILABLE,
    AgentState.OFFERED,
    AgentState.ON_CALL,
    AgentState.WRAP_UP,
    AgentState.BREAK,
    AgentState.OFFLINE,
)


@pytest.fixture
def org(engine: Any) -> Org:
    return build_org(engine)


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[Any]:
    engine = make_async_engine(settings.async_db_url)
    try:
        yield async_session_factory(engine)
    finally:
        await engine.dispose()


def viewer(org: Org, username: str, role: Role = Role.AGENT, unit: str = "SEOUL-GANGNAM-SEOCHO") -> Viewer:
    return Viewer(org.staff[username], username, role, org.units[unit])


@pytest.mark.parametrize(
    ("raw", "endpoint"),
    [
        ("client:kim.minsu", "client:kim.minsu"),
        (" client:agent_07 ", "client:agent_07"),
        ("sip:1001@pbx.hanbit.example", "sip:1001@pbx.hanbit.example"),
        ("sip:1001@10.0.0.5:5061;transport=tls", "sip:1001@10.0.0.5:5061;transport=tls"),
        ("010-1234-5678", "+821012345678"),
        ("1588-1234", "+8215881234"),
        ("client:", None),
        ("client:김민수", None),
        ("sip:pbx.example", None),
        ("kim.minsu", None),
        ("12345", None),
    ],
)
def test_endpoints_are_a_client_identity_a_sip_address_or_a_number(raw: str, endpoint: str | None) -> None:
    assert agents.normalise_endpoint(raw) == endpoint


async def test_the_agent_chooses_available_break_offline_audited(org: Org, sessions: Any, engine: Any) -> None:
    me = viewer(org, "agent.seocho")
    async with async_session_scope(sessions) as session:
        agent = await agents.choose_state(session, me, AVAILABLE, now=NOW)
        assert (agent.state, agent.state_since, agent.heartbeat_at) == ("available", NOW, NOW)
    later = NOW + timedelta(minutes=5)
    async with async_session_scope(sessions) as session:
        agent = await agents.choose_state(session, me, BREAK, now=later)
        again = await agents.choose_state(session, me, BREAK, now=later + timedelta(minutes=1))
        assert again.state_since == later  # the same state again is no change
    with Session(engine) as session:
        trail = session.exec(select(AuditEntry).where(AuditEntry.action == "agent.state")).all()
        assert [e.detail for e in trail] == [{"state": ["offline", "available"]}, {"state": ["available", "break"]}]
        assert {e.target for e in trail} == {f"staff:{me.staff_id}"}
    async with async_session_scope(sessions) as session:
        with pytest.raises(InvalidInput):
            await agents.choose_state(session, me, ON_CALL, now=later)


@pytest.mark.parametrize("holding", [OFFERED, ON_CALL])
async def test_a_call_offered_or_connected_holds_the_agent(org: Org, sessions: Any, holding: AgentState) -> None:
    me = viewer(org, "agent.seocho")
    async with async_session_scope(sessions) as session:
        await agents.choose_state(session, me, AVAILABLE, now=NOW)
        await agents.move_agent(session, me.staff_id, OFFERED, now=NOW, call_sid="CA" + "1" * 32)
        if holding is ON_CALL:
            await agents.move_agent(session, me.staff_id, ON_CALL, now=NOW)
    for chosen in (BREAK, OFFLINE, AVAILABLE):
        async with async_session_scope(sessions) as session:
            with pytest.raises(Conflict) as refused:
                await agents.choose_state(session, me, chosen, now=NOW)
    assert "통화" in refused.value.fields["state"]


async def test_the_desk_moves_through_a_call_and_keeps_when_it_ended(org: Org, sessions: Any) -> None:
    staff_id, sid = org.staff["agent.seocho"], "CA" + "2" * 32
    ended = NOW + timedelta(minutes=7)
    async with async_session_scope(sessions) as session:
        await agents.choose_state(session, viewer(org, "agent.seocho"), AVAILABLE, now=NOW)
        with pytest.raises(Conflict):
            await agents.move_agent(session, staff_id, ON_CALL, now=NOW)  # never offered
        await agents.move_agent(session, staff_id, OFFERED, now=NOW, call_sid=sid)
        await agents.move_agent(session, staff_id, ON_CALL, now=NOW)
        agent = await agents.move_agent(session, staff_id, WRAP_UP, now=ended)
        assert (agent.call_sid, agent.last_call_ended_at) == (sid, ended)
        agent = await agents.move_agent(session, staff_id, AVAILABLE, now=ended)
        assert agent.call_sid is None
        with pytest.raises(Conflict):
            await agents.move_agent(session, staff_id, WRAP_UP, now=ended)


async def test_silent_desks_go_offline_and_give_back_their_offer(org: Org, sessions: Any) -> None:
    ids = {name: org.staff[name] for name in ("agent.hq", "agent.seocho", "agent.haeundae")}
    sid = "CA" + "3" * 32
    async with async_session_scope(sessions) as session:
        for name in ids:
            await agents.choose_state(session, viewer(org, name), AVAILABLE, now=NOW)
        await agents.move_agent(session, ids["agent.seocho"], OFFERED, now=NOW, call_sid=sid)
        await agents.move_agent(session, ids["agent.haeundae"], OFFERED, now=NOW, call_sid="CA" + "4" * 32)
        await agents.move_agent(session, ids["agent.haeundae"], ON_CALL, now=NOW)
        assert await agents.heartbeat(session, ids["agent.hq"], now=NOW + timedelta(seconds=20))
        assert not await agents.heartbeat(session, org.staff["cm.seoul"], now=NOW)  # no desk profile
    async with async_session_scope(sessions) as session:
        silenced = await agents.silence_offline_agents(
            session, now=NOW + timedelta(seconds=30), silence=timedelta(seconds=15)
        )
    # The one on a call keeps it; the one who beat recently stays.
    assert silenced == [agents.SilencedAgent(ids["agent.seocho"], OFFERED, sid)]
    async with async_session_scope(sessions) as session:
        states = {a.staff_id: a.state for a in (await session.exec(select(DeskAgent))).all()}
    assert states == {ids["agent.hq"]: "available", ids["agent.seocho"]: "offline", ids["agent.haeundae"]: "on_call"}


async def test_available_agents_of_a_queue_longest_idle_first(org: Org, sessions: Any) -> None:
    names = ("agent.hq", "agent.seocho", "agent.haeundae", "cm.seoul")
    async with async_session_scope(sessions) as session:
        for n, name in enumerate(names):
            await agents.set_agent_profile(
                session,
                org.staff[name],
                skills=["consult"] if name == "agent.haeundae" else ["accident", "consult"],
                endpoint=f"client:{name}",
                now=NOW,
            )
            role = Role.CENTER_MANAGER if name.startswith("cm.") else Role.AGENT
            await agents.choose_state(session, viewer(org, name, role), AVAILABLE, now=NOW + timedelta(seconds=n))
        # agent.hq had a call that ended a minute ago: idle the shortest.
        hq = org.staff["agent.hq"]
        await agents.move_agent(session, hq, OFFERED, now=NOW, call_sid="CA" + "5" * 32)
        await agents.move_agent(session, hq, ON_CALL, now=NOW)
        await agents.move_agent(session, hq, WRAP_UP, now=NOW + timedelta(minutes=1))
        await agents.move_agent(session, hq, AVAILABLE, now=NOW + timedelta(minutes=2))
        accident = await agents.available_agents(session, ["accident"])
        consult = await agents.available_agents(session, ["consult", "change"])
    by_id = {v: k for k, v in org.staff.items()}
    assert [by_id[a.staff_id] for a in accident] == ["agent.seocho", "cm.seoul", "agent.hq"]
    assert [by_id[a.staff_id] for a in consult] == ["agent.seocho", "agent.haeundae", "cm.seoul", "agent.hq"]


async def test_only_desk_roles_get_a_profile_with_a_valid_endpoint(org: Org, sessions: Any) -> None:
    async with async_session_scope(sessions) as session:
        with pytest.raises(InvalidInput) as wrong:
            await agents.set_agent_profile(session, org.staff["am.seocho"], skills=[], endpoint=None, now=NOW)
        assert "staff_id" in wrong.value.fields
        with pytest.raises(InvalidInput) as wrong:
            await agents.set_agent_profile(session, org.staff["agent.hq"], skills=[], endpoint="pbx", now=NOW)
        assert "endpoint" in wrong.value.fields
        agent = await agents.set_agent_profile(
            session, org.staff["agent.hq"], skills=["consult", "accident", "consult"], endpoint="02-555-1234", now=NOW
        )
    assert (agent.skills, agent.endpoint, agent.state) == (["accident", "consult"], "+8225551234", "offline")
