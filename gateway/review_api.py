"""JSON API of issue 5: the review queue, API tokens (list, revoke), corrections as training data."""

from __future__ import annotations

from aiohttp import web

from crm_store import auth, review
from crm_store.db import async_session_scope
from crm_store.scope import Viewer
from crm_store.types import utcnow
from gateway.keys import SESSIONS
from gateway.middlewares import STAFF, json_http_error, token_cache


def _viewer(request: web.Request) -> Viewer:
    return Viewer.of(request[STAFF], remote_addr=request.remote)


async def review_items(request: web.Request) -> web.Response:
    """GET /api/v1/review-items?type=&urgency=&state=: the viewer's own queue."""
    async with request.app[SESSIONS]() as session:
        rows = await review.review_queue(
            session,
            _viewer(request),
            type_=request.query.get("type") or None,
            urgency=request.query.get("urgency") or None,
            state=request.query.get("state") or None,
        )
    return web.json_response({"items": [review.item_public(item) for item, _call in rows]})


async def take_review_item(request: web.Request) -> web.Response:
    """POST /api/v1/review-items/{item_id}/take"""
    async with async_session_scope(request.app[SESSIONS]) as session:
        item = await review.take_item(session, _viewer(request), int(request.match_info["item_id"]), now=utcnow())
    return web.json_response(review.item_public(item))


async def tokens(request: web.Request) -> web.Response:
    """GET /api/v1/tokens: the caller's API tokens (an administrator: those of their part of the organisation)."""
    async with request.app[SESSIONS]() as session:
        items = await auth.list_tokens(session, _viewer(request))
    return web.json_response({"items": [auth.token_public(t) for t in items]})


async def revoke_token(request: web.Request) -> web.Response:
    """DELETE /api/v1/tokens/{token_id}: a token within the caller's reach (404 otherwise), audited."""
    async with async_session_scope(request.app[SESSIONS]) as session:
        token, _holder = await auth.revoke_token(
            session, _viewer(request), int(request.match_info["token_id"]), now=utcnow()
        )
    token_cache(request.app).drop(token.token_hash)
    return web.json_response(auth.token_public(token))


async def corrections(request: web.Request) -> web.Response:
    """GET /api/v1/corrections?after=: corrections of calls in scope as training rows, masked, audited."""
    raw = request.query.get("after", "")
    if raw and not raw.isdigit():
        raise json_http_error(web.HTTPBadRequest, "after must be a whole number")
    async with async_session_scope(request.app[SESSIONS]) as session:  # the export is audited: commit
        items = await review.corrections_export(session, _viewer(request), after_id=int(raw) if raw else None)
    return web.json_response({"items": items})


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/review-items", review_items)
    r.add_post(r"/api/v1/review-items/{item_id:\d+}/take", take_review_item)
    r.add_get("/api/v1/tokens", tokens)
    r.add_delete(r"/api/v1/tokens/{token_id:\d+}", revoke_token)
    r.add_get("/api/v1/corrections", corrections)
