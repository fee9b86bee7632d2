"""The monthly report API on embedded defaults (SQLite): a supervisor's report of their unit and its subtree rolled
up on demand, the change against the month before and a year before, a constructed hot spot found, scope as 404,
other roles 403, bad parameters 400."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, select

from crm_store.reports.tables import CallRollupMonth
from tests.customer_helpers import Org
from tests.fake_clock import business_day
from tests.report_helpers import HAEUNDAE, SEOCHO, add_calls, add_customer, kst, september

PATH = "/api/v1/reports/monthly"
TODAY = date(2026, 12, 7)


@business_day(TODAY)
async def test_a_center_manager_gets_their_part_rolled_up_on_demand(client: Any, org: Org, engine: Any) -> None:
    customers = september(engine, org.units)
    add_calls(engine, kst("2026-08-10", "09:00"), 4, customer_id=customers[SEOCHO], topic="inquiry.coverage")
    add_calls(engine, kst("2025-09-10", "09:00"), 2, customer_id=customers[SEOCHO], topic="inquiry.premium")
    answer = await client.get(PATH, params={"month": "2026-09"}, headers=org.auth("cm.gangnam"))
    assert answer.status == 200, await answer.text()
    report = await answer.json()
    assert (report["month"], report["org_unit_id"], report["calls"]) == ("2026-09", org.units["SEOUL-GANGNAM"], 3)
    assert report["by_type"] == {
        "report": 0, "inquiry": 3, "complaint": 0, "notification": 0, "dispatch": 0, "unclassified": 0
    }  # fmt: skip
    assert report["by_topic"] == {"inquiry.claim_status": 1, "inquiry.coverage": 2}
    assert {segment: n for segment, n in report["segments"].items() if n} == {"quality": 3}
    assert report["by_weekday"] == [2, 1, 0, 0, 0, 0, 0]
    assert report["by_channel"] == {"callback": 1, "phone": 2}  # two calls to the hotline, one call back
    assert (report["previous_month"], report["same_month_last_year"]) == (4, 2)
    assert report["hot_spots"] == [] and report["rolled_up_at"] is not None
    with Session(engine) as session:
        rolled = {row.month for row in session.exec(select(CallRollupMonth)).all()}
    assert rolled == {date(2025, 9, 1), date(2026, 6, 1), date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)}
    company = await (await client.get(PATH, params={"month": "2026-09"}, headers=org.auth("admin"))).json()
    assert company["calls"] == 5 and company["by_type"]["unclassified"] == 1
    busan = await client.get(PATH, params={"month": "2026-09", "unit": org.units[HAEUNDAE]}, headers=org.auth("admin"))
    assert (await busan.json())["by_topic"] == {"report.auto_accident": 1}


@business_day(TODAY)
async def test_a_topic_whose_share_rose_is_a_hot_spot(client: Any, org: Org, engine: Any) -> None:
    seocho = add_customer(engine, org.units[SEOCHO], "ordinary")
    for month in ("2026-06", "2026-07", "2026-08"):
        add_calls(engine, kst(f"{month}-15", "11:00"), 5, customer_id=seocho, topic="complaint.claim_delay")
        add_calls(engine, kst(f"{month}-15", "11:00"), 95, customer_id=seocho, topic="inquiry.coverage")
    add_calls(engine, kst("2026-09-15", "11:00"), 20, customer_id=seocho, topic="complaint.claim_delay")
    add_calls(engine, kst("2026-09-15", "11:00"), 80, customer_id=seocho, topic="inquiry.coverage")
    answer = await client.get(PATH, params={"month": "2026-09", "unit": org.units[SEOCHO]}, headers=org.auth("admin"))
    [spot] = (await answer.json())["hot_spots"]
    assert (spot["topic"], spot["share"], spot["previous_share"]) == ("complaint.claim_delay", 0.2, 0.05)
    assert spot["score"] > 4 and spot["p_value"] < 1e-4


@business_day(TODAY)
async def test_scope_roles_and_parameters(client: Any, org: Org) -> None:
    outside = await client.get(PATH, params={"unit": org.units[HAEUNDAE]}, headers=org.auth("cm.gangnam"))
    assert outside.status == 404
    unknown = await client.get(PATH, params={"unit": 999999}, headers=org.auth("admin"))
    assert unknown.status == 404 and (await unknown.json())["error"] == "org unit 999999 not found"
    for username in ("agent.seocho", "am.seocho"):
        assert (await client.get(PATH, headers=org.auth(username))).status == 403
        # Refused whatever it asks for: no parameter is checked for a role that reads no report.
        assert (await client.get(PATH, params={"month": "abc"}, headers=org.auth(username))).status == 403
    bad_ones = (("month", "2026-13"), ("month", "26-09"), ("month", "0001-01"), ("unit", "abc"), ("unit", "0"))
    # Arabic-Indic digits are digits to Python's `\d`, not to the OpenAPI document's pattern: refused.
    for name, bad in (*bad_ones, ("month", "\u0662\u0660\u0662\u0666-09")):
        answer = await client.get(PATH, params={name: bad}, headers=org.auth("cm.seoul"))
        assert answer.status == 400 and name in (await answer.json())["fields"]
    running = await (await client.get(PATH, headers=org.auth("cm.seoul"))).json()
    assert running["month"] == "2026-12" and running["calls"] == 0
    to_come = await (await client.get(PATH, params={"month": "2027-03"}, headers=org.auth("cm.seoul"))).json()
    assert to_come["calls"] == 0 and to_come["rolled_up_at"] is None
