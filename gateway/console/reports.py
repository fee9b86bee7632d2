"""Console pages of the monthly customer-center reports: the stored reports of the viewer's part of the organisation
(with a notice of the newest report of their own unit, and a button generating a month's reports on demand), one
report with its charts (SVG, Okabe-Ito) and a table under each, and its downloads as PDF and XLSX (each audited).
The store decides scope (crm_store.reports.stored); building a PDF or a workbook runs off the event loop."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from crm_store.customers.tables import Segment
from crm_store.db import async_session_scope, run_async
from crm_store.reports import customer_lists
from crm_store.reports import notices as report_notices
from crm_store.reports import stored as stored_reports
from crm_store.reports.customer_lists import CustomerList, ListKind
from crm_store.reports.rollup import add_months, month_start
from crm_store.types import utcnow
from crm_store.validation import business_today
from gateway import labels
from gateway.console.render import render
from gateway.exports import (
    CSV_TYPE,
    PDF_TYPE,
    XLSX_TYPE,
    Cell,
    Document,
    Section,
    csv_bytes,
    pdf_bytes,
    render_off_loop,
    svg_bar_chart,
    xlsx_bytes,
)
from gateway.inputs import bounded_month_param, bounded_month_value, int_param, path_id, request_viewer
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
        announced = await run_async(session, report_notices.my_notices, viewer)
        sms_to = await run_async(session, report_notices.message_number, viewer)
    context = {
        "reports": reports,
        "notice": notice,
        "notices": announced,
        "sms_to": sms_to,
        "month": month.strftime("%Y-%m") if month else "",
    }
    return render(request, "reports.html", context)


async def notice_read(request: web.Request) -> web.StreamResponse:
    """POST /console/reports/notices/{notice_id}/read: one of the viewer's report notices marked read."""
    viewer, now = request_viewer(request), utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        await run_async(session, report_notices.mark_read, viewer, path_id(request, "notice_id"), now=now)
    raise web.HTTPSeeOther("/console/reports")


async def message_setting(request: web.Request) -> web.StreamResponse:
    """POST /console/reports/messages: sms_to, the mobile number the month's reports are told at (empty: none)."""
    form = await request.post()
    viewer, now = request_viewer(request), utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        await run_async(session, report_notices.set_message_number, viewer, str(form.get("sms_to") or ""), now=now)
    raise web.HTTPSeeOther("/console/reports")


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
        await run_async(session, report_notices.report_opened, viewer, stored.id, now=utcnow())
    document = report_document(stored)
    parts = [(section, Markup(svg_bar_chart(section)) if section.chart else None) for section in document.sections]
    return render(request, "report.html", {"stored": stored, "document": document, "parts": parts})


async def download(request: web.Request) -> web.StreamResponse:
    """GET /console/reports/{report_id}/{format}: the report as PDF or XLSX, the download in the audit trail."""
    return await report_file(request)


async def report_file(request: web.Request) -> web.Response:
    """The stored report of the path's report_id as the path's format (PDF or XLSX), the download audited."""
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


# -- customer lists ---------------------------------------------------------------------------------------------------

LIST_HEADERS = (
    "고객 번호",
    "이름",
    "구분",
    "주민등록번호",
    "등급",
    "관리 지점",
    "보험료 합계",
    "사고 건수",
    "지급 보험금",
    "손해율",
    "이번 달 내용",
)
LIST_EXPORTS = {"xlsx": XLSX_TYPE, "csv": CSV_TYPE}


def list_wanted(request: web.Request) -> dict[str, Any]:
    """The list asked for in the query: list, segment (entrants and leavers), unit, month (last month by default)."""
    kind = request.query.get("list") or ListKind.QUALITY.value
    segment = request.query.get("segment") or Segment.QUALITY.value
    if kind not in labels.CUSTOMER_LISTS or segment not in labels.SEGMENTS:
        raise web.HTTPBadRequest(text=labels.UNKNOWN_FILTER)
    month = (
        bounded_month_param(request) if request.query.get("month") else add_months(month_start(business_today()), -1)
    )
    return {"kind": ListKind(kind), "segment": segment, "unit_id": int_param(request, "unit"), "month": month}


def _list_rows(listed: CustomerList) -> list[tuple[Cell, ...]]:
    return [
        (
            r.customer_id,
            r.name,
            labels.label(labels.CUSTOMER_KINDS, r.kind),
            r.registration_number or "",
            labels.label(labels.SEGMENTS, r.segment),
            r.org_unit_name,
            r.premium_total,
            r.claim_count,
            r.paid_total,
            "" if r.loss_ratio is None else f"{r.loss_ratio * 100:.1f}%",
            r.detail,
        )
        for r in listed.rows
    ]


def _list_title(listed: CustomerList) -> str:
    kind = labels.CUSTOMER_LISTS[listed.kind.value]
    segment = f" ({labels.SEGMENTS[listed.segment]})" if listed.segment else ""
    return f"{listed.month} {kind}{segment}: {listed.org_unit_name}"


async def _customer_list(request: web.Request, fmt: str, limit: int) -> CustomerList:
    wanted = list_wanted(request)
    viewer, now = request_viewer(request), utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        listed = await run_async(session, customer_lists.customer_list, viewer, limit=limit, **wanted)
        await run_async(session, customer_lists.record_export, viewer, listed, fmt, now=now)
    return listed


async def customer_list_page(request: web.Request) -> web.Response:
    """GET /console/reports/customers?list=&segment=&unit=&month=: a list's first 200 rows, with its exports."""
    listed = await _customer_list(request, "page", 200)
    context = {
        "listed": listed,
        "title": _list_title(listed),
        "headers": LIST_HEADERS,
        "rows": _list_rows(listed),
        "query": urlencode({k: v for k, v in request.query.items() if k in ("list", "segment", "unit", "month")}),
        "wanted": {"list": listed.kind.value, "segment": listed.segment or "", "month": listed.month},
    }
    return render(request, "customer_list.html", context)


async def customer_list_export(request: web.Request) -> web.StreamResponse:
    """GET /console/reports/customers/{format}: the whole list (up to MAX_ROWS) as XLSX or CSV, masked, audited."""
    return await customer_list_file(request, request.match_info["format"])


async def customer_list_file(request: web.Request, fmt: str) -> web.Response:
    """The list the query asks for, whole (up to MAX_ROWS), as a CSV or XLSX download; masked, audited."""
    listed = await _customer_list(request, fmt, customer_lists.MAX_ROWS)
    rows = _list_rows(listed)
    if fmt == "csv":
        body = await render_off_loop(lambda table: csv_bytes(LIST_HEADERS, table), rows)
    else:
        document = Document(
            _list_title(listed), f"{listed.total:,}명", [Section(_list_title(listed), LIST_HEADERS, rows)]
        )
        body = await render_off_loop(xlsx_bytes, document)
    name = f"customers-{listed.kind.value}-{listed.month}-{listed.org_unit_id}.{fmt}"
    return attachment(body, LIST_EXPORTS[fmt], name)


def setup_routes(app: web.Application) -> None:
    """Register on the console sub-application (mounted at /console)."""
    r = app.router
    r.add_get("/reports", reports_page)
    r.add_post("/reports/generate", generate)
    r.add_post(r"/reports/notices/{notice_id:\d{1,10}}/read", notice_read)
    r.add_post("/reports/messages", message_setting)
    r.add_get(r"/reports/{report_id:\d{1,10}}", report_page)
    r.add_get(r"/reports/{report_id:\d{1,10}}/{format:pdf|xlsx}", download)
    r.add_get("/reports/customers", customer_list_page)
    r.add_get("/reports/customers/{format:xlsx|csv}", customer_list_export)
