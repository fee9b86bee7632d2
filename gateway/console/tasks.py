"""Console page of the account managers' service duties: a manager's visits, interviews and renewal reminders in
due-date order, each open one with a form to mark it done with its outcome. A manager sees their own; center
managers, executives and administrators pick a manager of their part of the organisation. The store decides who
may see and do what (crm_store.managers.service_tasks); a refused completion shows the same list again with why."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from crm_store.db import async_session_scope
from crm_store.managers import service_tasks
from crm_store.org import directory as org
from crm_store.org.scope import SUPERVISORS
from crm_store.org.tables import Role
from crm_store.validation import InvalidInput, NotAllowed, business_today
from gateway import labels
from gateway.console.render import PageError, page_error, render
from gateway.inputs import path_id, request_viewer
from gateway.keys import SESSIONS
from gateway.middlewares import store_problem

REFUSED = (ValidationError, InvalidInput)


async def _tasks_page(
    request: web.Request, manager: str | None, state: str, *, error: PageError | None = None
) -> web.Response:
    viewer = request_viewer(request)
    if state not in labels.SERVICE_TASK_STATES:
        raise web.HTTPBadRequest(text=labels.UNKNOWN_FILTER)
    manager = manager or (viewer.username if viewer.role is Role.ACCOUNT_MANAGER else None)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        if manager is None:
            if viewer.role not in SUPERVISORS:
                raise NotAllowed(labels.SERVICE_TASKS_SUPERVISORS_ONLY)
            managers = await org.list_staff(session, viewer, role=Role.ACCOUNT_MANAGER.value)
            tasks = None
        else:
            managers = []
            tasks = await service_tasks.manager_tasks(
                session, viewer, manager, as_of=business_today(), state=state, limit=200
            )
    context = {
        "manager": manager,
        "state": state,
        "choices": {m["username"]: f"{m['full_name']} ({m['username']})" for m in managers},
        "tasks": tasks,
        # A center manager may complete any duty shown (all are in scope); others only their own.
        "can_complete": manager == viewer.username or viewer.role is Role.CENTER_MANAGER,
    }
    return render(request, "tasks.html", context, error=error)


async def tasks_page(request: web.Request) -> web.Response:
    """GET /console/tasks?manager=&state=: a manager's duties (one's own, or a manager picked by a supervisor)."""
    return await _tasks_page(request, request.query.get("manager") or None, request.query.get("state") or "open")


async def complete(request: web.Request) -> web.StreamResponse:
    """POST /console/tasks/{id}/done: outcome (and the day, if not today)."""
    form = await request.post()
    raw_day = str(form.get("done_on") or "").strip()
    try:
        data = service_tasks.TaskCompletion.model_validate(
            {"outcome": str(form.get("outcome", "")), **({"done_on": raw_day} if raw_day else {})}
        )
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            task = await service_tasks.complete_task(
                session, request_viewer(request), path_id(request, "task_id"), data, as_of=business_today()
            )
    except REFUSED as err:
        problem = store_problem(err)
        assert problem is not None
        manager, state = str(form.get("manager") or "") or None, str(form.get("state") or "open")
        return await _tasks_page(request, manager, state, error=page_error(problem))
    raise web.HTTPSeeOther(f"/console/tasks?{urlencode({'manager': task.account_manager or ''})}")


def setup_routes(app: web.Application) -> None:
    """Register on the console sub-application (mounted at /console)."""
    r = app.router
    r.add_get("/tasks", tasks_page)
    r.add_post(r"/tasks/{task_id:\d{1,10}}/done", complete)
