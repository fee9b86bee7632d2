"""Console pages of administration and audit: org units, staff (create, change role, unit and grade, deactivate,
reset a password), and the audit trail for administrators and executives. Server-rendered, CSRF-checked forms;
the store decides who may do what, and a refused or invalid form comes back with its reason."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from crm_store import admin, audit
from crm_store.auth import hash_password
from crm_store.db import async_session_scope
from crm_store.errors import CustomerNotFound, NotFound
from crm_store.models import OrgUnit, Role, Staff
from crm_store.scope import Viewer
from crm_store.types import utcnow
from crm_store.validation import BUSINESS_TZ, Conflict, InvalidInput, NotAllowed
from gateway.admin_api import audit_filter
from gateway.console.templates import csrf_field, e, options, page
from gateway.keys import EXECUTOR, SESSIONS
from gateway.middlewares import CSRF_TOKEN, STAFF, token_cache, validation_fields

ROLE_OPTIONS = {role.value: label for role, label in admin.ROLE_LABELS.items()}
CLEARANCE_OPTIONS = {str(grade): f"{grade}등급" for grade in range(admin.MAX_CLEARANCE + 1)}
AUDIT_ACTIONS = {
    "read": "고객정보 열람",
    "change": "관리 변경 (전체)",
    "org_unit.created": "조직 신설",
    "org_unit.renamed": "조직 명칭 변경",
    "org_unit.deactivated": "조직 폐쇄",
    "org_unit.reactivated": "조직 재개",
    "org_unit.changed": "조직 변경",
    "staff.created": "직원 등록",
    "staff.changed": "직원 정보 변경",
    "staff.deactivated": "직원 비활성화",
    "staff.reactivated": "직원 재활성화",
    "staff.password_reset": "비밀번호 재설정",
    "customer.changed": "고객정보 변경",
    "claim.changed": "청구 변경",
    "service_task.done": "서비스 업무 완료",
}
AUDIT_PAGE = 100


def _viewer(request: web.Request) -> Viewer:
    return Viewer.of(request[STAFF], remote_addr=request.remote)


def _page(request: web.Request, title: str, body: str, status: int = 200) -> web.Response:
    return page(title, body, user=request[STAFF], csrf=request[CSRF_TOKEN], status=status)


def _refused(request: web.Request, err: Exception, status: int) -> web.Response:
    return _page(request, "권한 없음" if status == 403 else "찾을 수 없음", f'<p class="error">{e(err)}</p>', status)


def _problem(err: Exception) -> tuple[int, str]:
    """The status and message a refused or invalid form comes back with."""
    if isinstance(err, ValidationError):
        fields = validation_fields(err)
        return 400, "; ".join(f"{name}: {message}" for name, message in fields.items())
    if isinstance(err, Conflict):
        return 409, f"{err}: " + "; ".join(err.fields.values())
    if isinstance(err, InvalidInput):
        return 400, "; ".join(f"{name}: {message}" for name, message in err.fields.items()) or str(err)
    return 403, str(err)


def _form_values(form: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Form fields as the store's input models take them: numbers as numbers, 1/0 as yes/no, blanks left out."""
    values: dict[str, Any] = {}
    for name in names:
        raw = form.get(name)
        if not isinstance(raw, str) or raw.strip() == "":
            continue
        raw = raw.strip() if name != "password" else raw
        if name in ("org_unit_id", "parent_id", "clearance"):
            values[name] = int(raw) if raw.isdigit() else raw
        elif name == "active":
            values[name] = raw == "1"
        else:
            values[name] = raw
    return values


def _error_box(error: str | None) -> str:
    return f'<p class="error" id="form-error">{e(error)}</p>' if error else ""


def _unit_label(unit: OrgUnit) -> str:
    indent = "\u3000" * unit.level
    closed = " (폐쇄)" if not unit.active else ""
    return f"{indent}{unit.name} [{unit.code}]{closed}"


async def _hash(request: web.Request, password: str | None) -> str | None:
    if not password:
        return None
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[EXECUTOR], hash_password, password)


# -- org units -------------------------------------------------------------------------------------


async def _org_units_page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    viewer, csrf = _viewer(request), request[CSRF_TOKEN]
    async with request.app[SESSIONS]() as session:
        try:
            mine = await admin.administered_units(session, viewer)
        except NotAllowed as err:
            return _refused(request, err, 403)
        units = await admin.org_units(session)
    rows = []
    for unit in units:
        editable = unit.id in mine and unit.id != viewer.org_unit_id
        actions = ""
        if editable:
            toggle = "0" if unit.active else "1"
            label = "폐쇄" if unit.active else "재개"
            actions = (
                f'<form method="post" action="/console/admin/org-units/{unit.id}" class="rename">{csrf_field(csrf)}'
                f'<input name="name" value="{e(unit.name)}" aria-label="새 명칭" required>'
                f'<button type="submit">명칭 변경</button></form>'
                f'<form method="post" action="/console/admin/org-units/{unit.id}" class="toggle">{csrf_field(csrf)}'
                f'<input type="hidden" name="active" value="{toggle}"><button type="submit">{label}</button></form>'
            )
        rows.append(
            f'<tr class="unit" data-unit="{unit.id}" data-code="{e(unit.code)}">'
            f"<td>{e(_unit_label(unit))}</td><td>{e(admin.LEVEL_LABELS.get(unit.level, unit.level))}</td>"
            f"<td>{'운영' if unit.active else '폐쇄'}</td><td>{actions}</td></tr>"
        )
    parents = {str(u.id): _unit_label(u) for u in units if u.id in mine and u.active and u.level < 3}
    create = (
        f'<form method="post" action="/console/admin/org-units" class="box" id="create-unit">{csrf_field(csrf)}'
        f"<h2>조직 신설</h2>"
        f'<label>상위 조직 <select name="parent_id" id="unit-parent">{options(parents, None, blank=False)}</select>'
        f'</label><label>코드 <input name="code" id="unit-code" required maxlength="32" '
        f'placeholder="SEOUL-GANGNAM-SEOCHO"></label>'
        f'<label>명칭 <input name="name" id="unit-name" required maxlength="100"></label>'
        f'<button type="submit" id="create-unit-button">신설</button></form>'
        if parents
        else ""
    )
    table = (
        '<table id="org-units"><tr><th>조직</th><th>단계</th><th>상태</th><th>관리</th></tr>'
        + "".join(rows)
        + "</table>"
    )
    return _page(request, "조직 관리", _error_box(error) + create + table, status)


async def org_units_page(request: web.Request) -> web.Response:
    """GET /console/admin/org-units: the tree; create, rename, close and reopen the units one administers."""
    return await _org_units_page(request)


async def create_org_unit(request: web.Request) -> web.StreamResponse:
    """POST /console/admin/org-units"""
    form = await request.post()
    try:
        data = admin.OrgUnitCreate.model_validate(_form_values(form, ("code", "name", "parent_id")))
        async with async_session_scope(request.app[SESSIONS]) as session:
            await admin.create_org_unit(session, _viewer(request), data, now=utcnow())
    except (ValidationError, InvalidInput, NotAllowed) as err:
        status, message = _problem(err)
        return await _org_units_page(request, error=message, status=status)
    raise web.HTTPSeeOther("/console/admin/org-units")


async def update_org_unit(request: web.Request) -> web.StreamResponse:
    """POST /console/admin/org-units/{unit_id}: rename (name), close (active=0) or reopen (active=1)."""
    form = await request.post()
    try:
        data = admin.OrgUnitUpdate.model_validate(_form_values(form, ("name", "active")))
        async with async_session_scope(request.app[SESSIONS]) as session:
            await admin.update_org_unit(
                session, _viewer(request), int(request.match_info["unit_id"]), data, now=utcnow()
            )
    except NotFound as err:
        return _refused(request, err, 404)
    except (ValidationError, InvalidInput, NotAllowed) as err:
        status, message = _problem(err)
        return await _org_units_page(request, error=message, status=status)
    raise web.HTTPSeeOther("/console/admin/org-units")


# -- staff -----------------------------------------------------------------------------------------


def _staff_row(member: Staff, units: dict[int, OrgUnit]) -> str:
    unit = units.get(member.org_unit_id)
    return (
        f'<tr class="staff" data-staff="{member.id}" data-username="{e(member.username)}">'
        f'<td><a href="/console/admin/staff/{member.id}">{e(member.username)}</a></td><td>{e(member.full_name)}</td>'
        f"<td>{e(admin.ROLE_LABELS.get(Role(member.role), member.role))}</td>"
        f"<td>{e(unit.name if unit else member.org_unit_id)}</td><td>{member.clearance}</td>"
        f"<td>{'재직' if member.active else '비활성'}</td></tr>"
    )


async def _staff_list_page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    viewer, csrf, query = _viewer(request), request[CSRF_TOKEN], request.query
    role = query.get("role") or None
    state = query.get("state") or None
    raw_unit = query.get("org_unit_id") or ""
    if (
        role not in (None, *ROLE_OPTIONS)
        or state not in (None, "active", "inactive")
        or not (raw_unit == "" or raw_unit.isdigit())
    ):
        raise web.HTTPBadRequest(text="알 수 없는 필터")
    search = (query.get("q") or "").strip()[:64] or None
    async with request.app[SESSIONS]() as session:
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
    open_units = {k: v for k, v in mine_labels.items() if units[int(k)].active}
    filters = (
        '<form method="get" class="box" id="staff-filters">'
        f'<label>소속 <select name="org_unit_id">{options(mine_labels, raw_unit or None)}</select></label>'
        f'<label>역할 <select name="role">{options(ROLE_OPTIONS, role)}</select></label>'
        f'<label>상태 <select name="state">{options({"active": "재직", "inactive": "비활성"}, state)}</select></label>'
        f'<label>검색 <input name="q" value="{e(search)}"></label><button type="submit">조회</button></form>'
    )
    create = (
        f'<form method="post" action="/console/admin/staff" class="box" id="create-staff">{csrf_field(csrf)}'
        f"<h2>직원 등록</h2>"
        f'<label>아이디 <input name="username" id="staff-username" required maxlength="64"></label>'
        f'<label>이름 <input name="full_name" id="staff-full-name" required maxlength="100"></label>'
        f'<label>역할 <select name="role" id="staff-role">{options(ROLE_OPTIONS, None, blank=False)}</select></label>'
        f'<label>소속 <select name="org_unit_id" id="staff-unit">{options(open_units, None, blank=False)}</select>'
        f'</label><label>보안 등급 <select name="clearance" id="staff-clearance">'
        f"{options(CLEARANCE_OPTIONS, '1', blank=False)}</select></label>"
        f'<label>초기 비밀번호 <input type="password" name="password" id="staff-password" minlength="8" '
        f'autocomplete="new-password"></label><button type="submit" id="create-staff-button">등록</button></form>'
    )
    table = (
        '<table id="staff"><tr><th>아이디</th><th>이름</th><th>역할</th><th>소속</th><th>보안 등급</th>'
        "<th>상태</th></tr>" + "".join(_staff_row(m, units) for m in members) + "</table>"
    )
    return _page(request, "직원 관리", _error_box(error) + filters + create + table, status)


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
        async with async_session_scope(request.app[SESSIONS]) as session:
            staff = await admin.create_staff(session, _viewer(request), data, password_hash=password_hash, now=utcnow())
    except (ValidationError, InvalidInput, NotAllowed) as err:
        status, message = _problem(err)
        return await _staff_list_page(request, error=message, status=status)
    raise web.HTTPSeeOther(f"/console/admin/staff/{staff.id}")


async def _member_page(
    request: web.Request, staff_id: int, *, error: str | None = None, status: int = 200
) -> web.Response:
    viewer, csrf = _viewer(request), request[CSRF_TOKEN]
    async with request.app[SESSIONS]() as session:
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
    open_units = {str(i): _unit_label(units[i]) for i in sorted(mine, key=lambda i: units[i].path) if units[i].active}
    edit = (
        f'<form method="post" action="/console/admin/staff/{staff_id}" class="box" id="edit-staff">'
        f"{csrf_field(csrf)}<h2>직원 정보</h2>"
        f'<label>이름 <input name="full_name" id="edit-full-name" value="{e(member.full_name)}" required></label>'
        f'<label>역할 <select name="role" id="edit-role">{options(ROLE_OPTIONS, str(member.role), blank=False)}'
        f'</select></label><label>소속 <select name="org_unit_id" id="edit-unit">'
        f"{options(open_units, str(member.org_unit_id), blank=False)}</select></label>"
        f'<label>보안 등급 <select name="clearance" id="edit-clearance">'
        f"{options(CLEARANCE_OPTIONS, str(member.clearance), blank=False)}</select></label>"
        f'<button type="submit" id="save-staff">저장</button></form>'
    )
    toggle_value, toggle_label = ("0", "비활성화") if member.active else ("1", "재활성화")
    status_form = (
        f'<form method="post" action="/console/admin/staff/{staff_id}" class="box" id="staff-status">'
        f'{csrf_field(csrf)}<input type="hidden" name="active" value="{toggle_value}">'
        f'<p>상태: <strong id="staff-state">{"재직" if member.active else "비활성"}</strong> '
        f"(비활성화하면 모든 세션이 종료되고 API 토큰이 폐기됩니다)</p>"
        f'<button type="submit" id="toggle-active">{toggle_label}</button></form>'
    )
    password = (
        f'<form method="post" action="/console/admin/staff/{staff_id}/password" class="box" id="reset-password">'
        f"{csrf_field(csrf)}<h2>비밀번호 재설정</h2>"
        f'<label>새 비밀번호 <input type="password" name="password" id="new-password" minlength="8" required '
        f'autocomplete="new-password"></label><button type="submit" id="reset-password-button">재설정</button>'
        f'<p class="note">잠금이 풀리고 이 직원의 모든 로그인 세션이 종료됩니다.</p></form>'
    )
    lines = "".join(
        f"<li>{e(h.created_at.astimezone(BUSINESS_TZ).strftime('%Y-%m-%d %H:%M'))} {e(h.username)} "
        f"{e(AUDIT_ACTIONS.get(h.action, h.action))} {e(_detail_text(h.detail))}</li>"
        for h in changes
    )
    body = (
        _error_box(error) + f'<p><a href="/console/admin/staff">← 직원 목록</a> · {e(member.username)} '
        f"({e(admin.ROLE_LABELS.get(Role(member.role), member.role))})</p>"
        + edit
        + status_form
        + password
        + f'<div class="box"><h2>변경 이력</h2><ul id="staff-history">{lines}</ul></div>'
    )
    return _page(request, f"직원: {member.full_name}", body, status)


async def member_page(request: web.Request) -> web.Response:
    """GET /console/admin/staff/{staff_id}"""
    return await _member_page(request, int(request.match_info["staff_id"]))


async def update_member(request: web.Request) -> web.StreamResponse:
    """POST /console/admin/staff/{staff_id}: name, role, unit, grade; or active=0/1 alone."""
    form = await request.post()
    staff_id = int(request.match_info["staff_id"])
    try:
        data = admin.StaffUpdate.model_validate(
            _form_values(form, ("full_name", "role", "org_unit_id", "clearance", "active"))
        )
        async with async_session_scope(request.app[SESSIONS]) as session:
            staff = await admin.update_staff(session, _viewer(request), staff_id, data, now=utcnow())
    except NotFound as err:
        return _refused(request, err, 404)
    except (ValidationError, InvalidInput, NotAllowed) as err:
        status, message = _problem(err)
        return await _member_page(request, staff_id, error=message, status=status)
    if not staff.active:
        token_cache(request.app).drop_staff(staff_id)  # deactivation revoked their tokens
    raise web.HTTPSeeOther(f"/console/admin/staff/{staff_id}")


async def reset_member_password(request: web.Request) -> web.StreamResponse:
    """POST /console/admin/staff/{staff_id}/password"""
    form = await request.post()
    staff_id = int(request.match_info["staff_id"])
    try:
        data = admin.PasswordReset.model_validate(_form_values(form, ("password",)))
        async with request.app[SESSIONS]() as session:
            await admin.administered_staff(session, _viewer(request), staff_id)  # refuse before hashing
        password_hash = await _hash(request, data.password.get_secret_value())
        assert password_hash is not None
        async with async_session_scope(request.app[SESSIONS]) as session:
            await admin.reset_password(session, _viewer(request), staff_id, password_hash=password_hash, now=utcnow())
    except NotFound as err:
        return _refused(request, err, 404)
    except (ValidationError, InvalidInput, NotAllowed) as err:
        status, message = _problem(err)
        return await _member_page(request, staff_id, error=message, status=status)
    token_cache(request.app).drop_staff(staff_id)  # the reset revoked their tokens
    raise web.HTTPSeeOther(f"/console/admin/staff/{staff_id}")


# -- audit -----------------------------------------------------------------------------------------


def _detail_text(detail: dict[str, Any] | None) -> str:
    if not detail:
        return ""
    parts = []
    for name, value in detail.items():
        if isinstance(value, list) and len(value) == 2:
            parts.append(f"{name}: {value[0]} → {value[1]}")
        else:
            parts.append(f"{name}: {value}")
    return ", ".join(parts)


async def audit_page(request: web.Request) -> web.Response:
    """GET /console/audit?username=&customer_id=&action=&since=&until=&before=: the audit trail of one's part of
    the organisation (administrators and executives), newest first."""
    viewer = _viewer(request)
    if viewer.role not in audit.AUDITORS:
        return _refused(request, NotAllowed("감사 기록은 관리자와 임원이 조회합니다."), 403)
    try:
        wanted = audit_filter(request.query)
    except web.HTTPBadRequest:
        raise web.HTTPBadRequest(text="조회 조건이 올바르지 않습니다 (날짜는 2026-11-25 형식).") from None
    raw_before = request.query.get("before", "")
    before = int(raw_before) if raw_before.isdigit() else None
    async with request.app[SESSIONS]() as session:
        try:
            entries = await audit.search_audit(session, viewer, wanted, limit=AUDIT_PAGE + 1, before_id=before)
        except CustomerNotFound as err:
            return _refused(request, err, 404)
    shown, more = entries[:AUDIT_PAGE], len(entries) > AUDIT_PAGE
    query = request.query
    filters = (
        '<form method="get" class="box" id="audit-filters">'
        f'<label>직원 아이디 <input name="username" id="audit-username" value="{e(query.get("username"))}"></label>'
        f'<label>고객 번호 <input name="customer_id" id="audit-customer" value="{e(query.get("customer_id"))}" '
        f'inputmode="numeric"></label>'
        f'<label>구분 <select name="action" id="audit-action">{options(AUDIT_ACTIONS, query.get("action"))}</select>'
        f'</label><label>시작일 <input type="date" name="since" id="audit-since" value="{e(query.get("since"))}">'
        f'</label><label>종료일 <input type="date" name="until" id="audit-until" value="{e(query.get("until"))}">'
        f'</label><button type="submit" id="audit-search">조회</button></form>'
    )
    rows = "".join(
        f'<tr class="audit" data-entry="{entry.id}">'
        f"<td>{e(entry.created_at.astimezone(BUSINESS_TZ).strftime('%Y-%m-%d %H:%M:%S'))}</td>"
        f"<td>{e(entry.username)}</td><td>{e(AUDIT_ACTIONS.get(entry.action, entry.action))}</td>"
        f"<td>{e(entry.customer_id)}</td><td>{e(entry.target)}</td>"
        f"<td>{e(', '.join(entry.fields or []))}</td><td>{e(_detail_text(entry.detail))}</td>"
        f"<td>{e(entry.purpose)}</td><td>{e(entry.call_sid)}</td><td>{e(entry.remote_addr)}</td></tr>"
        for entry in shown
    )
    table = (
        '<table id="audit"><tr><th>일시</th><th>직원</th><th>구분</th><th>고객</th><th>대상</th><th>항목</th>'
        "<th>변경 내용</th><th>목적</th><th>통화</th><th>접속 주소</th></tr>" + rows + "</table>"
        if rows
        else '<p id="audit-empty">조건에 맞는 기록이 없습니다.</p>'
    )
    more_link = ""
    if more and shown:
        kept = {k: v for k, v in query.items() if k != "before" and v}
        more_link = (
            f'<p><a id="audit-more" href="{e(request.rel_url.with_query({**kept, "before": str(shown[-1].id)}))}">'
            "이전 기록 더 보기</a></p>"
        )
    return _page(request, "감사 기록", filters + table + more_link)


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/admin/org-units", org_units_page)
    r.add_post("/console/admin/org-units", create_org_unit)
    r.add_post(r"/console/admin/org-units/{unit_id:\d+}", update_org_unit)
    r.add_get("/console/admin/staff", staff_page)
    r.add_post("/console/admin/staff", create_staff)
    r.add_get(r"/console/admin/staff/{staff_id:\d+}", member_page)
    r.add_post(r"/console/admin/staff/{staff_id:\d+}", update_member)
    r.add_post(r"/console/admin/staff/{staff_id:\d+}/password", reset_member_password)
    r.add_get("/console/audit", audit_page)
