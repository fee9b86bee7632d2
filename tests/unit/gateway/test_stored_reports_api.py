"""Stored reports, customer lists and report notices through /api/v1/reports (embedded defaults, SQLite): a supervisor
lists and opens the stored reports of their part only (404 outside, 403 for other roles), downloads one as PDF and
XLSX (audited), reads a customer list masked by clearance and exports it as CSV (audited, a read per customer),
and sees their notice of the month's report turn read once they open it; the OpenAPI document describes the
downloads' media types."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.db import session_scope
from crm_store.org.tables import Staff
from crm_store.reports.notices import announce_reports
from crm_store.reports.stored import generate_reports
from crm_store.reports.tables import StoredReport
from tests.fake_clock import business_day
from tests.report_helpers import AFTER, SEPTEMBER, make_quality
from tests.review_helpers import INSIDE_NAME, INSIDE_RRN, OUTSIDE_NAME, World

TODAY = date(2026, 12, 7)
API = "/api/v1/reports"


@pytest.fixture
async def scene(world_client: tuple[World, Any], engine: Any) -> tuple[World, Any, dict[int, int]]:
    """Both customers quality; September's reports of every unit stored and announced, as the workers do; the
    stored reports' ids by unit."""
    world, client = world_client
    make_quality(engine, [world.customers["inside"], world.customers["outside"]])
    with session_scope(engine) as session:
        generate_reports(session, SEPTEMBER, now=AFTER, by="workers")
        announce_reports(session, SEPTEMBER, now=AFTER)
    with Session(engine) as session:
        reports = {row.org_unit_id: int(row.id or 0) for row in session.exec(select(StoredReport)).all()}
    return world, client, reports


def _audit(engine: Any, username: str, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        query = select(AuditEntry).where(col(AuditEntry.username) == username, col(AuditEntry.action) == action)
        return list(session.exec(query).all())


@business_day(TODAY)
async def test_stored_reports_are_listed_opened_and_downloaded_within_scope(
    scene: tuple[World, Any, dict[int, int]], engine: Any
) -> None:
    world, client, reports = scene
    user = "center_manager.gangnam"
    headers = world.auth(user)
    listed = await client.get(f"{API}/stored", params={"month": "2026-09"}, headers=headers)
    assert listed.status == 200, await listed.text()
    units = {r["org_unit_id"] for r in (await listed.json())["reports"]}
    assert units == {world.units["SEOUL-GANGNAM"], world.units["SEOUL-GANGNAM-SEOCHO"]}
    own = reports[world.units["SEOUL-GANGNAM"]]
    notices = (await (await client.get(f"{API}/notices", params={"unread": "true"}, headers=headers)).json())["notices"]
    assert [(n["report_id"], n["read_at"]) for n in notices] == [(own, None)]
    opened = await client.get(f"{API}/stored/{own}", headers=headers)
    assert opened.status == 200 and (await opened.json())["report"]["month"] == "2026-09"
    assert (await (await client.get(f"{API}/notices", params={"unread": "true"}, headers=headers)).json()) == {
        "notices": []
    }
    elsewhere = reports[world.units["BUSAN-DONGBU-HAEUNDAE"]]
    for path in (f"{API}/stored/{elsewhere}", f"{API}/stored/{elsewhere}/pdf"):
        assert (await client.get(path, headers=headers)).status == 404
    pdf = await client.get(f"{API}/stored/{own}/pdf", headers=headers)
    assert pdf.status == 200 and pdf.content_type == "application/pdf" and (await pdf.read()).startswith(b"%PDF")
    xlsx = await client.get(f"{API}/stored/{own}/xlsx", headers=headers)
    assert xlsx.status == 200 and (await xlsx.read()).startswith(b"PK")
    downloads = _audit(engine, user, "report.downloaded")
    assert sorted(entry.detail["format"] for entry in downloads) == ["pdf", "xlsx"]  # type: ignore[index]
    for role_user in ("agent.seocho", "account_manager.seocho"):
        assert (await client.get(f"{API}/stored", headers=world.auth(role_user))).status == 403
        assert (await client.get(f"{API}/stored/{own}/xlsx", headers=world.auth(role_user))).status == 403


@business_day(TODAY)
async def test_a_customer_list_is_masked_by_clearance_and_its_export_audited(
    scene: tuple[World, Any, dict[int, int]], engine: Any
) -> None:
    world, client, _reports = scene
    user = "center_manager.seocho"
    with session_scope(engine) as session:
        staff = session.exec(select(Staff).where(Staff.username == user)).one()
        staff.clearance = 2
        session.add(staff)
    headers = world.auth(user)
    listed = await client.get(f"{API}/customers", params={"list": "quality"}, headers=headers)
    assert listed.status == 200, await listed.text()
    body = await listed.json()
    assert [row["name"] for row in body["rows"]] == [INSIDE_NAME]
    [row] = body["rows"]
    assert INSIDE_RRN[:6] not in str(row["registration_number"]) and "registration_number" in row["masked_fields"]
    raw = await (await client.get(f"{API}/customers/csv", params={"list": "quality"}, headers=headers)).read()
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r[1] for r in table[1:]] == [INSIDE_NAME] and OUTSIDE_NAME not in raw.decode("utf-8-sig")
    assert INSIDE_RRN[:6] not in raw.decode("utf-8-sig")
    exports = _audit(engine, user, "customer_list.exported")
    assert sorted(entry.detail["format"] for entry in exports) == ["api", "csv"]  # type: ignore[index]
    with Session(engine) as session:
        reads = session.exec(
            select(AuditEntry).where(col(AuditEntry.username) == user, col(AuditEntry.purpose) == "customer_list")
        ).all()
    assert {entry.customer_id for entry in reads} == {world.customers["inside"]}
    outside = await client.get(
        f"{API}/customers", params={"list": "quality", "unit": world.units["BUSAN-DONGBU-HAEUNDAE"]}, headers=headers
    )
    assert outside.status == 404
    bad = await client.get(f"{API}/customers", params={"list": "everyone"}, headers=headers)
    assert bad.status == 400 and "list" in (await bad.json())["fields"]
    assert (await client.get(f"{API}/customers", headers=world.auth("agent.seocho"))).status == 403


async def test_the_openapi_document_describes_the_downloads(client: Any) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    download = document["paths"]["/reports/stored/{report_id}/{format}"]["get"]
    assert set(download["responses"]["200"]["content"]) == {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    assert {"name": "format", "in": "path"}.items() <= download["parameters"][1].items()
    assert download["parameters"][1]["schema"]["enum"] == ["pdf", "xlsx"]
    export = document["paths"]["/reports/customers/{format}"]["get"]
    assert set(export["responses"]["200"]["content"]) >= {"text/csv; charset=utf-8"}
