"""The scheduled roll-up of calls for the monthly reports (`crm_store.reports.rollup`), and the month's stored
reports of every unit (`crm_store.reports.stored`) generated once the month is rolled up.

The workers enqueue it once per business day (`workers.periodic`); on each day it rolls up the month before that
day's month unless that month was already rolled up after it ended, so the month before is counted on the first
day of each month (or the first day a worker runs after it), and every other day costs one primary-key read (and
one indexed read of whether the month's reports are stored: if not, they are generated). Once stored, the month's
reports are announced to the people of each unit (`crm_store.reports.notices`: a console notice, and a text message
through Twilio's REST API for those who asked for one; a message Twilio refused for a passing reason is tried again
on the next days' runs)."""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from crm_store.db import session_scope
from crm_store.reports import notices
from crm_store.reports.rollup import add_months, month_start, roll_up_month
from crm_store.reports.stored import generate_reports
from crm_store.reports.tables import CallRollupMonth, StoredReport
from crm_store.types import utcnow
from crm_store.validation import business_today
from telephony.twilio_rest import TwilioRest, TwilioRestError
from workers.complaint_jobs import Sender
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
            announced = notices.announce_reports(session, month, now=now)
            log.info("reports of %s stored: %d units, %d notices", f"{month:%Y-%m}", len(stored), announced)
    with session_scope(current().engine) as session:
        waiting = notices.pending_messages(session)
    if waiting:
        rest = twilio_rest()
        try:
            send_report_messages(current().engine, rest, waiting)
        finally:
            rest.close()
    return calls


def twilio_rest() -> TwilioRest:
    """Twilio's REST API as the workers' settings reach it (TWILIO_API_BASE)."""
    settings = current().settings
    return TwilioRest(account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token,
                      base_url=settings.twilio_api_base)  # fmt: skip


def send_report_messages(engine: Engine, sender: Sender, notice_ids: list[int]) -> dict[str, int]:
    """Send the text messages of these report notices, one transaction each with its row locked; how many ended
    sent, pending (to try again on the next run) and failed."""
    counts = {notices.SENT: 0, notices.PENDING: 0, notices.FAILED: 0}
    for notice_id in notice_ids:
        with session_scope(engine) as session:
            message = notices.claim_message(session, notice_id)
            if message is None:
                continue
            sid, error, retry = None, None, False
            try:
                if message.from_ is None:
                    raise TwilioRestError("no hotline number to send from", status=400)
                sid = sender.send_message(to=message.to, from_=message.from_, body=message.body).sid
            except TwilioRestError as err:
                error, retry = str(err), err.retryable
            counts[notices.message_tried(session, message, sid=sid, error=error, retry=retry)] += 1
    log.info("report messages: %s", counts)
    return counts
