"""Console pages of the monthly customer-center reports: the stored reports of the viewer's part of the organisation
(with a notice of the newest report of their own unit, and a button generating a month's reports on demand), one
report with its charts (SVG, Okabe-Ito) and a table under each, and its downloads as PDF and XLSX (each audited).
The store decides scope (crm_store.reports.stored); building a PDF or a workbook runs off the event loop."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from crm_store.db import async_session_scope, run_async
from crm_store.reports import stored as stored_reports
from crm_store.types import utcnow
from gateway.console.render import render
from gateway.exports import PDF_TYPE, XLSX_TYPE, pdf_bytes, render_off_loop, svg_bar_chart, xlsx_bytes
from gateway.inputs import bounded_month_param, bounded_month_value, path_id, request_viewer
from gateway.keys import SESSIONS
from gateway.report_document import report_document

EXPORTS = {"pdf": (pdf_bytes, PDF_TYPE), "xlsx": (xlsx_bytes, XLSX_TYPE)}


async def reports_page(request: web.Request) -> web.Response:
    """GET /console/reports?month=YYYY-MM: the stored reports in scope, newest month first."""
    viewer = request_viewer(request)
    month = bounded_month_param(request) if request.query.get("month") else None
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        reports = await run_async(session, stored_reports.list_reports, viewer, month=month)
        notice = await run_async(session, stored_reports.latest_notice, viewer)
    context = {"reports": reports, "notice": notice, "month": month.strftime("%Y-%m") if month else ""}
    return render(request, "reports.html", context)


async def generate(request: web.Request) -> web.StreamResponse:
    """POST /console/reports/generate: month (YYYY-MM), unit (default the viewer's): the month's reports of the unit
    and the units below it, generated now."""
    form = await request.post()
    month = bounded_month_value(str(form.get("month") or ""))
    raw_unit = str(form.get("unit") or "")
    unit = int(raw_unit) if raw_unit.isdigit() and len(raw_unit) <= 9 else None
    viewer, now = request_viewer(request), utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        await run_async(session, stored_reports.generate_on_demand, viewer, month, unit_id=unit, now=now)
    raise web.HTTPSeeOther(f"/console/reports?{urlencode({'month': month.strftime('%Y-%m')})}")


async def report_page(request: web.Request) -> web.Response:
    """GET /console/reports/{report_id}: one report, each section's chart above its table."""
    viewer = request_viewer(request)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        stored = await run_async(session, stored_reports.get_report, viewer, path_id(request, "report_id"))
    document = report_document(stored)
    parts = [(section, Markup(svg_bar_chart(section)) if section.chart else None) for section in document.sections]
    return render(request, "report.html", {"stored": stored, "document": document, "parts": parts})


async def download(request: web.Request) -> web.StreamResponse:
    """GET /console/reports/{report_id}/{format}: the report as PDF or XLSX, the download in the audit trail."""
    fmt = request.match_info["format"]
    viewer, now = request_viewer(request), utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        stored = await run_async(session, stored_reports.get_report, viewer, path_id(request, "report_id"))
        await run_async(session, stored_reports.record_download, viewer, stored, fmt, now=now)
    build, content_type = EXPORTS[fmt]
    body = await render_off_loop(build, report_document(stored))
    return attachment(body, content_type, f"report-{stored.month}-{stored.org_unit_id}.{fmt}")


def attachment(body: bytes, content_type: str, filename: str) -> web.Response:
    """A download: the bytes with their type and an ASCII file name."""
    response = web.Response(body=body, content_type=content_type.split(";")[0])
    if "charset" in content_type:
        response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def setup_routes(app: web.Application) -> None:
    """Register on the console sub-application (mounted at /console)."""
    r = app.router
    r.add_get("/reports", reports_page)
    r.add_post("/reports/generate", generate)
    r.add_get(r"/reports/{report_id:\d{1,10}}", report_page)
    r.add_get(r"/reports/{report_id:\d{1,10}}/{format:pdf|xlsx}", download)
