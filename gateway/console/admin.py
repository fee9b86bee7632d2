"""Console pages of administration and audit: org units, staff (create, change role, unit and grade, deactivate,
reset a password), and the audit trail for administrators and executives. Server-rendered, CSRF-checked forms;
the store decides who may do what, and a refused or invalid form comes back with its reason."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from crm_store import audit
from crm_store.db import async_session_scope
from crm_store.desk import profiles
from crm_store.errors import CustomerNotFound, NotFound
from crm_store.org import admin
from crm_store.org.auth import hash_password
from crm_store.org.tables import OrgUnit, Role
from crm_store.types import utcnow
from crm_store.validation import InvalidInput, NotAllowed
from gateway import labels
from gateway.admin_api import audit_filter
from gateway.console.desk_admin import desk_context, profile_form
from gateway.console.render import PageError, page_error, render
from gateway.inputs import MAX_ID, is_whole_number, path_id, request_viewer
from gateway.keys import EXECUTOR, SESSIONS, TOKEN_CACHE
from gateway.middlewares import Problem, store_problem

AUDIT_PAGE = 100
# What a refused or invalid form shows again with its reason (NotFound instead is a page of its own).
REFUSED = (ValidationError, InvalidInput, NotAllowed)


def _problem(err: Exception) -> PageError:
    """The error a refused or invalid form comes back with (an invalid form answers 400, as a form does)."""
    problem = store_problem(err)
    assert problem is not None
    if problem.status == 422:
        problem = Problem(400, problem.message, problem.fields)
    return page_error(problem)


def _refused(request: web.Request, err: Exception, status: int) -> web.Response:
    """A page refused whole (not an administrator, no such staff member): an error page of that status."""
    return render(request, "error.html", error=page_error(Problem(status, str(err))))


def _form_values(form: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Form fields as the store's input models take them: numbers as numbers, 1/0 as yes/no, blanks left out."""
    values: dict[str, Any] = {}
    for name in names:
        raw = form.get(name)
        if not isinstance(raw, str) or raw.strip() == "":
            continue
        raw = raw.strip() if name != "password" else raw
        if name in ("org_unit_id", "parent_id", "clearance"):
            values[name] = int(raw) if is_whole_number(raw) else raw
        elif name == "active":
            values[name] = raw == "1"
        else:
            values[name] = raw
    return values


def _unit_label(unit: OrgUnit) -> str:
    indent = "\u3000" * unit.level
    closed = f" ({labels.UNIT_STATES[False]})" if not unit.active else ""
    return f"{indent}{unit.name} [{unit.code}]{closed}"


async def _hash(request: web.Request, password: str | None) -> str | None:
    if not password:
        return None
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.config_dict[EXECUTOR], hash_password, password)


# -- org units -------------------------------------------------------------------------------------


async def _org_units_page(request: web.Request, *, error: PageError | None = None) -> web.Response:
    viewer = request_viewer(request)
    async with request.config_dict[SESSIONS]() as session:
        try:
            mine = await admin.administered_units(session, viewer)
        except NotAllowed as err:
            return _refused(request, err, 403)
        units = await admin.org_units(session)
    context = {
        "units": [
            {"unit": unit, "label": _unit_label(unit), "editable": unit.id in mine and unit.id != viewer.org_unit_id}
            for unit in units
        ],
        "parents": {str(u.id): _unit_label(u) for u in units if u.id in mine and u.active and u.level < 3},
    }
    return render(request, "org_units.html", context, error=error)


async def org_units_page(request: web.Request) -> web.Response:
    """GET /console/admin/org-units: the tree; create, rename, close and reopen the units one administers."""
    return await _org_units_page(request)


async def create_org_unit(request: web.Request) -> web.StreamResponse:
    """POST /console/admin/org-units"""
    form = await request.post()
    try:
        data = admin.OrgUnitCreate.model_validate(_form_values(form, ("code", "name", "parent_id")))
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            await admin.create_org_unit(session, request_viewer(request), data, now=utcnow())
    except REFUSED as err:
        return await _org_units_page(request, error=_problem(err))
    raise web.HTTPSeeOther("/console/admin/org-units")


async def update_org_unit(request: web.Request) -> web.StreamResponse:
    """POST /console/admin/org-units/{unit_id}: rename (name), close (active=0) or reopen (active=1)."""
    form = await request.post()
    try:
        data = admin.OrgUnitUpdate.model_validate(_form_values(form, ("name", "active")))
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            await admin.update_org_unit(
                session, request_viewer(request), path_id(request, "unit_id"), data, now=utcnow()
            )
    except NotFound as err:
        return _refused(request, err, 404)
    except REFUSED as err:
        return await _org_units_page(request, error=_problem(err))
    raise web.HTTPSeeOther("/console/admin/org-units")


# -- staff -----------------------------------------------------------------------------------------


async def _staff_list_page(request: web.Request, *, error: PageError | None = None) -> web.Response:
    viewer, query = request_viewer(request), request.query
    role = query.get("role") or None
    state = query.get("state") or None
    raw_unit = query.get("org_unit_id") or ""
    if (
        role not in (None, *labels.ROLES)
        or state not in (None, *labels.STAFF_STATES)
        or not (raw_unit == "" or is_whole_number(raw_unit) and int(raw_unit) <= MAX_ID)
    ):
        raise web.HTTPBadRequest(text=labels.UNKNOWN_FILTER)
    search = (query.get("q") or "").strip()[:64] or None
    async with request.config_dict[SESSIONS]() as session:
        try:
            mine = await admin.administered_units(session, viewer)
            members = await admin.staff_directory(
                session,
                viewer,
                org_unit_id=int(raw_unit) if raw_unit else None,
                role=Role(role) if role else None,
                active=None if state is None else state == "active",
                search=search,
            )
        except NotAllowed as err:
            return _refused(request, err, 403)
        units = {u.id: u for u in await admin.org_units(session) if u.id is not None}
    mine_labels = {str(i): _unit_label(units[i]) for i in sorted(mine, key=lambda i: units[i].path) if i in units}
    context = {
        "members": [{"member": m, "unit": units.get(m.org_unit_id)} for m in members],
        "unit_choices": mine_labels,
        "open_units": {k: v for k, v in mine_labels.items() if units[int(k)].active},
        "role": role,
        "state": state,
        "unit": raw_unit or None,
        "search": search or "",
    }
    return render(request, "staff_list.html", context, error=error)


async def staff_page(request: web.Request) -> web.Response:
    """GET /console/admin/staff?org_unit_id=&role=&state=&q=: staff of one's part of the organisation."""
    return await _staff_list_page(request)


async def create_staff(request: web.Request) -> web.StreamResponse:
    """POST /console/admin/staff"""
    form = await request.post()
    try:
        data = admin.StaffCreate.model_validate(
            _form_values(form, ("username", "full_name", "role", "org_unit_id", "clearance", "password"))
        )
        password_hash = await _hash(request, data.password.get_secret_value() if data.password else None)
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            staff = await admin.create_staff(
                session, request_viewer(request), data, password_hash=password_hash, now=utcnow()
            )
    except REFUSED as err:
        return await _staff_list_page(request, error=_problem(err))
    raise web.HTTPSeeOther(f"/console/admin/staff/{staff.id}")


async def _member_page(request: web.Request, staff_id: int, *, error: PageError | None = None) -> web.Response:
    viewer = request_viewer(request)
    async with request.config_dict[SESSIONS]() as session:
        try:
            member = await admin.administered_staff(session, viewer, staff_id)
        except NotAllowed as err:
            return _refused(request, err, 403)
        except NotFound as err:
            return _refused(request, err, 404)
        mine = await admin.administered_units(session, viewer)
        units = {u.id: u for u in await admin.org_units(session) if u.id is not None}
        changes = await audit.search_audit(
            session, viewer, audit.AuditFilter(target=f"staff:{staff_id}"), limit=AUDIT_PAGE
        )
        desk = await desk_context(session, member)
    context = {
        "member": member,
        "desk": desk,
        "open_units": {
            str(i): _unit_label(units[i]) for i in sorted(mine, key=lambda i: units[i].path) if units[i].active
        },
        "changes": [{"entry": h, "detail": detail_text(h.detail)} for h in changes],
    }
    return render(request, "staff_member.html", context, error=error)


async def member_page(request: web.Request) -> web.Response:
    """GET /console/admin/staff/{staff_id}"""
    return await _member_page(request, path_id(request, "staff_id"))


async def update_member(request: web.Request) -> web.StreamResponse:
    """POST /console/admin/staff/{staff_id}: name, role, unit, grade; or active=0/1 alone."""
    form = await request.post()
    staff_id = path_id(request, "staff_id")
    try:
        data = admin.StaffUpdate.model_validate(
            _form_values(form, ("full_name", "role", "org_unit_id", "clearance", "active"))
        )
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            staff = await admin.update_staff(session, request_viewer(request), staff_id, data, now=utcnow())
    except NotFound as err:
        return _refused(request, err, 404)
    except REFUSED as err:
        return await _member_page(request, staff_id, error=_problem(err))
    if not staff.active:
        request.config_dict[TOKEN_CACHE].drop_staff(staff_id)  # deactivation revoked their tokens
    raise web.HTTPSeeOther(f"/console/admin/staff/{staff_id}")


async def reset_member_password(request: web.Request) -> web.StreamResponse:
    """POST /console/admin/staff/{staff_id}/password"""
    form = await request.post()
    staff_id = path_id(request, "staff_id")
    try:
        data = admin.PasswordReset.model_validate(_form_values(form, ("password",)))
        async with request.config_dict[SESSIONS]() as session:
            await admin.administered_staff(session, request_viewer(request), staff_id)  # refuse before hashing
        password_hash = await _hash(request, data.password.get_secret_value())
        assert password_hash is not None
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            await admin.reset_password(
                session, request_viewer(request), staff_id, password_hash=password_hash, now=utcnow()
            )
    except NotFound as err:
        return _refused(request, err, 404)
    except REFUSED as err:
        return await _member_page(request, staff_id, error=_problem(err))
    request.config_dict[TOKEN_CACHE].drop_staff(staff_id)  # the reset revoked their tokens
    raise web.HTTPSeeOther(f"/console/admin/staff/{staff_id}")


async def update_desk_profile(request: web.Request) -> web.StreamResponse:
    """POST /console/admin/staff/{staff_id}/desk: the queues served (`skill`, repeated) and the endpoint (blank:
    none)."""
    form = await request.post()
    staff_id = path_id(request, "staff_id")
    viewer = request_viewer(request)
    try:
        data = profile_form(form)
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            member = await admin.administered_staff(session, viewer, staff_id)
            await profiles.update_agent_profile(session, viewer, member.username, data, now=utcnow())
    except NotFound as err:
        return _refused(request, err, 404)
    except REFUSED as err:
        return await _member_page(request, staff_id, error=_problem(err))
    raise web.HTTPSeeOther(f"/console/admin/staff/{staff_id}")


# -- audit -----------------------------------------------------------------------------------------


def _detail_value(name: str, value: Any) -> str:
    if value is None:
        return labels.NOTHING
    if isinstance(value, bool):
        return labels.YES_NO[value]
    if name == "role":
        return labels.label(labels.ROLES, value)
    if name == "password":
        return labels.label(labels.PASSWORD_EVENTS, value)
    if name == "kind":
        return labels.label(labels.SERVICE_TASK_KINDS, value)
    if name == "state":
        return labels.label(labels.AGENT_STATES, value)
    if name == "skills":
        return ", ".join(labels.label(labels.DESK_SKILLS, skill) for skill in value) or labels.NOTHING
    return str(value)


def detail_text(detail: dict[str, Any] | None) -> str:
    """What an audited change changed, in words: "역할: 상담원 → 운영자, 이름: ..."."""
    if not detail:
        return ""
    parts = []
    for name, value in detail.items():
        field = labels.label(labels.AUDIT_DETAIL_FIELDS, name)
        if isinstance(value, list) and len(value) == 2:
            parts.append(f"{field}: {_detail_value(name, value[0])} → {_detail_value(name, value[1])}")
        else:
            parts.append(f"{field}: {_detail_value(name, value)}")
    return ", ".join(parts)


def target_text(target: str | None) -> str:
    """What a change was made to: "staff:12" reads "직원 #12"."""
    if not target:
        return ""
    kind, _, ident = target.partition(":")
    return f"{labels.label(labels.AUDIT_TARGETS, kind)} #{ident}" if ident else labels.label(labels.AUDIT_TARGETS, kind)


async def audit_page(request: web.Request) -> web.Response:
    """GET /console/audit?username=&customer_id=&action=&since=&until=&before=: the audit trail of one's part of
    the organisation (administrators and executives), newest first."""
    viewer = request_viewer(request)
    if viewer.role not in audit.AUDITORS:
        return _refused(request, NotAllowed(labels.AUDITORS_ONLY), 403)
    try:
        wanted = audit_filter(request.query)
    except web.HTTPBadRequest:
        raise web.HTTPBadRequest(text=labels.AUDIT_QUERY_INVALID) from None
    raw_before = request.query.get("before", "")
    before = int(raw_before) if is_whole_number(raw_before) and int(raw_before) <= MAX_ID else None
    async with request.config_dict[SESSIONS]() as session:
        try:
            entries = await audit.search_audit(session, viewer, wanted, limit=AUDIT_PAGE + 1, before_id=before)
        except CustomerNotFound as err:
            return _refused(request, err, 404)
    shown, more = entries[:AUDIT_PAGE], len(entries) > AUDIT_PAGE
    query = request.query
    more_link = None
    if more and shown:
        kept = {k: v for k, v in query.items() if k != "before" and v}
        more_link = str(request.rel_url.with_query({**kept, "before": str(shown[-1].id)}))
    context = {
        "query": {name: query.get(name, "") for name in ("username", "customer_id", "action", "since", "until")},
        "entries": [
            {"entry": entry, "detail": detail_text(entry.detail), "target": target_text(entry.target)}
            for entry in shown
        ],
        "more_link": more_link,
    }
    return render(request, "audit.html", context)


def setup_routes(app: web.Application) -> None:
    """Register on the console sub-application (mounted at /console)."""
    r = app.router
    r.add_get("/admin/org-units", org_units_page)
    r.add_post("/admin/org-units", create_org_unit)
    r.add_post(r"/admin/org-units/{unit_id:\d{1,10}}", update_org_unit)
    r.add_get("/admin/staff", staff_page)
    r.add_post("/admin/staff", create_staff)
    r.add_get(r"/admin/staff/{staff_id:\d{1,10}}", member_page)
    r.add_post(r"/admin/staff/{staff_id:\d{1,10}}", update_member)
    r.add_post(r"/admin/staff/{staff_id:\d{1,10}}/password", reset_member_password)
    r.add_post(r"/admin/staff/{staff_id:\d{1,10}}/desk", update_desk_profile)
    r.add_get("/audit", audit_page)
