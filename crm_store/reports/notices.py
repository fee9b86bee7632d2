"""The month's reports announced to the people of each level: when the workers have stored a month's reports, every
active center manager, executive and administrator gets a console notice of the report of their own unit (unread
until they open the report or mark the notice read) and, if they asked for one (`set_message_number`), a text
message the workers send through Twilio's REST API (`workers.report_jobs.send_report_messages`),
retried on the following runs while Twilio answers with a retryable error.

Announcing again is harmless: a staff member has one notice per report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pydantic import Field
from sqlalchemy import update
from sqlmodel import Session, col, select

from crm_store.complaints.notices import sender_number
from crm_store.customers.phones import mask_phone, normalise_phone
from crm_store.errors import NotFound
from crm_store.org.scope import SUPERVISORS, Viewer
from crm_store.org.tables import OrgUnit, Staff
from crm_store.reports.rollup import month_start
from crm_store.reports.tables import ReportMessageSetting, ReportNotice, StoredReport
from crm_store.types import Answer, Moment, iso
from crm_store.upsert import insert_ignoring_conflict
from crm_store.validation import InvalidInput, NotAllowed

PENDING, SENT, FAILED = "pending", "sent", "failed"
# A message is given up after this many attempts (one per run of the workers' daily duty).
MAX_ATTEMPTS = 3


class NoticeNotFound(NotFound):
    """No report notice of that id for the viewer."""


class ReportNoticePublic(Answer):
    id: int = Field(description="the notice's id")
    report_id: int = Field(description="the stored report announced (GET /reports/stored/{id})")
    month: str = Field(description="YYYY-MM")
    org_unit_id: int = Field(description="the unit of the report")
    org_unit_name: str = Field(description="its name")
    created_at: Moment = Field(description="when the report was announced")
    read_at: Moment | None = Field(description="when the viewer opened the report or marked the notice read")
    message_status: str | None = Field(description="the text message: pending, sent, failed; null without one")


def announce_reports(session: Session, month: date, *, now: datetime) -> int:
    """A notice of `month`'s stored report of each unit to each active supervisor of that unit (a text message
    pending for those who asked for one); the notices added."""
    rows = session.exec(
        select(col(Staff.id), col(StoredReport.id), col(ReportMessageSetting.sms_to))
        .join(StoredReport, col(StoredReport.org_unit_id) == col(Staff.org_unit_id))
        .outerjoin(ReportMessageSetting, col(ReportMessageSetting.staff_id) == col(Staff.id))
        .where(
            col(StoredReport.month) == month_start(month),
            col(Staff.active),
            col(Staff.role).in_([role.value for role in SUPERVISORS]),
        )
    ).all()
    dialect = session.get_bind().dialect.name
    added = 0
    for staff_id, report_id, sms_to in rows:
        values: dict[str, object] = {"staff_id": staff_id, "report_id": report_id, "created_at": now, "attempts": 0}
        if sms_to:
            values |= {"message_status": PENDING, "message_to": sms_to}
        result = session.execute(insert_ignoring_conflict(dialect, ReportNotice, values))
        added += max(getattr(result, "rowcount", 0) or 0, 0)
    return added


def _supervisor(viewer: Viewer) -> None:
    if viewer.role not in SUPERVISORS:
        raise NotAllowed(f"the role {viewer.role.value} reads no reports")


def _public(notice: ReportNotice, report: StoredReport, unit: OrgUnit) -> ReportNoticePublic:
    assert notice.id is not None and unit.id is not None
    created = iso(notice.created_at)
    assert created is not None
    return ReportNoticePublic(
        id=notice.id,
        report_id=notice.report_id,
        month=report.month.strftime("%Y-%m"),
        org_unit_id=unit.id,
        org_unit_name=unit.name,
        created_at=created,
        read_at=iso(notice.read_at),
        message_status=notice.message_status,
    )


def my_notices(
    session: Session, viewer: Viewer, *, unread_only: bool = False, limit: int = 12
) -> list[ReportNoticePublic]:
    """The viewer's report notices, newest month first (NotAllowed for roles that read no reports)."""
    _supervisor(viewer)
    query = (
        select(ReportNotice, StoredReport, OrgUnit)
        .join(StoredReport, col(StoredReport.id) == col(ReportNotice.report_id))
        .join(OrgUnit, col(OrgUnit.id) == col(StoredReport.org_unit_id))
        .where(col(ReportNotice.staff_id) == viewer.staff_id)
        .order_by(col(StoredReport.month).desc(), col(ReportNotice.id).desc())
        .limit(limit)
    )
    if unread_only:
        query = query.where(col(ReportNotice.read_at).is_(None))
    return [_public(*found) for found in session.exec(query).all()]


def mark_read(session: Session, viewer: Viewer, notice_id: int, *, now: datetime) -> None:
    """Mark one of the viewer's notices read (NoticeNotFound for anyone else's)."""
    _supervisor(viewer)
    notice = session.exec(
        select(ReportNotice).where(col(ReportNotice.id) == notice_id, col(ReportNotice.staff_id) == viewer.staff_id)
    ).first()
    if notice is None:
        raise NoticeNotFound(f"report notice {notice_id}")
    if notice.read_at is None:
        notice.read_at = now
        session.add(notice)


def report_opened(session: Session, viewer: Viewer, report_id: int, *, now: datetime) -> None:
    """The viewer opened a stored report: their notice of it, if any, is read."""
    session.execute(
        update(ReportNotice)
        .where(
            col(ReportNotice.staff_id) == viewer.staff_id,
            col(ReportNotice.report_id) == report_id,
            col(ReportNotice.read_at).is_(None),
        )
        .values(read_at=now)
    )


def message_number(session: Session, viewer: Viewer) -> str | None:
    """The mobile number the viewer's report messages go to, masked; None: console notices only."""
    setting = session.get(ReportMessageSetting, viewer.staff_id)
    return mask_phone(setting.sms_to) if setting is not None else None


def set_message_number(session: Session, viewer: Viewer, raw: str | None, *, now: datetime) -> None:
    """The viewer wants the month's reports told by text at this number (any common writing, normalised to
    E.164), or no more messages (empty); InvalidInput for a number that is none."""
    _supervisor(viewer)
    setting = session.get(ReportMessageSetting, viewer.staff_id)
    if not (raw or "").strip():
        if setting is not None:
            session.delete(setting)
        return
    number = normalise_phone(raw)
    if number is None:
        raise InvalidInput({"sms_to": "not a phone number"})
    setting = setting or ReportMessageSetting(staff_id=viewer.staff_id, sms_to=number, updated_at=now)
    setting.sms_to, setting.updated_at = number, now
    session.add(setting)


def message_body(report: StoredReport, unit: OrgUnit) -> str:
    """The Korean text of the message: which month and unit, where to read it; no personal data."""
    return (
        f"[월간 보고서] {report.month:%Y-%m} {unit.name} 월간 고객센터 보고서가 생성되었습니다. "
        "콘솔의 '월간 보고서'에서 확인하세요."
    )


def pending_messages(session: Session, limit: int = 200) -> list[int]:
    """The notices whose text message is still to be sent, oldest first."""
    query = select(col(ReportNotice.id)).where(col(ReportNotice.message_status) == PENDING)
    return [int(i or 0) for i in session.exec(query.order_by(col(ReportNotice.id)).limit(limit))]


@dataclass(frozen=True)
class Message:
    """A pending notice's text message, its row locked until the transaction ends."""

    notice: ReportNotice
    to: str
    from_: str | None  # the hotline number of the report's unit or the nearest above it; None: none to send from
    body: str


def claim_message(session: Session, notice_id: int) -> Message | None:
    """The pending message of a notice with its row locked (two workers never send one twice); None when it is no
    longer pending."""
    notice = session.get(ReportNotice, notice_id, with_for_update=True)
    if notice is None or notice.message_status != PENDING or not notice.message_to:
        return None
    report = session.get(StoredReport, notice.report_id)
    unit = session.get(OrgUnit, report.org_unit_id) if report is not None else None
    assert report is not None and unit is not None and unit.id is not None
    return Message(notice, notice.message_to, sender_number(session, unit.id), message_body(report, unit))


def message_tried(session: Session, message: Message, *, sid: str | None, error: str | None, retry: bool) -> str:
    """After an attempt: sent (with Twilio's sid), else pending again while `retry` and attempts are left, else
    failed; the status."""
    notice = message.notice
    notice.attempts += 1
    if sid is not None:
        notice.message_status, notice.message_sid, notice.error = SENT, sid, None
    else:
        notice.error = (error or "")[:300]
        notice.message_status = PENDING if retry and notice.attempts < MAX_ATTEMPTS else FAILED
    session.add(notice)
    return notice.message_status
