"""Complaints' departments, coordination's sub-tasks, the months' stored analyses and their corrective actions under
/api/v1/. Thin handlers: parse, run the store through `run_async` with the viewer, answer. Generating a month's
analysis on demand is the workers' job: the handler enqueues it (in the executor: Redis is never waited on in the
event loop) and answers 202."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiohttp import web
from pydantic import Field
from rq import Queue

from crm_store.complaints import followup
from crm_store.complaints.coordination import (
    DepartmentCreate,
    DepartmentPublic,
    SubtaskMark,
    add_department,
    departments_of,
)
from crm_store.complaints.subtasks import mark_subtask
from crm_store.db import async_session_scope, run_async
from crm_store.errors import NotFound
from crm_store.org.tables import OrgUnit
from crm_store.types import Answer, Input, utcnow
from gateway.complaints_api import complaint_detail
from gateway.contract import Answered
from gateway.inputs import bounded_month_param, choice_param, int_param, json_body, path_id
from gateway.inputs import request_viewer as viewer_of
from gateway.keys import EXECUTOR, REDIS, SESSIONS
from workers.queueing import FAILURE_TTL, QUEUE_DEFAULT, RESULT_TTL

ANALYSIS_JOB = "workers.complaint_jobs.generate_complaint_analyses"


class DepartmentList(Answer):
    """The departments of units: each one's customer management department (the complaints' owner) first."""

    items: list[DepartmentPublic] = Field(description="the departments")


class ActionList(Answer):
    """Corrective actions, soonest due first."""

    items: list[followup.ActionPublic] = Field(description="the actions")


class AnalysisRequest(Input):
    """A month whose analysis of a unit is to be generated again now."""

    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    org_unit_id: int = Field(ge=1, le=2**31 - 1, description="a unit of your part of the organisation")


class AnalysisQueued(Answer):
    """The generation the workers will run."""

    job_id: str = Field(description="the workers' job")
    month: str = Field(description="YYYY-MM")


async def list_departments(request: web.Request) -> Answered:
    """GET /api/v1/complaint-departments?org_unit_id=: the departments of a unit of your part (default your own)."""
    viewer = viewer_of(request)
    unit_id = int_param(request, "org_unit_id") or viewer.org_unit_id
    async with request.config_dict[SESSIONS]() as session:
        unit = await session.get(OrgUnit, unit_id)
        own = await session.get(OrgUnit, viewer.org_unit_id)
        if unit is None or own is None or not unit.path.startswith(own.path):
            raise NotFound(f"no org unit {unit_id} in your part of the organisation")
        found = await run_async(session, departments_of, [unit_id])
    return DepartmentList(items=found)


async def create_department(request: web.Request) -> Answered:
    """POST /api/v1/complaint-departments: a department added to a unit (administrators, center managers)."""
    data = await json_body(request, DepartmentCreate)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        added = await run_async(session, add_department, viewer_of(request), data, now=utcnow())
    return added


async def mark(request: web.Request) -> Answered:
    """POST /api/v1/complaints/{id}/subtasks/{subtask_id}: a sub-task done or undone; the complaint after it."""
    complaint_id, subtask_id = path_id(request, "complaint_id"), path_id(request, "subtask_id")
    data = await json_body(request, SubtaskMark)
    viewer, now = viewer_of(request), utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        complaint = await run_async(session, mark_subtask, viewer, complaint_id, subtask_id, data, now=now)
        return await complaint_detail(session, complaint, now)


async def stored_analysis(request: web.Request) -> Answered:
    """GET /api/v1/complaints/analysis/reports?month=&org_unit_id=: the month's analysis the workers stored."""
    month = bounded_month_param(request)
    unit_id = int_param(request, "org_unit_id")
    async with request.config_dict[SESSIONS]() as session:
        report = await run_async(session, followup.month_report, viewer_of(request), unit_id, month)
    if report is None:
        raise NotFound(f"no stored analysis of {month:%Y-%m} for that unit yet")
    return followup.month_report_public(report)


def _enqueue_analysis(redis: object, month: str, unit_id: int, job_id: str) -> None:
    Queue(QUEUE_DEFAULT, connection=redis).enqueue(  # type: ignore[arg-type]
        ANALYSIS_JOB, datetime.now(tz=UTC).date().isoformat(), month, unit_id, job_id=job_id, job_timeout=1800,
        result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL, description=job_id,
    )  # fmt: skip


async def generate_analysis(request: web.Request) -> Answered:
    """POST /api/v1/complaints/analysis/reports: the month's analyses generated again by the workers (202)."""
    data = await json_body(request, AnalysisRequest)
    viewer = viewer_of(request)
    async with request.config_dict[SESSIONS]() as session:
        await run_async(session, followup.check_keeper, viewer, data.org_unit_id)
    job_id = f"complaint-analysis-{data.month}-{data.org_unit_id}-{int(utcnow().timestamp())}"
    loop = asyncio.get_running_loop()
    redis = request.config_dict[REDIS]
    await loop.run_in_executor(
        request.config_dict[EXECUTOR], _enqueue_analysis, redis, data.month, data.org_unit_id, job_id
    )
    return AnalysisQueued(job_id=job_id, month=data.month)


async def list_actions(request: web.Request) -> Answered:
    """GET /api/v1/complaints/corrective-actions?month=&open=true: the actions of your part, soonest due first."""
    month = bounded_month_param(request) if request.query.get("month") else None
    open_only = choice_param(request, "open", ("true", "false")) == "true"
    async with request.config_dict[SESSIONS]() as session:
        found = await run_async(session, followup.actions_of, viewer_of(request), month=month, open_only=open_only)
    today = utcnow().date()
    return ActionList(items=[followup.action_public(a, today) for a in found])


async def create_action(request: web.Request) -> Answered:
    """POST /api/v1/complaints/corrective-actions: an action attached to a month's findings."""
    data = await json_body(request, followup.ActionCreate)
    now = utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        action = await run_async(session, followup.add_action, viewer_of(request), data, now=now)
    return followup.action_public(action, now.date())


async def follow(request: web.Request) -> Answered:
    """POST /api/v1/complaints/corrective-actions/{action_id}: done, effect checked or closed."""
    action_id = path_id(request, "action_id")
    data = await json_body(request, followup.ActionUpdate)
    now = utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        action = await run_async(session, followup.follow_action, viewer_of(request), action_id, data, now=now)
    return followup.action_public(action, now.date())
