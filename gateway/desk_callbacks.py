"""Call-back tasks at the desk: GET /api/v1/desk/callbacks (the viewer's queues' tasks) and POST
/api/v1/desk/callbacks/{callback_id}/done (closed with its outcome), and the `callbacks` frame that tells the open
desks serving a queue that its list changed (a task made by an abandoned call or an after-hours message, or one
closed), so the desk reads its list again. Thin handlers: parse, call the store with the viewer, answer."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from urllib.parse import urlencode

from aiohttp import web
from sqlmodel import col, select

from crm_store.db import async_session_scope
from crm_store.desk import callbacks
from crm_store.desk.tables import DeskQueue
from crm_store.types import utcnow
from crm_store.validation import NotAllowed
from gateway.contract import Answered
from gateway.desk import CLOCK
from gateway.desk_calls_api import numbers_masked
from gateway.desk_socket import TIMING, Config, publish
from gateway.inputs import MAX_PAGE, bad_param, choice_param, int_param, path_id, request_viewer
from gateway.keys import SESSIONS

log = logging.getLogger(__name__)
PATH = "/api/v1/desk/callbacks"
PAGE = 50
FRAME = "callbacks"


async def list_callbacks(request: web.Request) -> Answered:
    """GET /api/v1/desk/callbacks?state=&queue=&limit=&after="""
    viewer = request_viewer(request)
    if viewer.role not in callbacks.CALLBACK_WORKERS:
        raise NotAllowed(callbacks.NOT_A_WORKER)
    state = choice_param(request, "state", callbacks.STATES) or "open"
    queue = request.query.get("queue") or None
    limit = int_param(request, "limit", default=PAGE, high=MAX_PAGE) or PAGE
    after = int_param(request, "after")
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        if queue is not None:
            known = (await session.exec(select(DeskQueue.id).where(col(DeskQueue.name) == queue))).first()
            if known is None:
                raise bad_param("queue", "the name of a desk queue")
        items, more = await callbacks.list_callbacks(
            session, viewer, state=state, queue=queue, limit=limit, after_id=after
        )
    following = None
    if more:
        params = {"state": state, "queue": queue, "limit": limit, "after": items[-1].id}
        following = f"{PATH}?{urlencode({k: v for k, v in params.items() if v is not None})}"
    return callbacks.CallbackPage(items=items, next=following)


async def close_callback(request: web.Request) -> Answered:
    """POST /api/v1/desk/callbacks/{callback_id}/done: the role and the task checked first (403, 404), then the
    body (422), then the task's state (409)."""
    viewer = request_viewer(request)
    if viewer.role not in callbacks.CALLBACK_WORKERS:
        raise NotAllowed(callbacks.NOT_A_WORKER)
    task_id = path_id(request, "callback_id")
    raw = await request.read()
    now = request.config_dict.get(CLOCK, utcnow)()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        task, served = await callbacks.task_to_close(session, viewer, task_id)
        done = numbers_masked(callbacks.CallbackDone.model_validate_json(raw or b"null"))
        closed = await callbacks.close_callback(session, viewer, task, served, done, now=now)
    await announce(request.config_dict, task.queue_id, closed.id, "done")
    return closed


async def announce(app: Config, queue_id: int, task_id: int | None, change: str) -> None:
    """Tell the open desks serving the queue that its call-back list changed (`requested` or `done`); never fails
    the caller: a frame lost is a list read again at the desk's next (re)connection."""
    try:
        timing = app[TIMING]
        since = app.get(CLOCK, utcnow)() - timedelta(seconds=timing.silence)
        async with async_session_scope(app[SESSIONS]) as session:
            queue, desks = await callbacks.desks_serving(session, queue_id, since=since)
        if queue is None:
            return
        frame = {"type": FRAME, "queue": queue, "callback_id": task_id, "change": change}
        await asyncio.gather(*(publish(app, staff_id, frame) for staff_id in desks))
    except Exception:
        log.exception("call-back task %s of queue %s: the desks could not be told", task_id, queue_id)
