"""Agents at the desk: their profile (skills, endpoint), the state they choose or the desk moves them to, the
heartbeat that keeps them online, and the available agents of a queue longest idle first.

The agent chooses only `available`, `break` and `offline`, and not while a call is offered to them or connected
(they decline or finish it first); `offered`, `on_call` and `wrap_up` are the desk's. A desk connection that stops
beating makes its agent `offline`, whatever call was offered to them goes back to its queue (the caller of
`silence_offline_agents` offers it again)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field as PField
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import Actor, record_change
from crm_store.customers.phones import normalise_phone
from crm_store.desk.agent_tables import AgentState, DeskAgent
from crm_store.org.scope import Viewer
from crm_store.org.tables import Role, Staff
from crm_store.types import Answer, Input, Moment
from crm_store.upsert import insert_ignoring_conflict
from crm_store.validation import Conflict, InvalidInput, NotAllowed

# Who has a desk: agents, and center managers, who take calls when the queues overflow.
DESK_ROLES = frozenset({Role.AGENT, Role.CENTER_MANAGER})
CHOSEN = (AgentState.AVAILABLE, AgentState.BREAK, AgentState.OFFLINE)
# Where the desk may move an agent from each state. `offered` -> `break`: the offer was not answered in time.
DESK_MOVES: dict[AgentState, frozenset[AgentState]] = {
    AgentState.AVAILABLE: frozenset({AgentState.OFFERED, AgentState.OFFLINE}),
    AgentState.OFFERED: frozenset({AgentState.ON_CALL, AgentState.AVAILABLE, AgentState.BREAK, AgentState.OFFLINE}),
    AgentState.ON_CALL: frozenset({AgentState.WRAP_UP}),
    AgentState.WRAP_UP: frozenset({AgentState.AVAILABLE, AgentState.OFFLINE}),
    AgentState.BREAK: frozenset({AgentState.OFFLINE}),
    AgentState.OFFLINE: frozenset(),
}
# A call offered or connected holds the agent: their own choice waits until it is declined or ended.
HOLDING = frozenset({AgentState.OFFERED, AgentState.ON_CALL})
BUSY_MESSAGE = "통화가 제안되었거나 연결된 중에는 상태를 바꿀 수 없습니다 (decline or finish the call first)"

# Twilio Client identities: letters, digits and _ . - @ (Twilio allows up to 121 characters).
_CLIENT = re.compile(r"client:[A-Za-z0-9_.@-]{1,121}")
# sip:user@host[:port][;parameters]
_SIP = re.compile(r"sips?:[A-Za-z0-9_.!~*'()&=+$,;?/%-]+@[A-Za-z0-9.-]+(?::\d{1,5})?(?:;[A-Za-z0-9=_.-]+)*")
ENDPOINT_EXPECTED = "client:name, sip:user@host or a phone number (E.164 or any Korean format)"


def normalise_endpoint(raw: str) -> str | None:
    """Where a call is connected to an agent, in Twilio's terms: `client:name`, `sip:user@host` or an E.164
    number (written any common Korean way); None if it is none of them."""
    value = raw.strip()
    if _CLIENT.fullmatch(value) or _SIP.fullmatch(value):
        return value
    return normalise_phone(value)


class AgentStateChoice(Input):
    """PUT /api/v1/agents/me/state: the state the agent chooses."""

    state: Literal["available", "break", "offline"] = PField(description="available, break or offline")


class AgentStatePublic(Answer):
    """An agent's state and since when."""

    username: str = PField(description="the agent")
    state: AgentState = PField(description="available, offered, on_call, wrap_up, break or offline")
    since: Moment = PField(description="when the agent entered this state")
    skills: list[str] = PField(description="skills of the desk queues the agent serves")
    endpoint: str | None = PField(description="where calls are connected; null until set")


def agent_state_public(agent: DeskAgent, username: str) -> AgentStatePublic:
    """The profile as the API answers it."""
    return AgentStatePublic.model_validate(
        {
            "username": username,
            "state": agent.state,
            "since": agent.state_since,
            "skills": agent.skills,
            "endpoint": agent.endpoint,
        }
    )


async def _locked_agent(session: AsyncSession, staff_id: int, now: datetime) -> DeskAgent:
    """The agent's profile, locked for the transaction; an offline one with no skills made first if missing."""
    dialect = session.get_bind().dialect.name
    await session.exec(  # type: ignore[call-overload]
        insert_ignoring_conflict(
            dialect,
            DeskAgent,
            {
                "staff_id": staff_id,
                "skills": [],
                "state": AgentState.OFFLINE.value,
                "state_since": now,
                "last_call_ended_at": now,
            },
        )
    )
    query = select(DeskAgent).where(col(DeskAgent.staff_id) == staff_id).with_for_update()
    return (await session.exec(query.execution_options(populate_existing=True))).one()


def _enter(agent: DeskAgent, state: AgentState, now: datetime, call_sid: str | None) -> None:
    agent.state = state.value
    agent.state_since = now
    agent.call_sid = call_sid if state in (AgentState.OFFERED, AgentState.ON_CALL, AgentState.WRAP_UP) else None


def _audit(session: AsyncSession, actor: Actor, agent: DeskAgent, old: str, org_unit_id: int, now: datetime) -> None:
    record_change(
        session,
        actor,
        action="agent.state",
        target=f"staff:{agent.staff_id}",
        org_unit_id=org_unit_id,
        detail={"state": [old, agent.state]},
        now=now,
    )


async def choose_state(session: AsyncSession, viewer: Viewer, state: AgentState, *, now: datetime) -> DeskAgent:
    """The agent's own choice (available, break, offline), audited; Conflict while a call holds them, NotAllowed
    for a staff member without a desk."""
    if viewer.role not in DESK_ROLES:
        raise NotAllowed("only agents and center managers have a desk")
    if state not in CHOSEN:
        raise InvalidInput({"state": "available, break or offline"}, "the desk sets this state")
    agent = await _locked_agent(session, viewer.staff_id, now)
    old = agent.state
    if old == state.value:
        return agent
    if AgentState(old) in HOLDING:
        raise Conflict({"state": BUSY_MESSAGE}, f"the agent is {old}")
    _enter(agent, state, now, None)
    if state is not AgentState.OFFLINE:
        agent.heartbeat_at = now
    session.add(agent)
    _audit(session, viewer, agent, old, viewer.org_unit_id, now)
    await session.flush()
    return agent


async def move_agent(
    session: AsyncSession, staff_id: int, state: AgentState, *, now: datetime, call_sid: str | None = None
) -> DeskAgent:
    """The desk moves an agent (offer, connect, wrap up, time out); Conflict if the move is not one it may make
    from the agent's state (the offer went to someone else meanwhile)."""
    agent = await _locked_agent(session, staff_id, now)
    old = AgentState(agent.state)
    if state not in DESK_MOVES[old]:
        raise Conflict({"state": f"{old.value} cannot become {state.value}"}, f"the agent is {old.value}")
    if old is AgentState.ON_CALL:
        agent.last_call_ended_at = now
    _enter(agent, state, now, call_sid if call_sid is not None else agent.call_sid)
    session.add(agent)
    await session.flush()
    return agent


async def desk_agent(session: AsyncSession, staff_id: int) -> DeskAgent | None:
    """The agent's desk profile as stored; None for one never seen at the desk."""
    return await session.get(DeskAgent, staff_id, populate_existing=True)


async def heartbeat(session: AsyncSession, staff_id: int, *, now: datetime) -> bool:
    """The agent's desk connection is alive; False if they have no profile yet."""
    agent = await session.get(DeskAgent, staff_id)
    if agent is None:
        return False
    agent.heartbeat_at = now
    session.add(agent)
    await session.flush()
    return True


async def heartbeats(session: AsyncSession, staff_ids: Iterable[int], *, now: datetime) -> int:
    """The desks open in one gateway process are alive: one statement for all their agents; how many rows were
    written. A row another transaction holds (a distributor pass offering the agent a call) is passed over rather
    than waited for: the next beat writes it, well within the silence."""
    ids = sorted(set(staff_ids))
    if not ids:
        return 0
    free = select(col(DeskAgent.staff_id)).where(col(DeskAgent.staff_id).in_(ids)).with_for_update(skip_locked=True)
    result: Any = await session.exec(
        update(DeskAgent).where(col(DeskAgent.staff_id).in_(free)).values(heartbeat_at=now)  # type: ignore[call-overload]
    )
    return int(result.rowcount)


@dataclass(frozen=True)
class SilencedAgent:
    """An agent made offline for a silent connection, and the call offered to them (to be offered again)."""

    staff_id: int
    was: AgentState
    offered_call_sid: str | None


async def silence_offline_agents(session: AsyncSession, *, now: datetime, silence: timedelta) -> list[SilencedAgent]:
    """Every agent online (but on a call) whose last heartbeat is older than `silence` becomes offline; which."""
    quiet = (
        select(DeskAgent)
        .where(
            col(DeskAgent.state).not_in([AgentState.OFFLINE.value, AgentState.ON_CALL.value]),
            col(DeskAgent.heartbeat_at) < now - silence,
        )
        .with_for_update(skip_locked=True)
    )
    silenced: list[SilencedAgent] = []
    for agent in (await session.exec(quiet.execution_options(populate_existing=True))).all():
        was = AgentState(agent.state)
        offered = agent.call_sid if was is AgentState.OFFERED else None
        # Written only if the row is still as read: where the lock above is no lock (SQLite), a distributor pass
        # may have offered the agent a call since, and that offer must not be left with an offline agent.
        still = [
            col(DeskAgent.staff_id) == agent.staff_id,
            col(DeskAgent.state) == was.value,
            col(DeskAgent.heartbeat_at) < now - silence,
            col(DeskAgent.call_sid).is_(None) if agent.call_sid is None else col(DeskAgent.call_sid) == agent.call_sid,
        ]
        written: Any = await session.exec(
            update(DeskAgent)  # type: ignore[call-overload]
            .where(*still)
            .values(state=AgentState.OFFLINE.value, state_since=now, call_sid=None)
            .execution_options(synchronize_session=False)
        )
        if written.rowcount == 1:
            silenced.append(SilencedAgent(agent.staff_id, was, offered))
    return silenced


def available_agents_query(limit: int) -> Any:
    """The agents available now with an endpoint, longest idle first (by when their last call ended, then by when
    they became available)."""
    return (
        select(DeskAgent)
        .where(col(DeskAgent.state) == AgentState.AVAILABLE.value, col(DeskAgent.endpoint).is_not(None))
        .order_by(col(DeskAgent.last_call_ended_at), col(DeskAgent.state_since))
        .limit(limit)
    )


async def available_agents(session: AsyncSession, skills: Iterable[str], *, limit: int = 200) -> list[DeskAgent]:
    """The available agents with one of `skills` (a queue's), longest idle first."""
    wanted = set(skills)
    rows = (await session.exec(available_agents_query(limit))).all()
    return [agent for agent in rows if wanted.intersection(agent.skills)]


async def set_agent_profile(
    session: AsyncSession, staff_id: int, *, skills: Sequence[str], endpoint: str | None, now: datetime
) -> DeskAgent:
    """Set the skills and endpoint of a staff member with a desk; InvalidInput for another role or endpoint."""
    staff = await session.get(Staff, staff_id)
    if staff is None or Role(staff.role) not in DESK_ROLES:
        raise InvalidInput({"staff_id": "an agent or center manager"}, "no desk for this staff member")
    if endpoint is not None:
        endpoint = normalise_endpoint(endpoint)
        if endpoint is None:
            raise InvalidInput({"endpoint": ENDPOINT_EXPECTED})
    agent = await _locked_agent(session, staff_id, now)
    agent.skills = sorted(set(skills))
    agent.endpoint = endpoint
    session.add(agent)
    await session.flush()
    return agent
