"""The daily roll-up duty: on the first day of a month the month before is rolled up, on the days after nothing is
left to do, and a month rolled up while it still ran is rolled up again once it has ended."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, select

from crm_store.reports.rollup import roll_up_month
from crm_store.reports.tables import CallRollupMonth, StoredReport
from tests.customer_helpers import build_org
from tests.report_helpers import AFTER, kst, september
from workers.report_jobs import roll_up_last_month


def test_the_month_before_is_rolled_up_once_it_has_ended(context: Any, engine: Any) -> None:
    september(engine, build_org(engine).units)
    with Session(engine) as session:
        roll_up_month(session, date(2026, 9, 1), now=kst("2026-09-30", "20:00"))  # while September ran
        session.commit()
    assert roll_up_last_month("2026-10-01", now=kst("2026-10-01", "00:05")) == 5
    assert roll_up_last_month("2026-10-02", now=kst("2026-10-02", "00:05")) is None
    with Session(engine) as session:
        done = session.get(CallRollupMonth, date(2026, 9, 1))
    assert done is not None and done.complete and done.calls == 5
    assert roll_up_last_month("2026-12-01", now=AFTER) == 0  # November: no calls, counted all the same


def test_every_unit_s_report_is_stored_once_the_month_is_rolled_up(context: Any, engine: Any) -> None:
    org = build_org(engine)
    september(engine, org.units)
    assert roll_up_last_month("2026-10-01", now=kst("2026-10-01", "00:05")) == 5
    with Session(engine) as session:
        stored = session.exec(select(StoredReport)).all()
        first = {row.org_unit_id: row.id for row in stored}
    assert {(row.month, row.generated_by) for row in stored} == {(date(2026, 9, 1), "workers")}
    assert set(first) == set(org.units.values())
    assert {r.body["calls"] for r in stored if r.org_unit_id == org.units["HQ"]} == {5}
    assert roll_up_last_month("2026-10-02", now=kst("2026-10-02", "00:05")) is None
    with Session(engine) as session:
        assert {row.org_unit_id: row.id for row in session.exec(select(StoredReport)).all()} == first  # not again
