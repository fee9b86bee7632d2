"""Agents' desk profiles under /api/v1/: a center manager or administrator sets the skills and endpoint of a staff
member of their part of the organisation. Thin handler: parse, call the store with the viewer, answer."""

from __future__ import annotations

from aiohttp import web

from crm_store.db import async_session_scope
from crm_store.desk import agents, profiles
from crm_store.types import utcnow
from gateway.contract import Answered
from gateway.desk import CLOCK
from gateway.inputs import json_body, request_viewer
from gateway.keys import SESSIONS


async def put_agent_profile(request: web.Request) -> Answered:
    """PUT /api/v1/agents/{username}"""
    data = await json_body(request, profiles.AgentProfileUpdate)
    viewer, username = request_viewer(request), request.match_info["username"]
    now = request.config_dict.get(CLOCK, utcnow)()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        agent = await profiles.update_agent_profile(session, viewer, username, data, now=now)  # type: ignore[arg-type]
    return agents.agent_state_public(agent, username)
