"""Console page of the account managers' service duties: a manager's visits, interviews and renewal reminders in
due-date order, each open one with a form to mark it done with its outcome. A manager sees their own; center
managers, executives and administrators pick a manager of their part of the organisation. The store decides who
may see and do what (crm_store.service_tasks)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from crm_store import org, service_tasks
from crm_store.db import async_session_scope
from crm_store.models import Role
from crm_store.scope import SUPERVISORS, Viewer
from crm_store.validation import NotAllowed, business_today
from gateway.console.templates import csrf_field, e, options, page
from gateway.keys import SESSIONS
from gateway.middlewares import CSRF_TOKEN, STAFF

TASK_STATE_LABELS = {"open": "미완료", "done": "완료", "all": "전체"}
SEGMENT_LABELS = {"quality": "우량", "key": "중점", "ordinary": "일반", "inferior": "불량"}


def _viewer(request: web.Request) -> Viewer:
    return Viewer.of(request[STAFF], remote_addr=request.remote)


def _page(request: web.Request, title: str, body: str) -> web.Response:
    return page(title, body, user=request[STAFF], csrf=request[CSRF_TOKEN])


def _done_form(task: dict[str, Any], csrf: str) -> str:
    return (
        f'<form method="post" action="/console/tasks/{task["id"]}/done" class="done-form">{csrf_field(csrf)}'
        f'<label>결과 <input name="outcome" required maxlength="1000" aria-label="결과"></label>'
        f'<label>완료일 <input type="date" name="done_on" aria-label="완료일"></label>'
        f'<button type="submit" class="done" data-task="{task["id"]}">완료 처리</button></form>'
    )


def _rows(tasks: list[dict[str, Any]], *, can_complete: bool, csrf: str) -> str:
    lines = []
    for t in tasks:
        if t["done_on"]:
            state = f"완료 {e(t['done_on'])} ({e(t['done_by'])}): {e(t['outcome'])}"
        else:
            state = _done_form(t, csrf) if can_complete else "미완료"
        late = ' class="urgent"' if t["overdue"] else ""
        lines.append(
            f'<tr class="task" data-task="{t["id"]}"><td{late}>{e(t["due_on"])}</td><td>{e(t["kind_name"])}</td>'
            f"<td>{e(t['customer_name'])} (#{e(t['customer_id'])})</td>"
            f"<td>{e(SEGMENT_LABELS.get(t['customer_segment'], t['customer_segment']))}</td>"
            f'<td>{e(t["policy_number"])}</td><td class="note">{e(t["note"])}</td><td>{state}</td></tr>'
        )
    return (
        '<table id="tasks"><tr><th>기한</th><th>업무</th><th>고객</th><th>등급</th><th>증권</th><th>메모</th>'
        "<th>처리</th></tr>" + "".join(lines) + "</table>"
        if lines
        else '<p id="no-tasks">해당하는 서비스 업무가 없습니다.</p>'
    )


async def tasks_page(request: web.Request) -> web.Response:
    """GET /console/tasks?manager=&state=: a manager's duties (one's own, or a manager picked by a supervisor)."""
    viewer = _viewer(request)
    state = request.query.get("state") or "open"
    if state not in TASK_STATE_LABELS:
        raise web.HTTPBadRequest(text="알 수 없는 필터")
    manager = request.query.get("manager") or (viewer.username if viewer.role is Role.ACCOUNT_MANAGER else None)
    csrf = request[CSRF_TOKEN]
    async with async_session_scope(request.app[SESSIONS]) as session:
        if manager is None:
            if viewer.role not in SUPERVISORS:
                raise NotAllowed("service duties are seen by account managers and their supervisors")
            managers = await org.list_staff(session, viewer, role=Role.ACCOUNT_MANAGER.value)
            tasks = None
        else:
            managers = []
            tasks = await service_tasks.manager_tasks(
                session, viewer, manager, as_of=business_today(), state=state, limit=200
            )
    choices = {m["username"]: f"{m['full_name']} ({m['username']})" for m in managers}
    who = (
        f'<label>담당자 <select name="manager" id="manager">{options(choices, None, blank=False)}</select></label>'
        if manager is None
        else f'<input type="hidden" name="manager" value="{e(manager)}">'
    )
    picker = (
        f'<form method="get" class="box" id="task-filters">{who}'
        f'<label>상태 <select name="state" id="task-state">{options(TASK_STATE_LABELS, state, blank=False)}'
        '</select></label><button type="submit" id="show-tasks">조회</button></form>'
    )
    if tasks is None:
        return _page(request, "서비스 업무", picker)
    # A center manager may complete any duty shown (all are in scope); others only their own.
    can_complete = manager == viewer.username or viewer.role is Role.CENTER_MANAGER
    return _page(request, f"서비스 업무: {manager}", picker + _rows(tasks, can_complete=can_complete, csrf=csrf))


async def complete(request: web.Request) -> web.StreamResponse:
    """POST /console/tasks/{id}/done: outcome (and the day, if not today)."""
    form = await request.post()
    raw_day = str(form.get("done_on") or "").strip()
    data = service_tasks.TaskCompletion.model_validate(
        {"outcome": str(form.get("outcome", "")), **({"done_on": raw_day} if raw_day else {})}
    )
    async with async_session_scope(request.app[SESSIONS]) as session:
        task = await service_tasks.complete_task(
            session, _viewer(request), int(request.match_info["task_id"]), data, as_of=business_today()
        )
    raise web.HTTPSeeOther(f"/console/tasks?{urlencode({'manager': task['account_manager'] or ''})}")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/tasks", tasks_page)
    r.add_post(r"/console/tasks/{task_id:\d+}/done", complete)
