"""The reports' customer lists in the console (embedded defaults, SQLite): a list holds the customers of the viewer's
scope only, masks the registration number below its grade (page, XLSX and CSV alike), exports as a workbook and as
CSV with a byte-order mark, and every view and export is in the audit trail (the export, and a read per customer)."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import openpyxl
import pytest
from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.customers.tables import CustomerEvent, SegmentChange
from crm_store.db import session_scope
from crm_store.org.tables import Staff
from tests.fake_clock import business_day
from tests.report_helpers import kst, make_quality
from tests.review_helpers import INSIDE_NAME, INSIDE_RRN, OUTSIDE_NAME, World, console_login

TODAY = date(2026, 12, 7)
PATH = "/console/reports/customers"


@pytest.fixture
async def scene(world_client: tuple[World, Any], engine: Any) -> tuple[World, Any]:
    """Both customers quality; in November the inside one entered the quality segment and had an alert."""
    world, client = world_client
    make_quality(engine, [world.customers["inside"], world.customers["outside"]])
    with session_scope(engine) as session:
        inside = world.customers["inside"]
        session.add(SegmentChange(customer_id=inside, old_segment="ordinary", new_segment="quality",
                                  reason="우량 기준 충족", changed_at=kst("2026-11-10", "09:00")))  # fmt: skip
        session.add(CustomerEvent(customer_id=inside, kind="frequent_claims", level="warning", reason="1년 3회 청구",
                                  created_at=kst("2026-11-11", "09:00")))  # fmt: skip
    return world, client


def _clearance(engine: Any, username: str, grade: int) -> None:
    with session_scope(engine) as session:
        staff = session.exec(select(Staff).where(Staff.username == username)).one()
        staff.clearance = grade
        session.add(staff)


@business_day(TODAY)
async def test_a_list_holds_the_scope_s_customers_masked_by_clearance(scene: tuple[World, Any], engine: Any) -> None:
    world, client = scene
    _clearance(engine, "center_manager.seocho", 2)
    await console_login(client, "center_manager.seocho")
    page = await (await client.get(PATH, params={"list": "quality"})).text()
    assert INSIDE_NAME in page and OUTSIDE_NAME not in page and "우량 고객" in page
    assert INSIDE_RRN[:6] not in page and "●●●●" in page
    book = openpyxl.load_workbook(
        io.BytesIO(await (await client.get(f"{PATH}/xlsx", params={"list": "quality"})).read())
    )
    sheet = book[book.sheetnames[1]]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[3]) for r in rows] == [(INSIDE_NAME, "●●●●")]
    raw = await (await client.get(f"{PATH}/csv", params={"list": "quality"})).read()
    assert raw.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][:4] == ["고객 번호", "이름", "구분", "주민등록번호"] and table[1][1:4] == [
        INSIDE_NAME,
        "개인",
        "●●●●",
    ]
    outside = await client.get(PATH, params={"list": "quality", "unit": world.units["BUSAN-DONGBU-HAEUNDAE"]})
    assert outside.status == 404
    await console_login(client, "executive.hq")
    book = openpyxl.load_workbook(
        io.BytesIO(await (await client.get(f"{PATH}/xlsx", params={"list": "quality"})).read())
    )
    rows = list(book[book.sheetnames[1]].iter_rows(min_row=2, values_only=True))
    assert {r[1] for r in rows} == {INSIDE_NAME, OUTSIDE_NAME}
    assert any(str(r[3]).startswith(INSIDE_RRN[:6]) for r in rows if r[1] == INSIDE_NAME)


@business_day(TODAY)
async def test_entrants_alerts_and_the_audit_trail(scene: tuple[World, Any], engine: Any) -> None:
    world, client = scene
    await console_login(client, "center_manager.gangnam")
    entered = await (await client.get(PATH, params={"list": "entered", "segment": "quality"})).text()
    assert INSIDE_NAME in entered and "우량 기준 충족" in entered
    left = await (await client.get(PATH, params={"list": "left", "segment": "quality"})).text()
    assert INSIDE_NAME not in left and 'id="no-customers"' in left
    alerts = await client.get(f"{PATH}/csv", params={"list": "alerts", "month": "2026-11"})
    assert "1년 3회 청구" in (await alerts.read()).decode("utf-8-sig")
    assert (await client.get(PATH, params={"list": "nobody"})).status == 400
    with Session(engine) as session:
        exports = session.exec(select(AuditEntry).where(col(AuditEntry.action) == "customer_list.exported")).all()
        reads = session.exec(select(AuditEntry).where(col(AuditEntry.purpose) == "customer_list")).all()
    assert [(e.username, e.detail["list"], e.detail["format"]) for e in exports] == [  # type: ignore[index]
        ("center_manager.gangnam", "entered", "page"),
        ("center_manager.gangnam", "left", "page"),
        ("center_manager.gangnam", "alerts", "csv"),
    ]
    assert sorted(e.customer_id for e in reads) == [world.customers["inside"]] * 2
    await console_login(client, "agent.seocho")
    assert (await client.get(f"{PATH}/xlsx")).status == 403
