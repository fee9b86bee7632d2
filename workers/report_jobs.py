"""The scheduled roll-up of calls for the monthly reports (`crm_store.reports.rollup`), and the month's stored
reports of every unit (`crm_store.reports.stored`) generated once the month is rolled up.

The workers enqueue it once per business day (`workers.periodic`); on each day it rolls up the month before that
day's month unless that month was already rolled up after it ended, so the month before is counted on the first
day of each month (or the first day a worker runs after it), and every other day costs one primary-key read (and
one indexed read of whether the month's reports are stored: if not, they are generated)."""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlmodel import select

from crm_store.db import session_scope
from crm_store.reports.rollup import add_months, month_start, roll_up_month
from crm_store.reports.stored import generate_reports
from crm_store.reports.tables import CallRollupMonth, StoredReport
from crm_store.types import utcnow
from crm_store.validation import business_today
from workers.context import current

log = logging.getLogger(__name__)


def roll_up_last_month(as_of: str | None = None, *, now: datetime | None = None) -> int | None:
    """Roll up the month before business day `as_of`'s (ISO; today by default) unless it was rolled up complete;
    its calls, or None when nothing was left to do."""
    month = add_months(month_start(date.fromisoformat(as_of) if as_of else business_today()), -1)
    now = now or utcnow()
    calls = None
    with session_scope(current().engine) as session:
        done = session.exec(select(CallRollupMonth).where(CallRollupMonth.month == month)).first()
        if done is None or not done.complete:
            calls = roll_up_month(session, month, now=now)
            log.info("calls of %s rolled up: %d", month.strftime("%Y-%m"), calls)
    with session_scope(current().engine) as session:
        if session.exec(select(StoredReport.id).where(StoredReport.month == month).limit(1)).first() is None:
            stored = generate_reports(session, month, now=now, by="workers")
            log.info("reports of %s stored: %d units", month.strftime("%Y-%m"), len(stored))
    return calls
