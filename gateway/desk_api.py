"""The live desk's API under /api/v1/: the agent's own state, and customer search to link a caller to a customer.
Thin handlers: parse, call the store with the viewer, answer."""

from __future__ import annotations

import re
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from crm_store.customers import search
from crm_store.db import async_session_scope
from crm_store.desk import agents
from crm_store.desk.agent_tables import AgentState
from crm_store.desk.open_cases import open_cases
from crm_store.types import utcnow
from gateway.contract import Answered
from gateway.desk import CLOCK, wake_distributor
from gateway.desk_frames import CALL_SID
from gateway.desk_socket import publish_state
from gateway.inputs import MAX_ID, MAX_PAGE, bad_param, json_body, paging, path_id, request_viewer
from gateway.keys import SESSIONS

SEARCH_PAGE = 20


class SearchQuery(BaseModel):
    """GET /api/v1/customers/search."""

    model_config = ConfigDict(extra="forbid")
    q: str = Field(min_length=1, max_length=64, description=search.EXPECTED)
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] | None = Field(default=None, description="at most this many")
    before: Annotated[int, Field(ge=1, le=MAX_ID)] | None = Field(
        default=None, description="only customers with a smaller id (the next page)"
    )


async def put_my_state(request: web.Request) -> Answered:
    """PUT /api/v1/agents/me/state"""
    choice = await json_body(request, agents.AgentStateChoice)
    viewer = request_viewer(request)
    now = request.config_dict.get(CLOCK, utcnow)()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        agent = await agents.choose_state(session, viewer, AgentState(choice.state), now=now)
    await publish_state(request.config_dict, agent)
    if agent.state == AgentState.AVAILABLE.value:
        wake_distributor(request.config_dict)
    return agents.agent_state_public(agent, viewer.username)


async def search_customers(request: web.Request) -> Answered:
    """GET /api/v1/customers/search?q=&limit=&before="""
    text = request.query.get("q", "")
    if not text.strip() or len(text) > 64:
        raise bad_param("q", search.EXPECTED)
    wanted = paging(request, default=SEARCH_PAGE)
    try:
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            found, more = await search.search_customers(
                session, request_viewer(request), text, limit=wanted.limit, before_id=wanted.before
            )
    except search.UnsearchableText as err:
        raise bad_param("q", str(err)) from err
    following = None
    if more:
        after = {"q": text, "limit": str(wanted.limit), "before": str(found[-1]["id"])}
        following = str(request.rel_url.with_query(after))
    return search.CustomerSearchPage.model_validate({"items": found, "next": following})


async def customer_open_cases(request: web.Request) -> Answered:
    """GET /api/v1/customers/{customer_id}/open-cases?call_sid="""
    call_sid = request.query.get("call_sid") or None
    if call_sid is not None and not re.fullmatch(CALL_SID, call_sid):
        raise bad_param("call_sid", "a Twilio CallSid (CA followed by 32 hex digits)")
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        return await open_cases(session, request_viewer(request), path_id(request, "customer_id"), call_sid=call_sid)
