"""Complaints under /api/v1/: opened from any door, read with their dossier, listed by resolve limit, taken through
their steps, analysed per month. Thin handlers: parse, run the store (synchronous functions, through
`run_async` on the request's transaction) with the viewer, answer."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_read
from crm_store.complaints import store
from crm_store.complaints.analysis import monthly_analysis
from crm_store.complaints.coordination import subtasks_of
from crm_store.complaints.deadlines import business_days_left
from crm_store.complaints.reading import queue_page
from crm_store.complaints.steps import NEXT_STEP, StepTaken
from crm_store.complaints.tables import Complaint
from crm_store.complaints.wire import ComplaintCreate, ComplaintDetail, ComplaintOpened, ComplaintPage, State
from crm_store.db import async_session_scope, run_async
from crm_store.types import utcnow
from gateway.contract import Answered, Reply
from gateway.inputs import MAX_PAGE, bounded_month_param, choice_param, int_param, json_body, path_id
from gateway.inputs import request_viewer as viewer_of
from gateway.keys import SESSIONS

PATH = "/api/v1/complaints"
# What reading one complaint shows of its customer (the audit trail names it).
COMPLAINT_FIELDS = ("complaint.summary", "complaint.dossier")


def _location(complaint: Complaint) -> dict[str, str]:
    return {"Location": f"{PATH}/{complaint.id}"}


async def open_complaint(request: web.Request) -> Answered:
    """POST /api/v1/complaints: 201 with the new complaint, or 200 with the open one a repeat was linked to."""
    data = await json_body(request, ComplaintCreate)
    now = utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        opened = await run_async(session, store.open_complaint, viewer_of(request), data, now=now)
        shown = await run_async(session, store.complaint_public, opened.complaint, now=now)
    answer = ComplaintOpened.model_validate({**shown.wire(), "repeat": opened.repeat})
    return Reply(answer, _location(opened.complaint), status=200 if opened.repeat else None)


async def complaint_detail(session: AsyncSession, complaint: Complaint, now: datetime) -> ComplaintDetail:
    """The complaint with its dossier and what is due next, as the API shows it at `now` (to whoever just read it
    in scope or took a step: a transfer up the chain may take it out of the taker's scope)."""
    assert complaint.id is not None
    shown = await run_async(session, store.complaint_public, complaint, now=now)
    steps = await run_async(session, store.dossier_entries, complaint.id)
    subtasks = await run_async(session, subtasks_of, complaint.id)
    return ComplaintDetail.model_validate(
        {
            **shown.wire(),
            "next_step": NEXT_STEP[State(complaint.state)],
            "business_days_left": business_days_left(complaint.resolve_by, now=now),
            "steps": [step.wire() for step in steps],
            "subtasks": [task.wire() for task in subtasks],
        }
    )


async def get_complaint(request: web.Request) -> Answered:
    """GET /api/v1/complaints/{complaint_id}: the complaint, its dossier and what is due next (an audited read)."""
    viewer, complaint_id, now = viewer_of(request), path_id(request, "complaint_id"), utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        complaint = await run_async(session, store.get_complaint, viewer, complaint_id)
        record_read(session, viewer, customer_id=complaint.customer_id, fields=COMPLAINT_FIELDS, purpose="complaint")
        return await complaint_detail(session, complaint, now)


def _overdue(request: web.Request) -> bool:
    return (choice_param(request, "overdue", ("true", "false")) or "false") == "true"


async def list_complaints(request: web.Request) -> Answered:
    """GET /api/v1/complaints?state=&overdue=&org_unit_id=&limit=&after=: soonest resolve limit first, keyset-paged
    (`after`: the last complaint seen)."""
    state = choice_param(request, "state", State)
    overdue = _overdue(request)
    unit = int_param(request, "org_unit_id")
    limit = int_param(request, "limit", default=50, high=MAX_PAGE) or 50
    after = int_param(request, "after")
    async with request.config_dict[SESSIONS]() as session:
        page = await run_async(
            session,
            queue_page,
            viewer_of(request),
            now=utcnow(),
            limit=limit,
            state=State(state) if state else None,
            overdue=overdue,
            org_unit_id=unit,
            after_id=after,
        )
    following = None
    if page.more:
        wanted = {"state": state, "overdue": "true" if overdue else None, "org_unit_id": unit, "limit": limit}
        params = {k: v for k, v in wanted.items() if v is not None}
        following = f"{PATH}?{urlencode({**params, 'after': page.complaints[-1].id})}"
    return ComplaintPage.model_validate({"items": [c.wire() for c in page.complaints], "next": following})


async def take_step(request: web.Request) -> Answered:
    """POST /api/v1/complaints/{complaint_id}/steps: take a step with its form; answers the complaint after it."""
    complaint_id = path_id(request, "complaint_id")
    taken = await json_body(request, StepTaken)
    viewer, now = viewer_of(request), utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        complaint = await run_async(session, store.take_step, viewer, complaint_id, taken.action, taken.form, now=now)
        return await complaint_detail(session, complaint, now)


async def analysis(request: web.Request) -> Answered:
    """GET /api/v1/complaints/analysis?month=YYYY-MM"""
    month = bounded_month_param(request)
    async with request.config_dict[SESSIONS]() as session:
        return await run_async(session, monthly_analysis, viewer_of(request), month=month)
