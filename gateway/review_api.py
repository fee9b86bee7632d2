"""The review queue's JSON API: the queue, API tokens (list, revoke), corrections as training data."""

from __future__ import annotations

from aiohttp import web

from crm_store.calls.tables import CallType
from crm_store.db import async_session_scope
from crm_store.org import auth
from crm_store.review import queue as review
from crm_store.review.tables import ReviewState
from crm_store.types import utcnow
from gateway.contract import Answered
from gateway.inputs import choice_param, int_param, path_id, request_viewer
from gateway.keys import SESSIONS, TOKEN_CACHE


async def review_items(request: web.Request) -> Answered:
    """GET /api/v1/review-items?type=&urgency=&state=: the viewer's own queue."""
    async with request.config_dict[SESSIONS]() as session:
        rows = await review.review_queue(
            session,
            request_viewer(request),
            type_=choice_param(request, "type", CallType),
            urgency=choice_param(request, "urgency", review.URGENCY_ORDER),
            state=choice_param(request, "state", ReviewState),
        )
    return review.ReviewItemList(items=[review.item_public(item) for item, _call in rows])


async def take_review_item(request: web.Request) -> Answered:
    """POST /api/v1/review-items/{item_id}/take"""
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        item = await review.take_item(session, request_viewer(request), path_id(request, "item_id"), now=utcnow())
    return review.item_public(item)


async def tokens(request: web.Request) -> Answered:
    """GET /api/v1/tokens: the caller's API tokens (an administrator: those of their part of the organisation)."""
    async with request.config_dict[SESSIONS]() as session:
        items = await auth.list_tokens(session, request_viewer(request))
    return auth.TokenList(items=[auth.token_public(t) for t in items])


async def revoke_token(request: web.Request) -> Answered:
    """DELETE /api/v1/tokens/{token_id}: a token within the caller's reach (404 otherwise), audited."""
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        token, _holder = await auth.revoke_token(
            session, request_viewer(request), path_id(request, "token_id"), now=utcnow()
        )
    request.config_dict[TOKEN_CACHE].drop(token.token_hash)
    return auth.token_public(token)


async def corrections(request: web.Request) -> Answered:
    """GET /api/v1/corrections?after=: corrections of calls in scope as training rows, masked, audited."""
    after = int_param(request, "after", low=0)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:  # the export is audited: commit
        items = await review.corrections_export(session, request_viewer(request), after_id=after)
    return review.CorrectionList.model_validate({"items": items})
