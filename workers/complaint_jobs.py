"""The workers' complaint duties: customer notices sent through Twilio's REST API (retried with back-off),
reminders before limits fall due, and the monthly analyses generated and stored."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine

from crm_store.complaints.escalation import remind_due_soon
from crm_store.complaints.followup import generate_month_reports, month_reports_done, store_month_report
from crm_store.complaints.notices import BACK_OFF, due_notices, notice_entry, sender_number
from crm_store.complaints.store import WORKERS, append_entry
from crm_store.complaints.tables import Complaint, ComplaintNotice
from crm_store.db import session_scope
from telephony.twilio_rest import SentMessage, TwilioRest, TwilioRestError
from workers.context import current

log = logging.getLogger(__name__)


class Sender(Protocol):
    """What sends a text (TwilioRest)."""

    def send_message(self, *, to: str, from_: str, body: str, status_callback: str | None = None) -> SentMessage: ...


def send_notices(engine: Engine, sender: Sender, *, now: datetime, limit: int = 100) -> dict[str, int]:
    """Send every complaint notice due at `now`, one transaction each with its row locked (two workers never send
    one twice); a notice sent or given up is a dossier entry. How many were sent, put off and given up."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    with session_scope(engine) as session:
        ids = due_notices(session, now=now, limit=limit)
    for notice_id in ids:
        with session_scope(engine) as session:
            notice = session.get(ComplaintNotice, notice_id, with_for_update=True)
            if notice is None or notice.status != "pending":
                continue
            complaint = session.get(Complaint, notice.complaint_id)
            assert complaint is not None
            sent_from = sender_number(session, complaint.org_unit_id)
            try:
                if sent_from is None:
                    raise TwilioRestError("no hotline number to send from", status=400)
                sent = sender.send_message(to=notice.to_phone, from_=sent_from, body=notice.body)
            except TwilioRestError as err:
                outcome = notice.attempted(
                    now=now, sid=None, error=str(err), retryable=err.retryable, back_off=BACK_OFF
                )
            else:
                outcome = notice.attempted(now=now, sid=sent.sid, error=None, retryable=False, back_off=BACK_OFF)
            counts[outcome] += 1
            session.add(notice)
            if outcome == "retry":
                continue
            append_entry(session, WORKERS, complaint, action="notice", from_state=complaint.state,
                         form=notice_entry(notice, sent_from), now=now)  # fmt: skip
    if any(counts.values()):
        log.info("complaint notices: %s", counts)
    return counts


def send_complaint_notices(as_of: str) -> dict[str, int]:
    """The job: send the complaint notices due at `as_of` (ISO) through Twilio's REST API (TWILIO_API_BASE)."""
    context = current()
    settings = context.settings
    rest = TwilioRest(account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token,
                      base_url=settings.twilio_api_base)  # fmt: skip
    try:
        return send_notices(context.engine, rest, now=datetime.fromisoformat(as_of))
    finally:
        rest.close()


def remind_complaints(as_of: str) -> list[int]:
    """The job: remind of the complaints whose next limit is near at `as_of` (ISO); the ids reminded."""
    with session_scope(current().engine) as session:
        reminded = remind_due_soon(session, now=datetime.fromisoformat(as_of))
    if reminded:
        log.info("reminded of %d complaint(s) falling due: %s", len(reminded), reminded)
    return reminded


def previous_month(day: date) -> date:
    """The first day of the month before the one `day` falls in."""
    first = day.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def generate_complaint_analyses(business_day: str, month: str | None = None, unit_id: int | None = None) -> list[int]:
    """The job: store the analysis of the month before `business_day` (ISO date) for the head office, provinces and
    cities, unless the workers stored it already after that month ended; on demand, of `month` (YYYY-MM) for the unit
    `unit_id` again."""
    day = date.fromisoformat(business_day)
    wanted = date.fromisoformat(f"{month}-01") if month else previous_month(day)
    now = datetime.now(tz=UTC)
    with session_scope(current().engine) as session:
        if unit_id is not None:
            store_month_report(session, WORKERS, unit_id, wanted, now=now)
            return [unit_id]
        if month is None and month_reports_done(session, wanted):
            return []
        units = generate_month_reports(session, wanted, now=now, actor=WORKERS)
    log.info("complaint analysis of %s stored for %d unit(s)", f"{wanted:%Y-%m}", len(units))
    return units
