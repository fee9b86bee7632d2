"""Administration of the agents' desk profiles: where their calls are connected (endpoint) and which queues they
serve (skills), set by a center manager or an administrator for a staff member of their part of the organisation,
audited (`agent.profile`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import Field as PField
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_change
from crm_store.desk.agent_tables import DeskAgent
from crm_store.desk.agents import DESK_ROLES, ENDPOINT_EXPECTED, set_agent_profile
from crm_store.desk.tables import DeskQueue
from crm_store.errors import NotFound
from crm_store.org.scope import Viewer
from crm_store.org.tables import OrgUnit, Role, Staff
from crm_store.types import Input
from crm_store.validation import InvalidInput, NotAllowed

# Who sets agents' profiles: the center's managers, and administrators.
PROFILE_KEEPERS = frozenset({Role.CENTER_MANAGER, Role.ADMIN})


class AgentProfileUpdate(Input):
    """PUT /api/v1/agents/{username}: the agent's skills and endpoint (both replaced)."""

    skills: list[str] = PField(max_length=32, description="skills of the desk queues the agent serves")
    endpoint: str | None = PField(
        default=None, max_length=160, description=f"where calls are connected: {ENDPOINT_EXPECTED}; null: none"
    )


async def known_skills(session: AsyncSession) -> list[str]:
    """Every skill some desk queue asks for, sorted."""
    queues = (await session.exec(select(col(DeskQueue.skills)))).all()
    return sorted({skill for skills in queues for skill in skills or ()})


@dataclass(frozen=True)
class DeskMember:
    """A staff member with a desk as the profile page lists them: who, where, and their profile (if any yet)."""

    staff: Staff
    unit_name: str
    agent: DeskAgent | None


async def desk_roster(session: AsyncSession, viewer: Viewer, *, limit: int = 500) -> list[DeskMember]:
    """The active agents and center managers of the viewer's part of the organisation, by unit then username, with
    their desk profiles; NotAllowed for a viewer who sets none."""
    if viewer.role not in PROFILE_KEEPERS:
        raise NotAllowed("only center managers and administrators set agents' desk profiles")
    mine = await session.get(OrgUnit, viewer.org_unit_id)
    if mine is None:
        return []
    rows = await session.exec(
        select(Staff, col(OrgUnit.name), DeskAgent)
        .join(OrgUnit, col(OrgUnit.id) == col(Staff.org_unit_id))
        .outerjoin(DeskAgent, col(DeskAgent.staff_id) == col(Staff.id))
        .where(
            col(OrgUnit.path).startswith(mine.path),
            col(Staff.role).in_([role.value for role in DESK_ROLES]),
            col(Staff.active),
        )
        .order_by(col(OrgUnit.path), col(Staff.username))
        .limit(limit)
    )
    return [DeskMember(staff, name, agent) for staff, name, agent in rows.all()]


async def profiled_staff(session: AsyncSession, viewer: Viewer, username: str) -> Staff:
    """The staff member whose profile the viewer may set: NotAllowed for a viewer who sets none, NotFound outside
    their part of the organisation (as if there were none)."""
    if viewer.role not in PROFILE_KEEPERS:
        raise NotAllowed("only center managers and administrators set agents' desk profiles")
    staff = (await session.exec(select(Staff).where(col(Staff.username) == username))).first()
    unit = await session.get(OrgUnit, staff.org_unit_id) if staff is not None else None
    mine = await session.get(OrgUnit, viewer.org_unit_id)
    if staff is None or unit is None or mine is None or not unit.path.startswith(mine.path):
        raise NotFound(f"no staff member {username!r}")
    return staff


async def update_agent_profile(
    session: AsyncSession, viewer: Viewer, username: str, data: AgentProfileUpdate, *, now: datetime
) -> DeskAgent:
    """Set a desk profile in the viewer's part of the organisation; skills must be those of desk queues; audited
    when something changed."""
    staff = await profiled_staff(session, viewer, username)
    assert staff.id is not None
    if Role(staff.role) not in DESK_ROLES:
        raise InvalidInput({"username": "an agent or center manager"}, "no desk for this staff member")
    known = await known_skills(session)
    unknown = sorted(set(data.skills) - set(known))
    if unknown:
        raise InvalidInput({"skills": f"unknown {', '.join(unknown)}; known: {', '.join(known)}"})
    before = await session.get(DeskAgent, staff.id)
    old = (sorted(before.skills), before.endpoint) if before is not None else ([], None)
    agent = await set_agent_profile(session, staff.id, skills=data.skills, endpoint=data.endpoint, now=now)
    detail = {
        name: [was, now_is]
        for name, was, now_is in (("skills", old[0], agent.skills), ("endpoint", old[1], agent.endpoint))
        if was != now_is
    }
    if detail:
        record_change(
            session,
            viewer,
            action="agent.profile",
            target=f"staff:{staff.id}",
            org_unit_id=staff.org_unit_id,
            detail=detail,
            now=now,
        )
        await session.flush()
    return agent
