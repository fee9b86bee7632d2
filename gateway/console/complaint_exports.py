"""Complaint downloads of the console: a complaint's dossier as a PDF (the record, the customer masked by the
viewer's clearance, the timeline and every step's form) and the stored monthly analysis of a unit as PDF or XLSX
(figures, charts, corrective actions). Scope is the store's (`store.get_complaint`, `followup.month_report`); every
download is in the audit trail; the files are built off the event loop by the shared `gateway.exports`."""

from __future__ import annotations

from datetime import date, datetime

from aiohttp import web

from crm_store.audit import record_change
from crm_store.complaints import followup, store
from crm_store.complaints.analysis import ComplaintAnalysis
from crm_store.complaints.reading import ComplaintNames, complaint_names
from crm_store.complaints.wire import ComplaintDetail
from crm_store.db import async_session_scope, run_async
from crm_store.errors import NotFound
from crm_store.org.scope import Viewer
from crm_store.org.tables import OrgUnit, Staff
from crm_store.types import utcnow
from gateway import labels
from gateway.complaints_api import complaint_detail
from gateway.console.complaints import dossier_rows, shown_customer_name
from gateway.console.render import kst
from gateway.console.reports import EXPORTS, attachment
from gateway.exports import PDF_TYPE, Cell, Document, Section, pdf_bytes, render_off_loop
from gateway.inputs import bounded_month_param, int_param, path_id, request_viewer
from gateway.keys import SESSIONS

DOSSIER_EXPORTED = "complaint.dossier_exported"
ANALYSIS_EXPORTED = "complaint.analysis_exported"


def _or_dash(value: float | None, unit: str = "") -> Cell:
    return "-" if value is None else f"{value}{unit}"


# -- the dossier ----------------------------------------------------------------------------------------------------


def dossier_document(viewer: Viewer, detail: ComplaintDetail, names: ComplaintNames, now: datetime) -> Document:
    """The dossier as a document: the record, the timeline (every entry), each step's form field by field and the
    coordination's sub-tasks; the customer's name as the viewer may see it."""
    department = names.departments.get((detail.org_unit_id, detail.department), detail.department)
    handler = names.staff.get(detail.handler_id, "") if detail.handler_id else ""
    record: list[tuple[Cell, ...]] = [
        ("민원 번호", detail.number),
        ("고객", f"{shown_customer_name(viewer, names.customers.get(detail.customer_id))} (#{detail.customer_id})"),
        ("접수 경로", labels.label(labels.COMPLAINT_CHANNELS, detail.channel)),
        ("공시 유형", labels.label(labels.COMPLAINT_CATEGORIES, detail.category)),
        ("주제", labels.topic_label(detail.topic) if detail.topic else "미분류"),
        ("중요도", labels.label(labels.COMPLAINT_SEVERITY, detail.severity)),
        ("민원 내용", detail.summary),
        ("단계", labels.label(labels.COMPLAINT_STATES, detail.state)),
        ("담당", " · ".join(part for part in (names.units.get(detail.org_unit_id, ""), department, handler) if part)),
        ("접수", kst(detail.received_at)),
        ("접수 통지 기한", kst(detail.acknowledge_by)),
        ("접수 통지", kst(detail.acknowledged_at) or "-"),
        ("처리 기한", kst(detail.resolve_by)),
        ("종결", kst(detail.closed_at) or "-"),
    ]
    timeline: list[tuple[Cell, ...]] = [
        (
            kst(entry.created_at),
            labels.label(labels.COMPLAINT_STEPS, entry.action),
            entry.username,
            names.units.get(entry.org_unit_id, ""),
            labels.label(labels.COMPLAINT_STATES, entry.to_state),
        )
        for entry in detail.steps
    ]
    forms: list[tuple[Cell, ...]] = [
        (labels.label(labels.COMPLAINT_STEPS, row["entry"].action), kst(row["entry"].created_at), name, value)
        for row in dossier_rows(detail)
        for name, value in row["fields"]
    ]
    tasks: list[tuple[Cell, ...]] = [
        (
            names.departments.get((detail.org_unit_id, t.department), t.department),
            t.what,
            t.owner,
            kst(t.due_at) or "-",
            f"완료 {kst(t.done_at)}" if t.done_at else "미완료",
        )
        for t in detail.subtasks
    ]
    return Document(
        title=f"민원 {detail.number} 처리 기록",
        subtitle=f"출력 {kst(now)} · {viewer.username}",
        sections=[
            Section("민원", ("항목", "내용"), record),
            Section("처리 경과", ("일시", "단계", "처리자", "지점", "상태"), timeline),
            Section("단계별 서식", ("단계", "일시", "항목", "내용"), forms),
            Section("세부 업무", ("부서", "할 일", "담당자", "기한", "상태"), tasks),
        ],
    )


async def dossier_pdf(request: web.Request) -> web.StreamResponse:
    """GET /console/complaints/{id}/pdf: the dossier as a PDF (a complaint in scope), the download audited."""
    viewer, complaint_id, now = request_viewer(request), path_id(request, "complaint_id"), utcnow()
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        complaint = await run_async(session, store.get_complaint, viewer, complaint_id)
        detail = await complaint_detail(session, complaint, now)
        names = await run_async(session, complaint_names, [detail], units=[e.org_unit_id for e in detail.steps])
        record_change(
            session, viewer, action=DOSSIER_EXPORTED, target=f"complaint:{complaint_id}",
            org_unit_id=complaint.org_unit_id, detail={"number": complaint.number, "format": "pdf"}, now=now,
            customer_id=complaint.customer_id,
        )  # fmt: skip
    body = await render_off_loop(pdf_bytes, dossier_document(viewer, detail, names, now))
    return attachment(body, PDF_TYPE, f"complaint-{detail.number}.pdf")


# -- the monthly analysis -------------------------------------------------------------------------------------------


def analysis_document(
    analysis: ComplaintAnalysis, unit: str, generated: str, actions: list[tuple[followup.ActionPublic, str]]
) -> Document:
    """The month's stored analysis of a unit: the figures, by category, by topic and the trend (charted), and the
    corrective actions on its findings."""
    a = analysis
    figures: list[tuple[Cell, ...]] = [
        ("유지 계약", a.contracts),
        ("접수", a.received),
        ("종결", a.closed),
        ("기한 초과", a.overdue),
        ("10만 건당 (전체)", _or_dash(a.per_100k)),
        ("10만 건당 (자체 접수)", _or_dash(a.own_per_100k)),
        ("금융감독원 이첩", f"{a.fss_referred}건 (10만 건당 {_or_dash(a.fss_per_100k)})"),
        ("반복 민원인", a.repeat_complainants),
        ("평균 처리 기간", _or_dash(a.average_business_days, "영업일")),
        ("처리 기간 90%", _or_dash(a.p90_business_days, "영업일")),
    ]
    categories: list[tuple[Cell, ...]] = [
        (name, getattr(a.by_category, code).received, _or_dash(getattr(a.by_category, code).per_100k))
        for code, name in labels.COMPLAINT_CATEGORIES.items()
    ]
    topics: list[tuple[Cell, ...]] = [
        (labels.topic_label(t.topic) if t.topic != "none" else "미분류", t.received) for t in a.by_topic
    ]
    trend: list[tuple[Cell, ...]] = [(t.month, t.received, t.closed) for t in a.trend]
    trend.append((a.month, a.received, a.closed))
    follow: list[tuple[Cell, ...]] = [
        (x.finding, x.what, owner, x.due_date, kst(x.done_at) or "-", kst(x.effect_checked_at) or "-",
         kst(x.closed_at) or "-")
        for x, owner in actions
    ]  # fmt: skip
    return Document(
        title=f"월간 민원 분석 {a.month} · {unit}",
        subtitle=f"생성 {generated}",
        sections=[
            Section("요약", ("항목", "값"), figures),
            Section("공시 유형별 접수", ("유형", "접수", "10만 건당"), categories, chart=True),
            Section("주제별 접수", ("주제", "접수"), topics, chart=True),
            Section("추이", ("월", "접수", "종결"), trend, chart=True),
            Section("시정 조치", ("발견 사항", "조치", "담당자", "기한", "완료", "효과 확인", "종결"), follow),
        ],
    )


async def analysis_export(request: web.Request) -> web.StreamResponse:
    """GET /console/complaints/analysis/{format}?month=YYYY-MM&unit=: the stored analysis of the month of the unit
    (the viewer's own by default; one in their part of the organisation) as PDF or XLSX, the download audited."""
    fmt, viewer, now = request.match_info["format"], request_viewer(request), utcnow()
    month: date = bounded_month_param(request)
    unit_id = int_param(request, "unit")
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        report = await run_async(session, followup.month_report, viewer, unit_id, month)
        if report is None:
            raise NotFound(f"no stored complaint analysis of {month:%Y-%m} for that unit")
        unit = await session.get(OrgUnit, report.org_unit_id)
        actions = [
            a
            for a in await run_async(session, followup.actions_of, viewer, month=month)
            if a.org_unit_id == report.org_unit_id
        ]
        owners = {m.id: m.username for m in [await session.get(Staff, a.owner_id) for a in actions] if m is not None}
        record_change(
            session, viewer, action=ANALYSIS_EXPORTED, target=f"complaint_month_report:{report.id}",
            org_unit_id=report.org_unit_id, detail={"month": f"{month:%Y-%m}", "format": fmt}, now=now,
        )  # fmt: skip
    public = followup.month_report_public(report)
    today = now.date()
    document = analysis_document(
        public.analysis,
        unit.name if unit is not None else "",
        f"{kst(public.generated_at)} ({public.generated_by})",
        [(followup.action_public(a, today), owners.get(a.owner_id, "")) for a in actions],
    )
    build, content_type = EXPORTS[fmt]
    body = await render_off_loop(build, document)
    return attachment(body, content_type, f"complaint-analysis-{month:%Y-%m}-{report.org_unit_id}.{fmt}")


def setup_routes(app: web.Application) -> None:
    """Register on the console sub-application (mounted at /console), before the analysis page's own routes."""
    r = app.router
    r.add_get(r"/complaints/{complaint_id:\d{1,10}}/pdf", dossier_pdf)
    r.add_get("/complaints/analysis/{format:pdf|xlsx}", analysis_export)
