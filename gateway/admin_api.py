"""JSON API of administration: org units and staff (create, change, deactivate, reset a password), and the
audit trail as an auditor queries it. Thin handlers: the store checks who may do what and records it.

Invalid fields of a body answer 422 with `{"error", "fields"}` (as everywhere in the API; a malformed query
parameter 400); a non-administrator 403; a staff member outside the
administrator's part of the organisation 404; a collision with stored data (a code or username taken, a unit
that still has staff) 409.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from aiohttp import web
from pydantic import SecretStr

from crm_store import audit
from crm_store.db import async_session_scope
from crm_store.org import admin
from crm_store.org.auth import hash_password
from crm_store.types import utcnow
from crm_store.validation import BUSINESS_TZ, Conflict, InvalidInput
from gateway.contract import Answered, Reply
from gateway.inputs import MAX_ID, is_whole_number, json_body, paging, path_id, request_viewer
from gateway.keys import EXECUTOR, SESSIONS, TOKEN_CACHE
from gateway.middlewares import json_field_error

Result = TypeVar("Result")


def bad_request(fields: dict[str, str], message: str = "invalid input") -> web.HTTPException:
    """400 naming each invalid query parameter."""
    return json_field_error(web.HTTPBadRequest, message, fields)


def invalid_body(fields: dict[str, str], message: str = "invalid input") -> web.HTTPException:
    """422 naming each invalid field of the body."""
    return json_field_error(web.HTTPUnprocessableEntity, message, fields)


async def _checked(work: Awaitable[Result]) -> Result:
    """Run a store call; its invalid-field errors become 422 (conflicts stay 409, refusals 403)."""
    try:
        return await work
    except Conflict:
        raise
    except InvalidInput as err:
        raise invalid_body(err.fields, str(err)) from err


async def hash_off_loop(request: web.Request, password: SecretStr | None) -> str | None:
    """The argon2 hash of a new password, computed in the executor (tens of milliseconds of CPU)."""
    if password is None:
        return None
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.config_dict[EXECUTOR], hash_password, password.get_secret_value())


# -- org units -------------------------------------------------------------------------------------


async def create_org_unit(request: web.Request) -> Answered:
    """POST /api/v1/org-units"""
    data = await json_body(request, admin.OrgUnitCreate)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        unit = await _checked(admin.create_org_unit(session, request_viewer(request), data, now=utcnow()))
        body = admin.unit_public(unit)
    return Reply(body, {"Location": f"/api/v1/org-units/{unit.id}"})


async def update_org_unit(request: web.Request) -> Answered:
    """PATCH /api/v1/org-units/{unit_id}"""
    data = await json_body(request, admin.OrgUnitUpdate)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        unit = await _checked(
            admin.update_org_unit(session, request_viewer(request), path_id(request, "unit_id"), data, now=utcnow())
        )
        body = admin.unit_public(unit)
    return body


# -- staff -----------------------------------------------------------------------------------------


async def create_staff(request: web.Request) -> Answered:
    """POST /api/v1/staff"""
    data = await json_body(request, admin.StaffCreate)
    password_hash = await hash_off_loop(request, data.password)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        staff = await _checked(
            admin.create_staff(session, request_viewer(request), data, password_hash=password_hash, now=utcnow())
        )
        body = admin.staff_public(staff)
    return Reply(body, {"Location": f"/api/v1/staff/{staff.id}"})


async def update_staff(request: web.Request) -> Answered:
    """PATCH /api/v1/staff/{staff_id}"""
    data = await json_body(request, admin.StaffUpdate)
    staff_id = path_id(request, "staff_id")
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        staff = await _checked(admin.update_staff(session, request_viewer(request), staff_id, data, now=utcnow()))
        body = admin.staff_public(staff)
    if not staff.active:
        request.config_dict[TOKEN_CACHE].drop_staff(staff_id)
    return body


async def reset_password(request: web.Request) -> Answered:
    """POST /api/v1/staff/{staff_id}/password"""
    data = await json_body(request, admin.PasswordReset)
    staff_id = path_id(request, "staff_id")
    async with request.config_dict[SESSIONS]() as session:
        await admin.administered_staff(session, request_viewer(request), staff_id)  # refuse before hashing
    password_hash = await hash_off_loop(request, data.password)
    assert password_hash is not None
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        staff = await admin.reset_password(
            session, request_viewer(request), staff_id, password_hash=password_hash, now=utcnow()
        )
        body = admin.staff_public(staff)
    request.config_dict[TOKEN_CACHE].drop_staff(staff_id)  # the reset revoked their tokens
    return body


# -- the audit trail -------------------------------------------------------------------------------


def _moment(raw: str, name: str, *, end: bool) -> datetime:
    """A date (a whole business day in Korea: `until` includes it) or an ISO date-time (naive: Korean time)."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=BUSINESS_TZ)
        moment = datetime.fromisoformat(raw)
    except ValueError as err:
        raise bad_request({name: "a date (2026-11-25) or date-time (2026-11-25T09:00)"}) from err
    return moment if moment.tzinfo else moment.replace(tzinfo=BUSINESS_TZ)


def audit_filter(query: Any) -> audit.AuditFilter:
    """The filter of GET /api/v1/audit and the console's audit page (400 for a malformed value)."""
    raw_customer = query.get("customer_id") or ""
    if raw_customer and (not is_whole_number(raw_customer) or not 1 <= int(raw_customer) <= MAX_ID):
        raise bad_request({"customer_id": "a customer id"}, "invalid parameter customer_id")
    username = (query.get("username") or "").strip() or None
    if username is not None and len(username) > 64:
        raise bad_request({"username": "at most 64 characters"}, "invalid parameter username")
    action = (query.get("action") or "").strip() or None
    if action is not None and len(action) > 32:
        raise bad_request({"action": "read, change, or an action such as staff.created"})
    since = _moment(query["since"], "since", end=False) if query.get("since") else None
    until = _moment(query["until"], "until", end=True) if query.get("until") else None
    if since is not None and until is not None and until <= since:
        raise bad_request({"until": "after since"})
    return audit.AuditFilter(
        customer_id=int(raw_customer) if raw_customer else None,
        username=username,
        action=action,
        since=since,
        until=until,
    )


async def audit_trail(request: web.Request) -> Answered:
    """GET /api/v1/audit?customer_id=&username=&action=&since=&until=&limit=&before=

    One customer's trail for anyone who sees the customer; without customer_id, administrators and executives
    query their part of the organisation by person, action and date range."""
    wanted = audit_filter(request.query)
    page_of = paging(request)
    limit, before = page_of.limit, page_of.before
    async with request.config_dict[SESSIONS]() as session:
        entries = await audit.search_audit(session, request_viewer(request), wanted, limit=limit + 1, before_id=before)
    page, more = entries[:limit], len(entries) > limit
    following = None
    if more and page:
        query = {k: v for k, v in request.query.items() if k not in ("before", "limit") and v}
        query.update(limit=str(limit), before=str(page[-1].id))
        following = str(request.rel_url.with_query(query))
    return audit.AuditPage(items=[audit.audit_public(e) for e in page], next=following)
