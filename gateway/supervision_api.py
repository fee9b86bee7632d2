"""What center managers oversee, under /api/v1/: the blacklist (listing with review dates, revocation), customer
events nobody is addressed to, account managers due for their yearly certification. Thin handlers: parse, call
the store with the viewer, answer."""

from __future__ import annotations

from aiohttp import web

from crm_store.customers import blacklist_decisions, events
from crm_store.db import async_session_scope
from crm_store.managers import certifications
from crm_store.validation import business_today
from gateway.contract import Answered
from gateway.inputs import MAX_PAGE, bad_param, choice_param, int_param, json_body, path_id, request_viewer
from gateway.keys import RULES, SESSIONS


async def blacklist_entries(request: web.Request) -> Answered:
    """GET /api/v1/blacklist?state=&customer_id=&limit=&before="""
    state = choice_param(request, "state", blacklist_decisions.STATES) or "open"
    limit = int_param(request, "limit", default=100, high=MAX_PAGE) or 100
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        items = await blacklist_decisions.list_entries(
            session,
            request_viewer(request),
            as_of=business_today(),
            state=state,
            customer_id=int_param(request, "customer_id"),
            limit=limit,
            before_id=int_param(request, "before"),
        )
    following = f"/api/v1/blacklist?state={state}&limit={limit}&before={items[-1].id}" if len(items) == limit else None
    return blacklist_decisions.BlacklistPage.model_validate({"items": items, "next": following})


async def revoke_blacklist_entry(request: web.Request) -> Answered:
    """POST /api/v1/blacklist/{entry_id}/revoke"""
    viewer, entry_id = request_viewer(request), path_id(request, "entry_id")
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        # Who may, and which entry, before what they wrote: an outsider learns nothing from a validation error.
        await blacklist_decisions.entry_to_decide(session, viewer, entry_id)
        data = await json_body(request, blacklist_decisions.BlacklistRevoke)
        entry = await blacklist_decisions.revoke_entry(
            session, viewer, entry_id, data, rules=request.config_dict[RULES], as_of=business_today()
        )
    return blacklist_decisions.entry_public(entry, viewer, as_of=business_today())


async def customer_events(request: web.Request) -> Answered:
    """GET /api/v1/customer-events?unaddressed=&customer_id=&kind=&limit=&before="""
    unaddressed = request.query.get("unaddressed", "false").lower()
    if unaddressed not in ("true", "false"):
        raise bad_param("unaddressed", "true or false")
    limit = int_param(request, "limit", default=100, high=MAX_PAGE) or 100
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
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
    return events.CustomerEventPage.model_validate({"items": items, "next": following})


async def account_managers(request: web.Request) -> Answered:
    """GET /api/v1/account-managers?due=&within_days="""
    due = request.query.get("due", "false").lower()
    if due not in ("true", "false"):
        raise bad_param("due", "true or false")
    within_days = int_param(request, "within_days", default=certifications.DUE_DAYS, low=0, high=366)
    assert within_days is not None
    async with request.config_dict[SESSIONS]() as session:
        items = await certifications.list_managers(
            session, request_viewer(request), as_of=business_today(), due_only=due == "true", within_days=within_days
        )
    return certifications.ManagerCertificationList.model_validate({"items": items})
