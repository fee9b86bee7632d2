"""The desk profile of a staff member as the console's staff member page shows it: the queues they serve (skills)
and where their calls are connected (endpoint); its form posts to `gateway.console.admin.update_desk_profile`."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.desk import agents, profiles
from crm_store.org.tables import Role, Staff


async def desk_context(session: AsyncSession, member: Staff) -> dict[str, Any] | None:
    """What the member page shows of the desk profile; None for a role without a desk."""
    if member.id is None or Role(member.role) not in agents.DESK_ROLES:
        return None
    agent = await agents.desk_agent(session, member.id)
    return {
        "skills": sorted(agent.skills) if agent is not None else [],
        "endpoint": agent.endpoint if agent is not None and agent.endpoint else "",
        "known": await profiles.known_skills(session),
        "expected": agents.ENDPOINT_EXPECTED,
    }
