"""Reports under /api/v1/reports: the monthly customer-center report of a unit and its subtree. A thin handler:
parse, run the store (synchronous, on the request's transaction: a month not rolled up yet is rolled up and stored
before it is read), answer."""

from __future__ import annotations

from aiohttp import web

from crm_store.db import async_session_scope, run_async
from crm_store.reports.monthly import monthly_report
from crm_store.types import utcnow
from gateway.contract import Answered
from gateway.inputs import bounded_month_param, int_param
from gateway.inputs import request_viewer as viewer_of
from gateway.keys import SESSIONS


async def monthly(request: web.Request) -> Answered:
    """GET /api/v1/reports/monthly?month=YYYY-MM&unit=ID"""
    month = bounded_month_param(request)
    unit = int_param(request, "unit")
    viewer, now = viewer_of(request), utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        return await run_async(session, monthly_report, viewer, month=month, unit_id=unit, now=now)
