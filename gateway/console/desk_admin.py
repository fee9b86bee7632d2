"""Agents' desk profiles in the console: the queues they serve (skills) and where their calls are connected
(endpoint). Center managers and administrators list the agents of their part of the organisation and set each one's
profile (/console/agents); administrators also on the staff member page (`gateway.console.admin`). A refused form
comes back on the same page with its reason."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiMapping
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.db import async_session_scope
from crm_store.desk import agents, profiles
from crm_store.errors import NotFound
from crm_store.org.tables import Role, Staff
from crm_store.types import utcnow
from crm_store.validation import InvalidInput, NotAllowed
from gateway.console.render import PageError, page_error, render
from gateway.inputs import path_id, request_viewer
from gateway.keys import SESSIONS
from gateway.middlewares import Problem, store_problem


def profile_form(form: MultiMapping[Any]) -> profiles.AgentProfileUpdate:
    """The desk form's fields (`skill` repeated, `endpoint`: blank for none) as the store's input."""
    endpoint = str(form.get("endpoint") or "").strip() or None
    return profiles.AgentProfileUpdate(skills=[str(skill) for skill in form.getall("skill", [])], endpoint=endpoint)


def _profile(agent: Any, known: list[str]) -> dict[str, Any]:
    return {
        "skills": sorted(agent.skills) if agent is not None else [],
        "endpoint": agent.endpoint if agent is not None and agent.endpoint else "",
        "state": agent.state if agent is not None else "offline",
        "known": known,
    }


async def desk_context(session: AsyncSession, member: Staff) -> dict[str, Any] | None:
    """What the staff member page shows of the desk profile; None for a role without a desk."""
    if member.id is None or Role(member.role) not in agents.DESK_ROLES:
        return None
    return _profile(await agents.desk_agent(session, member.id), await profiles.known_skills(session))


def form_error(err: Exception) -> PageError:
    """A refused desk form's error (an invalid form answers 400, as a form does)."""
    problem = store_problem(err)
    assert problem is not None
    return page_error(Problem(400, problem.message, problem.fields) if problem.status == 422 else problem)


async def _roster_page(request: web.Request, *, error: PageError | None = None) -> web.Response:
    async with request.config_dict[SESSIONS]() as session:
        roster = await profiles.desk_roster(session, request_viewer(request))
        known = await profiles.known_skills(session)
    members = [{"member": m.staff, "unit": m.unit_name, "desk": _profile(m.agent, known)} for m in roster]
    return render(request, "agents.html", {"members": members}, error=error)


async def roster_page(request: web.Request) -> web.Response:
    """GET /console/agents"""
    return await _roster_page(request)


async def update_profile(request: web.Request) -> web.StreamResponse:
    """POST /console/agents/{staff_id}"""
    form = await request.post()
    staff_id = path_id(request, "staff_id")
    viewer = request_viewer(request)
    if viewer.role not in profiles.PROFILE_KEEPERS:
        raise NotAllowed("only center managers and administrators set agents' desk profiles")
    try:
        data = profile_form(form)
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            staff = await session.get(Staff, staff_id)
            if staff is None:
                raise NotFound(f"no staff member {staff_id}")
            await profiles.update_agent_profile(session, viewer, staff.username, data, now=utcnow())
    except (ValidationError, InvalidInput) as err:
        return await _roster_page(request, error=form_error(err))
    raise web.HTTPSeeOther(f"/console/agents#agent-{staff_id}")


def setup_routes(app: web.Application) -> None:
    """Register on the console sub-application (mounted at /console)."""
    app.router.add_get("/agents", roster_page)
    app.router.add_post(r"/agents/{staff_id:\d{1,10}}", update_profile)
