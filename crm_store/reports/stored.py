"""Stored monthly reports: generated for every active unit (each unit's report covers its subtree, so the head office
has the company's and, through the units below, each province's; a province its cities', ...) by the workers at the
start of each month and on demand, listed and opened within the viewer's scope, every download audited.

The people of each level learn of the month's reports from the console's notice: the newest month with a stored
report of their own unit (`latest_notice`)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field
from sqlmodel import Session, col, select

from crm_store.audit import Actor, record_change
from crm_store.errors import NotFound
from crm_store.org.scope import SUPERVISORS, Viewer, unit_in_scope
from crm_store.org.tables import OrgUnit
from crm_store.reports.monthly import MonthlyReport, report_unit, unit_report
from crm_store.reports.rollup import month_start
from crm_store.reports.tables import StoredReport
from crm_store.types import Answer, Moment, iso
from crm_store.validation import NotAllowed

DOWNLOAD = "report.downloaded"
GENERATE = "report.generated"
# The formats a stored report downloads as (the audit trail's detail names it).
FORMATS = ("pdf", "xlsx")


class ReportNotFound(NotFound):
    """No stored report of that id in the viewer's part of the organisation."""


class StoredReportSummary(Answer):
    id: int = Field(description="the stored report's id")
    month: str = Field(description="YYYY-MM")
    org_unit_id: int = Field(description="the unit reported on (with the units below it)")
    org_unit_name: str = Field(description="its name")
    level: int = Field(description="the unit's level: 0 head office, 1 province, 2 city, 3 county")
    calls: int = Field(description="calls in the month")
    hot_spots: int = Field(description="how many topics rose significantly")
    generated_at: Moment = Field(description="when it was generated")
    generated_by: str = Field(description="'workers' (at the start of the month) or who generated it on demand")


class StoredReportDetail(StoredReportSummary):
    report: MonthlyReport = Field(description="the report as generated")


def _readers(viewer: Viewer) -> None:
    if viewer.role not in SUPERVISORS:
        raise NotAllowed(f"the role {viewer.role.value} may not read reports")


def generate_reports(session: Session, month: date, *, now: datetime, by: str, top: OrgUnit | None = None) -> list[int]:
    """Generate and store `month`'s report of every active unit (of `top` and the units below it, when given),
    replacing the content of those stored before (a report keeps its id); the stored reports' ids."""
    month = month_start(month)
    query = select(OrgUnit).where(col(OrgUnit.active)).order_by(col(OrgUnit.path))
    if top is not None:
        query = query.where(col(OrgUnit.path).startswith(top.path, autoescape=True))
    return [store_report(session, unit, month, now=now, by=by) for unit in session.exec(query).all()]


def store_report(session: Session, unit: OrgUnit, month: date, *, now: datetime, by: str) -> int:
    """Generate `month`'s report of `unit` and store it (replacing the one stored before, which keeps its id)."""
    assert unit.id is not None
    month = month_start(month)
    body = unit_report(session, unit, month=month, now=now).model_dump(mode="json")
    row = session.exec(
        select(StoredReport).where(col(StoredReport.month) == month, col(StoredReport.org_unit_id) == unit.id)
    ).first() or StoredReport(month=month, org_unit_id=unit.id, body=body, generated_at=now, generated_by=by)
    row.body, row.generated_at, row.generated_by = body, now, by[:64]
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def generate_on_demand(
    session: Session, viewer: Viewer, month: date, *, unit_id: int | None, now: datetime
) -> list[int]:
    """A supervisor generates `month`'s reports of a unit in their scope (their own by default) and the units below;
    audited."""
    unit = report_unit(session, viewer, unit_id)
    assert unit.id is not None
    ids = generate_reports(session, month, now=now, by=viewer.username, top=unit)
    record_change(
        session,
        viewer,
        action=GENERATE,
        target=f"org_unit:{unit.id}",
        org_unit_id=unit.id,
        detail={"month": month.strftime("%Y-%m"), "reports": len(ids)},
        now=now,
    )
    return ids


def _summary(row: StoredReport, unit: OrgUnit) -> StoredReportSummary:
    assert row.id is not None and unit.id is not None
    generated = iso(row.generated_at)
    assert generated is not None
    return StoredReportSummary(
        id=row.id,
        month=row.month.strftime("%Y-%m"),
        org_unit_id=unit.id,
        org_unit_name=unit.name,
        level=unit.level,
        calls=int(row.body.get("calls", 0)),
        hot_spots=len(row.body.get("hot_spots", [])),
        generated_at=generated,
        generated_by=row.generated_by,
    )


def list_reports(
    session: Session, viewer: Viewer, *, month: date | None = None, limit: int = 200
) -> list[StoredReportSummary]:
    """The stored reports of the viewer's unit and the units below, newest month first, then by the organisation's
    order (a unit before the units under it)."""
    _readers(viewer)
    query = (
        select(StoredReport, OrgUnit)
        .join(OrgUnit, col(OrgUnit.id) == col(StoredReport.org_unit_id))
        .where(unit_in_scope(viewer, col(StoredReport.org_unit_id)))
        .order_by(col(StoredReport.month).desc(), col(OrgUnit.level), col(OrgUnit.path))
        .limit(limit)
    )
    if month is not None:
        query = query.where(col(StoredReport.month) == month_start(month))
    return [_summary(row, unit) for row, unit in session.exec(query).all()]


def get_report(session: Session, viewer: Viewer, report_id: int) -> StoredReportDetail:
    """A stored report of the viewer's scope, whole; ReportNotFound for one outside it."""
    _readers(viewer)
    found = session.exec(
        select(StoredReport, OrgUnit)
        .join(OrgUnit, col(OrgUnit.id) == col(StoredReport.org_unit_id))
        .where(col(StoredReport.id) == report_id, unit_in_scope(viewer, col(StoredReport.org_unit_id)))
    ).first()
    if found is None:
        raise ReportNotFound(f"report {report_id}")
    row, unit = found
    return StoredReportDetail(**_summary(row, unit).model_dump(), report=MonthlyReport.model_validate(row.body))


def record_download(session: Session, actor: Actor, report: StoredReportSummary, fmt: str, *, now: datetime) -> None:
    """The audit trail's line of a download: who, which report (unit and month), in which format."""
    record_change(
        session,
        actor,
        action=DOWNLOAD,
        target=f"report:{report.id}",
        org_unit_id=report.org_unit_id,
        detail={"month": report.month, "format": fmt},
        now=now,
    )


def latest_notice(session: Session, viewer: Viewer) -> StoredReportSummary | None:
    """The newest stored report of the viewer's own unit: what the console announces to them."""
    if viewer.role not in SUPERVISORS:
        return None
    found = session.exec(
        select(StoredReport, OrgUnit)
        .join(OrgUnit, col(OrgUnit.id) == col(StoredReport.org_unit_id))
        .where(col(StoredReport.org_unit_id) == viewer.org_unit_id)
        .order_by(col(StoredReport.month).desc())
        .limit(1)
    ).first()
    return _summary(*found) if found is not None else None
