"""The monthly roll-up on PostgreSQL: Korea's hour and weekday as on SQLite, an unknown caller counted at the unit
of their review item, concurrent roll-ups of one month leave one set of counts, and a report reads the roll-up by
its (month, unit) index."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, col, select

from crm_store.calls.tables import Call
from crm_store.db import make_engine, session_scope
from crm_store.org.scope import Viewer
from crm_store.org.tables import Role
from crm_store.reports.monthly import monthly_report
from crm_store.reports.rollup import roll_up_month
from crm_store.reports.tables import CallRollupMonth
from crm_store.review.tables import ReviewItem
from tests.customer_helpers import build_org
from tests.pg_helpers import plan_without_seqscan
from tests.report_helpers import AFTER, SEPTEMBER, SEPTEMBER_ROWS, add_calls, kst, rolled_up, september

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Any]:
    engine = make_engine(postgres_url, pool_size=10)
    yield engine
    engine.dispose()


def test_the_roll_up_counts_in_korea_time_and_a_reviewed_unknown_caller_at_the_review_unit(engine: Any) -> None:
    org = build_org(engine)
    september(engine, org.units)
    add_calls(engine, kst("2026-09-30", "23:59"), topic="inquiry.premium")
    with session_scope(engine) as session:
        reviewed = session.exec(select(Call).where(col(Call.topic) == "inquiry.premium")).one()
        session.add(ReviewItem(call_sid=reviewed.call_sid, org_unit_id=org.units["SEOUL-GANGNAM"], due_at=AFTER))
    with session_scope(engine) as session:
        assert roll_up_month(session, SEPTEMBER, now=AFTER) == 6
    assert rolled_up(engine, org.units) == {
        *SEPTEMBER_ROWS,
        *(("SEOUL-GANGNAM", dimension, value, 1) for dimension, value in (
            ("type", "inquiry"), ("topic", "inquiry.premium"), ("hour", "23"), ("weekday", "3"),
            ("segment", "unknown"), ("hotline", "unknown"), ("channel", "unknown"))),
    }  # fmt: skip


def test_concurrent_roll_ups_of_a_month_leave_one_set_of_counts(engine: Any) -> None:
    org = build_org(engine)
    september(engine, org.units)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def roll_up() -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                roll_up_month(session, SEPTEMBER, now=AFTER)
        except BaseException as err:  # reported below, in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=roll_up) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert rolled_up(engine, org.units) == SEPTEMBER_ROWS
    with Session(engine) as session:
        assert session.get(CallRollupMonth, SEPTEMBER).calls == 5  # type: ignore[union-attr]


def test_a_report_reads_the_roll_up_by_month_and_unit(engine: Any) -> None:
    org = build_org(engine)
    september(engine, org.units)
    admin = Viewer(staff_id=org.staff["admin"], username="admin", role=Role.ADMIN, org_unit_id=org.units["HQ"])
    with Session(engine) as session:
        report = monthly_report(session, admin, month=SEPTEMBER, now=AFTER)
        session.commit()
        assert report.calls == 5 and report.by_weekday == [2, 2, 0, 0, 0, 0, 1]
        plan = plan_without_seqscan(
            session, "SELECT value, sum(calls) FROM call_rollup WHERE month = '2026-09-01' AND dimension = 'topic' "
            "AND org_unit_id IN (SELECT id FROM org_unit WHERE path LIKE '/1/2/%') GROUP BY value",
        )  # fmt: skip
    assert "ix_call_rollup_month_unit" in plan
