"""Stored monthly reports in the console (embedded defaults, SQLite): generated for every unit, listed and opened
within the viewer's scope with charts and Korean labels, downloaded as PDF and XLSX whose content is the report's
(the workbook opened with openpyxl, the PDF's text read with pypdf), every download audited; the notice of the
month's report (on the landing page and the reports page until read, a message number set); the on-demand button;
other roles refused."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

import openpyxl
import pypdf
import pytest
from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.db import session_scope
from crm_store.reports.notices import announce_reports
from crm_store.reports.tables import StoredReport
from tests.fake_clock import business_day
from tests.report_helpers import HAEUNDAE, SEOCHO, kst, rising_topic
from tests.review_helpers import World, console_login

TODAY = date(2026, 12, 7)
SEPTEMBER = date(2026, 9, 1)


def _report_id(engine: Any, world: World, code: str) -> int:
    with Session(engine) as session:
        row = session.exec(
            select(StoredReport).where(StoredReport.org_unit_id == world.units[code], StoredReport.month == SEPTEMBER)
        ).one()
        return int(row.id)  # type: ignore[arg-type]


@pytest.fixture
async def scene(world_client: tuple[World, Any], engine: Any) -> tuple[World, Any]:
    world, client = world_client
    rising_topic(engine, world.units)
    return world, client


@business_day(TODAY)
async def test_each_level_lists_and_opens_the_reports_of_its_scope_only(scene: tuple[World, Any], engine: Any) -> None:
    world, client = scene
    with Session(engine) as session:
        assert len(session.exec(select(StoredReport)).all()) == 7  # every unit of the two provinces
    await console_login(client, "center_manager.seocho")
    page = await (await client.get("/console/reports")).text()
    assert 'id="report-notice"' in page and "2026-09 월간 고객센터 보고서" in page
    assert set(re.findall(r'data-unit="(\d+)"', page)) == {str(world.units[SEOCHO])}
    outside = await client.get(f"/console/reports/{_report_id(engine, world, HAEUNDAE)}")
    assert outside.status == 404
    above = await client.get(f"/console/reports/{_report_id(engine, world, 'SEOUL')}/pdf")
    assert above.status == 404
    opened = await (await client.get(f"/console/reports/{_report_id(engine, world, SEOCHO)}")).text()
    assert opened.count("<svg") >= 5 and "#0072B2" in opened
    assert "보상 처리 지연" in opened
    assert "complaint.claim_delay" not in opened  # a Korean label, never the code
    assert "지급" in opened and "지연" in opened  # the nouns carrying the hot spot
    await console_login(client, "executive.hq")
    page = await (await client.get("/console/reports")).text()
    assert set(re.findall(r'data-unit="(\d+)"', page)) == {str(unit) for unit in world.units.values()}


@business_day(TODAY)
async def test_downloads_carry_the_report_and_are_audited(scene: tuple[World, Any], engine: Any) -> None:
    world, client = scene
    await console_login(client, "executive.hq")
    report_id = _report_id(engine, world, "HQ")
    pdf = await client.get(f"/console/reports/{report_id}/pdf")
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(await pdf.read())).pages)
    assert "2026-09 월간 고객센터 보고서" in text and "본사" in text and "상담 핫스팟" in text
    xlsx = await client.get(f"/console/reports/{report_id}/xlsx")
    assert xlsx.status == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(await xlsx.read()))
    assert "유형별 통화" in book.sheetnames
    types = {row[0]: row[1] for row in book["유형별 통화"].iter_rows(min_row=2, values_only=True)}
    # Every type has its row, 0 where there was no call.
    assert types == {"불만·민원": 20, "상담·문의": 80, "사고 신고": 1, "변경 통보": 0, "출동 요청": 0, "미분류": 0}
    spot, *_ = book["상담 핫스팟 (유의한 비중 상승)"].iter_rows(min_row=2, values_only=True)
    assert spot[:3] == ("보상 처리 지연", "19.8%", "5.0%") and "지연" in str(spot[4])  # 20 of 101 calls
    with Session(engine) as session:
        entries = session.exec(select(AuditEntry).where(col(AuditEntry.action) == "report.downloaded")).all()
    assert sorted((e.username, e.target, e.detail["format"]) for e in entries) == [  # type: ignore[index]
        ("executive.hq", f"report:{report_id}", "pdf"),
        ("executive.hq", f"report:{report_id}", "xlsx"),
    ]


@business_day(TODAY)
async def test_generating_on_demand_and_who_may(world_client: tuple[World, Any], engine: Any) -> None:
    world, client = world_client
    csrf = await console_login(client, "center_manager.gangnam")
    made = await client.post("/console/reports/generate", data={"month": "2026-11", "csrf_token": csrf})
    assert made.status == 200 and "2026-11" in await made.text()
    with Session(engine) as session:
        units = {row.org_unit_id for row in session.exec(select(StoredReport)).all()}
    assert units == {world.units["SEOUL-GANGNAM"], world.units[SEOCHO]}
    bad = await client.post("/console/reports/generate", data={"month": "2026-13", "csrf_token": csrf})
    assert bad.status == 400
    await console_login(client, "agent.seocho")
    assert (await client.get("/console/reports")).status == 403


@business_day(TODAY)
async def test_the_api_answers_a_stored_report_once_generated(scene: tuple[World, Any], engine: Any) -> None:
    world, client = scene
    with session_scope(engine) as session:
        row = session.get(StoredReport, _report_id(engine, world, SEOCHO))
        assert row is not None
        row.body = {**row.body, "calls": 12345}  # marks the stored answer
        session.add(row)
    await console_login(client, "executive.hq")
    api = "/api/v1/reports/monthly"
    stored = await client.get(
        api, params={"month": "2026-09", "unit": world.units[SEOCHO]}, headers=world.auth("executive.hq")
    )
    assert (await stored.json())["calls"] == 12345
    computed = await client.get(
        api, params={"month": "2026-08", "unit": world.units[SEOCHO]}, headers=world.auth("executive.hq")
    )
    assert (await computed.json())["calls"] == 100


@business_day(TODAY)
async def test_the_month_s_report_is_announced_on_the_landing_page_until_read(
    scene: tuple[World, Any], engine: Any
) -> None:
    world, client = scene
    with session_scope(engine) as session:
        announce_reports(session, SEPTEMBER, now=kst("2026-10-01", "00:05"))
    seocho = _report_id(engine, world, SEOCHO)
    csrf = await console_login(client, "center_manager.seocho")
    landing = await (await client.get("/console/queue")).text()
    assert 'id="landing-report-notices"' in landing and f'href="/console/reports/{seocho}"' in landing
    page = await (await client.get("/console/reports")).text()
    assert "읽지 않음" in page and "콘솔 알림만 받습니다" in page
    saved = await client.post("/console/reports/messages", data={"csrf_token": csrf, "sms_to": "010-2345-6789"},
                              allow_redirects=False)  # fmt: skip
    assert saved.status == 303
    assert "+8210****6789로 알림 문자를 보냅니다" in await (await client.get("/console/reports")).text()
    assert (await client.get(f"/console/reports/{seocho}")).status == 200  # opened: read
    assert 'id="landing-report-notices"' not in await (await client.get("/console/queue")).text()
    assert "읽지 않음" not in await (await client.get("/console/reports")).text()
    csrf = await console_login(client, "executive.hq")
    [hq_notice] = re.findall(r'data-notice="(\d+)"', await (await client.get("/console/reports")).text())
    marked = await client.post(f"/console/reports/notices/{hq_notice}/read", data={"csrf_token": csrf},
                               allow_redirects=False)  # fmt: skip
    assert marked.status == 303
    assert "읽지 않음" not in await (await client.get("/console/reports")).text()
    await console_login(client, "agent.seocho")
    assert 'id="landing-report-notices"' not in await (await client.get("/console/queue")).text()
