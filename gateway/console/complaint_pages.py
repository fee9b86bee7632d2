"""Console pages of complaints besides the queue and the dossier: the public list of the complaint number at every
business site (no sign-in), and the month's stored analysis with its corrective actions, followed until closed."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web
from markupsafe import Markup
from pydantic import ValidationError

from crm_store.complaints import followup
from crm_store.complaints.analysis import ComplaintAnalysis
from crm_store.complaints.notices import site_numbers
from crm_store.db import async_session_scope, run_async
from crm_store.org.tables import Staff
from crm_store.types import utcnow
from crm_store.validation import InvalidInput, NotAllowed
from gateway import labels
from gateway.console.complaint_exports import analysis_document
from gateway.console.complaints import korean_field_errors
from gateway.console.render import PageError, render
from gateway.exports import svg_bar_chart
from gateway.inputs import path_id, request_viewer
from gateway.keys import SESSIONS
from gateway.middlewares import store_problem

REFUSED = (InvalidInput, NotAllowed, ValidationError)


async def complaint_numbers(request: web.Request) -> web.Response:
    """GET /console/complaint-numbers: every business site with its complaint number (public, no sign-in)."""
    async with request.config_dict[SESSIONS]() as session:
        sites = await run_async(session, site_numbers)
    return render(request, "complaint_numbers.html", {"sites": sites})


def _month(request: web.Request) -> tuple[str, PageError | None]:
    raw = request.query.get("month") or f"{utcnow():%Y-%m}"
    try:
        date.fromisoformat(f"{raw}-01")
    except ValueError:
        return f"{utcnow():%Y-%m}", PageError(400, labels.error_text(400), (labels.UNKNOWN_FILTER,))
    return raw, None


def _refusal(err: Exception) -> PageError:
    problem = store_problem(err)
    assert problem is not None
    if isinstance(err, ValidationError):
        details = tuple(f"{name}: {text}" for name, text in korean_field_errors(err).items())
    else:
        details = tuple(
            f"{labels.label(labels.COMPLAINT_FORM_FIELDS, name)}: {labels.COMPLAINT_FIELD_REFUSED}"
            for name in (getattr(err, "fields", None) or {"": ""})
        )
    return PageError(problem.status, labels.error_text(problem.status), details)


def _charts(analysis: ComplaintAnalysis) -> list[Markup]:
    """The analysis's charts as its PDF draws them (by category, by topic, the trend), each above its table."""
    document = analysis_document(analysis, "", "", [])
    return [Markup(svg_bar_chart(section)) for section in document.sections if section.chart]


async def analysis_page(request: web.Request, *, error: PageError | None = None) -> web.Response:
    """GET /console/complaints/analysis?month=YYYY-MM: the month's stored analysis of the viewer's unit and the
    corrective actions on it, with the forms to add and follow them."""
    viewer = request_viewer(request)
    month, bad = _month(request)
    first = date.fromisoformat(f"{month}-01")
    async with request.config_dict[SESSIONS]() as session:
        report = await run_async(session, followup.month_report, viewer, None, first)
        actions = await run_async(session, followup.actions_of, viewer, month=first)
        owners = {a.owner_id for a in actions}
        staff = {m.id: m.username for m in [await session.get(Staff, i) for i in owners] if m is not None}
    today = utcnow().date()
    public = followup.month_report_public(report) if report is not None else None
    context: dict[str, Any] = {
        "month": month,
        "report": public,
        "charts": _charts(public.analysis) if public is not None else [],
        "actions": [(followup.action_public(a, today), staff.get(a.owner_id, "")) for a in actions],
        "keeper": viewer.role in followup.ACTION_KEEPERS,
        "unit_id": viewer.org_unit_id,
    }
    return render(request, "complaint_analysis.html", context, error=error or bad)


async def add_action(request: web.Request) -> web.StreamResponse:
    """POST /console/complaints/analysis/actions: a corrective action on the month's findings."""
    viewer, posted = request_viewer(request), await request.post()
    fields = {name: str(posted.get(name, "")).strip() for name in ("month", "finding", "what", "owner", "due_date")}
    try:
        data = followup.ActionCreate.model_validate({**fields, "org_unit_id": viewer.org_unit_id})
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            await run_async(session, followup.add_action, viewer, data, now=utcnow())
    except REFUSED as err:
        return await analysis_page(request, error=_refusal(err))
    raise web.HTTPSeeOther(f"/console/complaints/analysis?month={fields['month']}")


async def follow_action(request: web.Request) -> web.StreamResponse:
    """POST /console/complaints/analysis/actions/{id}: done, effect checked or closed, with a note."""
    viewer, action_id, posted = request_viewer(request), path_id(request, "action_id"), await request.post()
    try:
        data = followup.ActionUpdate.model_validate(
            {"event": str(posted.get("event", "")), "note": str(posted.get("note", "")).strip()}
        )
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            await run_async(session, followup.follow_action, viewer, action_id, data, now=utcnow())
    except REFUSED as err:
        return await analysis_page(request, error=_refusal(err))
    raise web.HTTPSeeOther(f"/console/complaints/analysis?month={posted.get('month', '')}")


def setup_routes(app: web.Application) -> None:
    """Register on the console sub-application (mounted at /console)."""
    r = app.router
    r.add_get("/complaint-numbers", complaint_numbers)
    r.add_get("/complaints/analysis", analysis_page)
    r.add_post("/complaints/analysis/actions", add_action)
    r.add_post(r"/complaints/analysis/actions/{action_id:\d{1,10}}", follow_action)
