"""What center managers oversee, under /api/v1/: the blacklist (listing with review dates, revocation), customer
events nobody is addressed to, account managers due for their yearly certification. Thin handlers: parse, call
the store with the viewer, answer."""

from __future__ import annotations

from aiohttp import web

from crm_store import blacklist_decisions, certifications, events
from crm_store.db import async_session_scope
from crm_store.validation import business_today
from gateway.customers_api import MAX_PAGE, RULES, bad_param, int_param, request_viewer
from gateway.keys import SESSIONS


async def blacklist_entries(request: web.Request) -> web.Response:
    """GET /api/v1/blacklist?state=&customer_id=&limit=&before="""
    state = request.query.get("state") or "open"
    if state not in blacklist_decisions.STATES:
        raise bad_param("state", f"one of {', '.join(blacklist_decisions.STATES)}")
    limit = int_param(request, "limit", default=100, high=MAX_PAGE) or 100
    async with async_session_scope(request.app[SESSIONS]) as session:
        items = await blacklist_decisions.list_entries(
            session,
            request_viewer(request),
            as_of=business_today(),
            state=state,
            customer_id=int_param(request, "customer_id"),
            limit=limit,
            before_id=int_param(request, "before"),
        )
    following = (
        f"/api/v1/blacklist?state={state}&limit={limit}&before={items[-1]['id']}" if len(items) == limit else None
    )
    return web.json_response({"items": items, "next": following})


async def revoke_blacklist_entry(request: web.Request) -> web.Response:
    """POST /api/v1/blacklist/{entry_id}/revoke"""
    viewer, entry_id = request_viewer(request), int(request.match_info["entry_id"])
    async with async_session_scope(request.app[SESSIONS]) as session:
        # Who may, and which entry, before what they wrote: an outsider learns nothing from a validation error.
        await blacklist_decisions.entry_to_decide(session, viewer, entry_id)
        data = blacklist_decisions.BlacklistRevoke.model_validate_json(await request.read())
        entry = await blacklist_decisions.revoke_entry(
            session, viewer, entry_id, data, rules=request.app[RULES], as_of=business_today()
        )
    return web.json_response(blacklist_decisions.entry_public(entry, viewer, as_of=business_today()))


async def customer_events(request: web.Request) -> web.Response:
    """GET /api/v1/customer-events?unaddressed=&customer_id=&kind=&limit=&before="""
    unaddressed = request.query.get("unaddressed", "false").lower()
    if unaddressed not in ("true", "false"):
        raise bad_param("unaddressed", "true or false")
    limit = int_param(request, "limit", default=100, high=MAX_PAGE) or 100
    async with async_session_scope(request.app[SESSIONS]) as session:
        items = await events.list_events(
            session,
            request_viewer(request),
            unaddressed=unaddressed == "true",
            customer_id=int_param(request, "customer_id"),
            kind=request.query.get("kind") or None,
            limit=limit,
            before_id=int_param(request, "before"),
        )
    following = None
    if len(items) == limit:
        following = f"/api/v1/customer-events?unaddressed={unaddressed}&limit={limit}&before={items[-1]['id']}"
    return web.json_response({"items": items, "next": following})


async def account_managers(request: web.Request) -> web.Response:
    """GET /api/v1/account-managers?due=&within_days="""
    due = request.query.get("due", "false").lower()
    if due not in ("true", "false"):
        raise bad_param("due", "true or false")
    raw = request.query.get("within_days") or str(certifications.DUE_DAYS)
    if not raw.isdigit() or int(raw) > 366:
        raise bad_param("within_days", "a whole number of days from 0 to 366")
    async with request.app[SESSIONS]() as session:
        items = await certifications.list_managers(
            session, request_viewer(request), as_of=business_today(), due_only=due == "true", within_days=int(raw)
        )
    return web.json_response({"items": items})


def setup_routes(app: web.Application) -> None:
    """Register the oversight routes (after the customer API, whose rules they share)."""
    r = app.router
    r.add_get("/api/v1/blacklist", blacklist_entries)
    r.add_post(r"/api/v1/blacklist/{entry_id:\d+}/revoke", revoke_blacklist_entry)
    r.add_get("/api/v1/customer-events", customer_events)
    r.add_get("/api/v1/account-managers", account_managers)
