"""Reports under /api/v1/reports: the monthly customer-center report of a unit and its subtree, the stored reports of
the caller's part of the organisation (listed, opened, downloaded as PDF or XLSX), the customer lists (as JSON or
exported as CSV or XLSX) and the caller's report notices. Thin handlers: parse, run the store (synchronous, on the
request's transaction), answer. The store decides scope and masks by clearance; every download and every list is
in the audit trail; building a file runs off the event loop."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from crm_store.db import async_session_scope, run_async
from crm_store.reports import customer_lists
from crm_store.reports import notices as report_notices
from crm_store.reports import stored as stored_reports
from crm_store.reports.monthly import check_reader, monthly_report
from crm_store.reports.notices import ReportNoticePublic
from crm_store.reports.stored import StoredReportDetail, StoredReportSummary
from crm_store.types import Answer, utcnow
from gateway import labels
from gateway.console.reports import customer_list_file, list_wanted, report_file
from gateway.contract import Answered
from gateway.inputs import bad_param, bounded_month_param, int_param, path_id
from gateway.inputs import request_viewer as viewer_of
from gateway.keys import SESSIONS

# The rows a customer list answers as JSON at most (its export holds up to customer_lists.MAX_ROWS).
LIST_PAGE = 200


class StoredReportList(Answer):
    reports: list[StoredReportSummary] = Field(description="newest month first, a unit before the units below it")


class ReportNoticeList(Answer):
    notices: list[ReportNoticePublic] = Field(description="the caller's report notices, newest month first")


async def monthly(request: web.Request) -> Answered:
    """GET /api/v1/reports/monthly?month=YYYY-MM&unit=ID"""
    viewer, now = viewer_of(request), utcnow()
    check_reader(viewer)  # a role that reads no report is refused (403) whatever it asks for
    month = bounded_month_param(request)
    unit = int_param(request, "unit")
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        return await run_async(session, monthly_report, viewer, month=month, unit_id=unit, now=now)


async def stored_list(request: web.Request) -> Answered:
    """GET /api/v1/reports/stored?month=YYYY-MM"""
    month = bounded_month_param(request) if request.query.get("month") else None
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        found = await run_async(session, stored_reports.list_reports, viewer_of(request), month=month)
    return StoredReportList(reports=found)


async def stored_report(request: web.Request) -> Answered:
    """GET /api/v1/reports/stored/{report_id}: the report whole; the caller's notice of it is read."""
    viewer, now = viewer_of(request), utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        found: StoredReportDetail = await run_async(
            session, stored_reports.get_report, viewer, path_id(request, "report_id")
        )
        await run_async(session, report_notices.report_opened, viewer, found.id, now=now)
    return found


async def stored_download(request: web.Request) -> Answered:
    """GET /api/v1/reports/stored/{report_id}/{format}: PDF or XLSX, the download in the audit trail."""
    return await report_file(request)


def _checked_list(request: web.Request) -> None:
    """400 naming an unknown list or segment (before the console's parsing, which answers a page's text)."""
    for name, known in (("list", labels.CUSTOMER_LISTS), ("segment", labels.SEGMENTS)):
        if request.query.get(name) and request.query[name] not in known:
            raise bad_param(name, "one of " + ", ".join(known))


async def customer_list(request: web.Request) -> Answered:
    """GET /api/v1/reports/customers?list=&segment=&unit=&month=: the list's first rows as JSON (audited)."""
    _checked_list(request)
    wanted = list_wanted(request)
    viewer, now = viewer_of(request), utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        listed = await run_async(session, customer_lists.customer_list, viewer, limit=LIST_PAGE, **wanted)
        await run_async(session, customer_lists.record_export, viewer, listed, "api", now=now)
    return listed


async def customer_export(request: web.Request) -> Answered:
    """GET /api/v1/reports/customers/{format}: the whole list as CSV or XLSX (audited)."""
    _checked_list(request)
    return await customer_list_file(request, request.match_info["format"])


async def notices(request: web.Request) -> Answered:
    """GET /api/v1/reports/notices?unread=true"""
    raw = request.query.get("unread", "")
    if raw not in ("", "true", "false"):
        raise bad_param("unread", "true or false")
    unread = raw == "true"
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        found = await run_async(session, report_notices.my_notices, viewer_of(request), unread_only=unread, limit=100)
    return ReportNoticeList(notices=found)
