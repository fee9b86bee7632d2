"""The demo's agents at the desk: each demo agent gets a Twilio Client identity as endpoint (`client:` and their
username, what the console's softphone signs in as) and the skills of the desk's queues, so that a demo call reaches
whichever agent is signed in. The queues serve the whole hotline (none belongs to a unit), so every agent's unit
serves them all. Profiles already there are left as they are."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crm_store.desk.agent_tables import AgentState, DeskAgent
from crm_store.desk.agents import normalise_endpoint
from crm_store.desk.tables import DeskQueue
from crm_store.org.tables import Role, Staff
from crm_store.types import utcnow
from crm_store.upsert import insert_ignoring_conflict


def seed_desk_agents(engine: Engine) -> int:
    """A desk profile for every active demo agent without one (run after the desk's queues are installed); how many
    were made."""
    now = utcnow()
    with Session(engine) as session:
        skills = sorted({skill for queue in session.exec(select(DeskQueue)).all() for skill in queue.skills})
        agents = session.exec(
            select(Staff.id, Staff.username).where(col(Staff.role) == Role.AGENT.value, col(Staff.active))
        ).all()
        before = session.scalar(select(func.count()).select_from(DeskAgent)) or 0
        for staff_id, username in agents:
            profile = {
                "staff_id": staff_id,
                "skills": skills,
                "endpoint": normalise_endpoint(f"client:{username}"),
                "state": AgentState.OFFLINE.value,
                "state_since": now,
                "last_call_ended_at": now,
            }
            session.exec(insert_ignoring_conflict(engine.dialect.name, DeskAgent, profile))  # type: ignore[call-overload]
        after = session.scalar(select(func.count()).select_from(DeskAgent)) or 0
        session.commit()
    return int(after - before)
