"""The complaint downloads of the console: a complaint's dossier as a PDF (the record, the customer's name as the
viewer sees it, the timeline and each step's form) and the month's stored analysis as PDF and XLSX (the PDF's text
read with pypdf, the workbook opened with openpyxl); nothing outside the viewer's scope; every download audited."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import openpyxl
import pypdf
from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.calendar import KST
from crm_store.complaints.followup import generate_month_reports
from crm_store.db import session_scope
from crm_store.org.scope import CommandLine
from gateway.console.complaint_exports import ANALYSIS_EXPORTED, DOSSIER_EXPORTED
from tests.complaint_helpers import open_for
from tests.review_helpers import INSIDE_NAME, INSIDE_RRN, OUTSIDE_NAME, World, console_login


def _pdf_text(body: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages)


def _audited(engine: Any, action: str) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(AuditEntry).where(col(AuditEntry.action) == action)).all()
    return sorted((e.username, e.target, e.detail["format"]) for e in rows)  # type: ignore[index]


async def test_the_dossier_pdf_carries_the_record_timeline_and_forms(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    inside, number = open_for(engine, world, "inside", call_sid=world.calls["inside"])
    outside, _foreign = open_for(engine, world, "outside")
    csrf = await console_login(client, "operator.seocho")
    moved = await client.post(
        f"/console/complaints/{inside}/steps", allow_redirects=False,
        data={"csrf_token": csrf, "action": "verification", "facts": "지급 지연 확인", "policy_number": "P-77"},
    )  # fmt: skip
    assert moved.status == 303
    page = await (await client.get(f"/console/complaints/{inside}")).text()
    assert f'href="/console/complaints/{inside}/pdf"' in page

    answer = await client.get(f"/console/complaints/{inside}/pdf")
    assert answer.status == 200 and answer.content_type == "application/pdf"
    assert number in answer.headers["Content-Disposition"]
    text = _pdf_text(await answer.read())
    assert f"민원 {number} 처리 기록" in text and INSIDE_NAME in text and INSIDE_RRN[:6] not in text
    assert "보험금 지급" in text and "보상 처리 지연" in text  # category and topic by their Korean names
    assert "처리 경과" in text and "operator.seocho" in text and "root" in text  # the timeline: receipt, verification
    assert "단계별 서식" in text and "지급 지연 확인" in text and "P-77" in text  # the verification's form
    assert "claims_payment" not in text and "verification" not in text  # no internal codes

    assert (await client.get(f"/console/complaints/{outside}/pdf")).status == 404
    assert _audited(engine, DOSSIER_EXPORTED) == [("operator.seocho", f"complaint:{inside}", "pdf")]


async def test_the_month_s_analysis_downloads_as_pdf_and_xlsx_in_scope(
    world_client: tuple[World, Any], engine: Any
) -> None:
    world, client = world_client
    open_for(engine, world, "inside")
    open_for(engine, world, "outside")
    with session_scope(engine) as session:
        generate_month_reports(
            session, date(2026, 9, 1), now=datetime(2026, 10, 1, 1, tzinfo=KST), actor=CommandLine(username="root")
        )
    await console_login(client, "center_manager.gangnam")
    page = await (await client.get("/console/complaints/analysis", params={"month": "2026-09"})).text()
    assert 'href="/console/complaints/analysis/pdf?month=2026-09"' in page
    # The page charts what the files chart: by category (the one 보험금 지급 complaint), by topic, the trend.
    for chart in ("chart-category", "chart-topic", "chart-trend"):
        assert f'<figure class="chart" id="{chart}"><svg' in page, chart
    category_chart = page.split('id="chart-category"')[1].split("</figure>")[0]
    assert "보험금 지급" in category_chart and "<script" not in category_chart

    xlsx = await client.get("/console/complaints/analysis/xlsx", params={"month": "2026-09"})
    assert xlsx.status == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(await xlsx.read()))
    assert {"요약", "공시 유형별 접수", "주제별 접수", "추이", "시정 조치"} <= set(book.sheetnames)
    figures = {row[0]: row[1] for row in book["요약"].iter_rows(min_row=2, values_only=True)}
    assert figures["접수"] == 1 and figures["유지 계약"] >= 0  # the 서초 customer's complaint only
    categories = {row[0]: row[1] for row in book["공시 유형별 접수"].iter_rows(min_row=2, values_only=True)}
    assert categories == {"판매": 0, "보유계약 관리": 0, "보험금 지급": 1, "기타": 0}
    assert book["공시 유형별 접수"]._charts  # the bars beside the table

    pdf = await client.get("/console/complaints/analysis/pdf", params={"month": "2026-09"})
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    text = _pdf_text(await pdf.read())
    assert "월간 민원 분석 2026-09" in text and "보험금 지급" in text and "시정 조치" in text
    assert OUTSIDE_NAME not in text

    busan = world.units["BUSAN-DONGBU-HAEUNDAE"]
    assert (
        await client.get("/console/complaints/analysis/pdf", params={"month": "2026-09", "unit": busan})
    ).status == 404
    assert (await client.get("/console/complaints/analysis/xlsx", params={"month": "2026-08"})).status == 404
    assert (await client.get("/console/complaints/analysis/xlsx", params={"month": "2026-13"})).status == 400
    audited = _audited(engine, ANALYSIS_EXPORTED)
    assert [(u, f) for u, _t, f in audited] == [("center_manager.gangnam", "pdf"), ("center_manager.gangnam", "xlsx")]
    assert all(t.startswith("complaint_month_report:") for _u, t, _f in audited)
