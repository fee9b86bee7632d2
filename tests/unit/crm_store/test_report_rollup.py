"""The monthly roll-up of calls (SQLite): counts per unit, type, topic, hour and weekday in Korea and caller segment
for a fixed month, equal to a direct count; re-running replaces the month; a report sums a unit's subtree."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_store.calls.tables import Call
from crm_store.org.scope import Viewer
from crm_store.org.tables import Role
from crm_store.reports.monthly import monthly_report
from crm_store.reports.rollup import REFRESH, ensure_rolled_up, month_bounds, roll_up_month
from crm_store.reports.tables import CallRollup, CallRollupMonth
from tests.customer_helpers import build_org
from tests.report_helpers import AFTER, SEOCHO, SEPTEMBER, SEPTEMBER_ROWS, add_calls, kst, rolled_up, september


def test_a_month_is_counted_per_unit_type_topic_hour_weekday_and_segment(engine: Any) -> None:
    org = build_org(engine)
    september(engine, org.units)
    with Session(engine) as session:
        assert roll_up_month(session, SEPTEMBER, now=AFTER) == 5
        session.commit()
    assert rolled_up(engine, org.units) == SEPTEMBER_ROWS
    with Session(engine) as session:
        start, end = month_bounds(SEPTEMBER)
        direct = session.exec(
            select(func.count()).select_from(Call).where(col(Call.created_at) >= start, col(Call.created_at) < end)
        ).one()
        rolled = session.exec(select(func.sum(col(CallRollup.calls))).where(col(CallRollup.dimension) == "hour")).one()
        marker = session.get(CallRollupMonth, SEPTEMBER)
    assert rolled == direct == 5
    assert marker is not None and marker.complete and marker.calls == 5


def test_rolling_up_again_replaces_the_month(engine: Any) -> None:
    org = build_org(engine)
    customers = september(engine, org.units)
    with Session(engine) as session:
        roll_up_month(session, SEPTEMBER, now=AFTER)
        session.commit()
    first = rolled_up(engine, org.units)
    with Session(engine) as session:
        assert roll_up_month(session, SEPTEMBER, now=AFTER) == 5
        session.commit()
    assert rolled_up(engine, org.units) == first
    add_calls(engine, kst("2026-09-07", "10:50"), customer_id=customers[SEOCHO], topic="inquiry.coverage",
              direction="inbound")  # fmt: skip
    with Session(engine) as session:
        assert roll_up_month(session, SEPTEMBER, now=AFTER) == 6
        session.commit()
    added = {(SEOCHO, "topic", "inquiry.coverage", 3), (SEOCHO, "hour", "10", 3), (SEOCHO, "channel", "inbound", 3)}
    assert added <= rolled_up(engine, org.units)
    assert len(rolled_up(engine, org.units)) == len(first)


def test_a_running_month_is_rolled_up_again_once_its_roll_up_has_aged(engine: Any) -> None:
    org = build_org(engine)
    customers = september(engine, org.units)
    running = kst("2026-09-20", "12:00")
    with Session(engine) as session:
        ensure_rolled_up(session, [SEPTEMBER, date(2026, 10, 1)], now=running)  # October is still to come
        session.commit()
        assert session.exec(select(col(CallRollupMonth.month))).all() == [SEPTEMBER]
    add_calls(engine, kst("2026-09-20", "11:00"), customer_id=customers[SEOCHO], topic="inquiry.coverage")
    with Session(engine) as session:
        ensure_rolled_up(session, [SEPTEMBER], now=running + REFRESH - timedelta(seconds=1))
        assert session.exec(select(col(CallRollupMonth.calls))).one() == 5  # the new call not counted yet
        ensure_rolled_up(session, [SEPTEMBER], now=running + REFRESH)
        assert session.exec(select(col(CallRollupMonth.calls))).one() == 6


def _viewer(org: Any, username: str, role: Role, code: str) -> Viewer:
    return Viewer(staff_id=org.staff[username], username=username, role=role, org_unit_id=org.units[code])


def test_a_report_counts_the_unit_and_its_subtree_from_the_roll_up(engine: Any) -> None:
    org = build_org(engine)
    september(engine, org.units)
    admin = _viewer(org, "admin", Role.ADMIN, "HQ")
    seoul = _viewer(org, "cm.seoul", Role.CENTER_MANAGER, "SEOUL")
    with Session(engine) as session:
        company = monthly_report(session, admin, month=SEPTEMBER, now=AFTER)
        region = monthly_report(session, seoul, month=SEPTEMBER, now=AFTER)
        city = monthly_report(session, admin, month=SEPTEMBER, unit_id=org.units["SEOUL-GANGNAM"], now=AFTER)
    assert company.calls == 5 and company.org_unit_id == org.units["HQ"]
    # Every type and segment is there, 0 when it had no call.
    assert company.by_type == {
        "report": 1, "inquiry": 3, "complaint": 0, "notification": 0, "dispatch": 0, "unclassified": 1
    }  # fmt: skip
    assert company.segments == {"quality": 3, "key": 1, "ordinary": 0, "inferior": 0, "unknown": 1}
    assert company.by_hour[10] == 2 and company.by_hour[0] == 1 and sum(company.by_hour) == 5
    assert company.by_weekday == [2, 2, 0, 0, 0, 0, 1]
    assert region.calls == city.calls == 3 and region.by_topic == {"inquiry.claim_status": 1, "inquiry.coverage": 2}
    assert region.org_unit_id == org.units["SEOUL"] and city.org_unit_name == "서울강남지점"
    assert (region.previous_month, region.same_month_last_year) == (0, 0)
    assert region.trailing_months == ["2026-06", "2026-07", "2026-08"] and region.hot_spots == []
