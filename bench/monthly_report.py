"""The monthly customer-center report on a large call table: the scheduled roll-up of the months a report reads (the
workers' daily duty, `crm_store.reports.rollup.roll_up_month`) and its cost per call; then
`crm_store.reports.monthly.monthly_report` for the whole company and for one county, cold and once generated.

Cold: the report of the month is not stored yet (nothing generated), the roll-ups of the months it reads are present
(the workers roll up each month on its first day, before anyone asks): the report reads the roll-up and computes its
other sections (desk, alerts, complaints, hot spots' nouns and examples, potential customers, CRM analytics), each
timed on its own. Once generated: the same report asked again after it was stored (one row read), and a stored
report opened (`get_report`). With --all-units, the month's stored reports of every unit are generated as the
workers do (`generate_reports`; long at 10,000,000 calls).

    flock /tmp/hotline-bench.lock python bench/monthly_report.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/c14_delivery_bench --prepare [--calls 10000000]

--prepare migrates an empty database and loads an organisation (head office, 17 provinces, 5 cities each, 3
counties each), 1,000,000 customers in the counties with their running totals (premium, claims, paid) and `--calls`
classified calls spread evenly over the year from October 2025 (one in ten from an unknown caller): about 5 minutes
at 10,000,000 calls. Run once with --prepare, then without it on the same database as often as wanted (each run
deletes the month's stored reports and rolls the months up again). Writes bench/results/monthly_report.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.loadgen import load_org_tree, write_results  # noqa: E402
from crm_store.db import make_engine  # noqa: E402
from crm_store.migrate import upgrade  # noqa: E402
from crm_store.org.scope import Viewer  # noqa: E402
from crm_store.org.tables import OrgUnit, Role  # noqa: E402
from crm_store.reports import sections  # noqa: E402
from crm_store.reports.analytics import crm_analytics  # noqa: E402
from crm_store.reports.monthly import TRAILING_MONTHS, monthly_report  # noqa: E402
from crm_store.reports.rollup import add_months, roll_up_month  # noqa: E402
from crm_store.reports.stored import generate_reports, get_report, store_report  # noqa: E402

TYPES = "ARRAY['inquiry','report','complaint','notification','dispatch']"
SEGMENTS = "ARRAY['quality','key','ordinary','inferior']"
NOW = datetime(2026, 12, 7, tzinfo=UTC)
MONTH = date(2026, 9, 1)


def prepare(engine: Any, calls: int) -> float:
    """Load the organisation, customers and calls; seconds taken."""
    started = time.perf_counter()
    with engine.begin() as db:
        load_org_tree(db, (17, 5, 3))
        db.execute(
            text(f"""
            INSERT INTO customer (kind, name, org_unit_id, segment, late_payments, created_at, blacklisted,
                                  fraud_marker)
            SELECT 'individual', '고객' || g, c.ids[1 + g % array_length(c.ids, 1)], ({SEGMENTS})[1 + g % 4], 0, now(),
                   false, false
            FROM generate_series(1, 1000000) g,
                 (SELECT array_agg(id ORDER BY id) AS ids FROM org_unit WHERE level = 3) c""")
        )
        db.execute(
            text(f"""
            INSERT INTO call (call_sid, customer_id, created_at, updated_at, type, topic, status_sequence,
                              pipeline_state)
            SELECT 'CA' || lpad(to_hex(g), 32, '0'), CASE WHEN g % 10 = 0 THEN NULL ELSE 1 + g % 1000000 END,
                   timestamptz '2025-10-01 00:00+09' + (g::float / {calls}) * interval '365 days', now(),
                   ({TYPES})[1 + g % 5], ({TYPES})[1 + g % 5] || '.t' || (g % 7), -1, 'classified'
            FROM generate_series(1, {calls}) g""")
        )
        db.execute(
            text("""
            INSERT INTO customer_stats (customer_id, policy_count, premium_total, claim_count, open_claims, paid_total,
                                        updated_at)
            SELECT id, 1 + id % 3, 500000 + (id % 97) * 10000, id % 4, 0, (id % 4) * 150000, now() FROM customer""")
        )
        db.execute(text("ANALYZE"))
    return time.perf_counter() - started


def timed(engine: Any, run: Any) -> tuple[Any, float]:
    with Session(engine) as session:
        started = time.perf_counter()
        result = run(session)
        session.commit()
        return result, time.perf_counter() - started


def section_times(engine: Any, unit_id: int) -> dict[str, float]:
    """Milliseconds of each part of a computed report on the unit (the roll-up's counts read as one)."""
    trailing = [add_months(MONTH, -n) for n in range(TRAILING_MONTHS, 0, -1)]
    with Session(engine) as session:
        unit = session.get(OrgUnit, unit_id)
        assert unit is not None
        parts: dict[str, Any] = {
            "crm_analytics": lambda: crm_analytics(session, unit, MONTH),
            "waiting": lambda: sections.waiting_figures(session, unit, MONTH),
            "alerts": lambda: sections.alert_figures(session, unit, MONTH),
            "changes": lambda: sections.change_figures(session, unit, MONTH),
            "complaints": lambda: sections.complaint_figures(session, unit, MONTH),
            "regional_hot_spots": lambda: sections.regional_hot_spots(session, unit, MONTH, trailing),
            "potential_customers": lambda: sections.potential_customers(session, unit, MONTH),
            "hot_spot_details": lambda: sections.hot_spot_details(session, unit, MONTH, ["inquiry.t1"]),
        }
        spent = {}
        for name, run in parts.items():
            started = time.perf_counter()
            run()
            spent[name] = round((time.perf_counter() - started) * 1000, 1)
        return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--all-units", action="store_true", help="also generate the month's reports of every unit")
    args = parser.parse_args()
    results: dict[str, Any] = {"load_average": os.getloadavg()}
    upgrade(args.database_url)
    engine = make_engine(args.database_url)
    if args.prepare:
        results["load_seconds"] = round(prepare(engine, args.calls), 1)
    with engine.begin() as db:
        db.execute(text("DELETE FROM call_rollup; DELETE FROM call_rollup_month"))
        db.execute(text("DELETE FROM stored_report WHERE month = :m"), {"m": MONTH})
        results["calls"] = db.execute(text("SELECT count(*) FROM call")).scalar()
        county = db.execute(text("SELECT min(id) FROM org_unit WHERE level = 3")).scalar()
    # The workers' daily duty: each month rolled up once it has ended (here the five months the report reads).
    months = sorted({MONTH, add_months(MONTH, -12), *(add_months(MONTH, -n) for n in range(1, TRAILING_MONTHS + 1))})
    rolled = []
    for month in months:
        counted, seconds = timed(engine, lambda s, m=month: roll_up_month(s, m, now=NOW))
        rolled.append({"month": month.strftime("%Y-%m"), "calls": counted, "seconds": round(seconds, 2),
                       "microseconds_per_call": round(seconds / max(counted, 1) * 1e6, 2)})  # fmt: skip
    results["roll_ups"] = rolled
    for name, unit in (("company", 1), ("county", county)):
        viewer = Viewer(staff_id=1, username="bench", role=Role.ADMIN, org_unit_id=unit)
        report, cold = timed(engine, lambda s, v=viewer: monthly_report(s, v, month=MONTH, now=NOW))
        results[name] = {
            "calls": report.calls,
            "cold_seconds": round(cold, 2),
            "sections_ms": section_times(engine, unit),
        }
        with Session(engine) as session:
            unit_row = session.get(OrgUnit, unit)
            assert unit_row is not None
            report_id = store_report(session, unit_row, MONTH, now=NOW, by="bench")
            session.commit()
        warm = min(timed(engine, lambda s, v=viewer: monthly_report(s, v, month=MONTH, now=NOW))[1] for _ in range(5))
        opened = min(timed(engine, lambda s, r=report_id, v=viewer: get_report(s, v, r))[1] for _ in range(5))
        results[name] |= {"generated_ms": round(warm * 1000, 1), "stored_open_ms": round(opened * 1000, 1)}
    if args.all_units:
        stored, seconds = timed(engine, lambda s: generate_reports(s, MONTH, now=NOW, by="bench"))
        results["stored_reports"] = {"units": len(stored), "seconds": round(seconds, 1),
                                     "seconds_per_unit": round(seconds / max(len(stored), 1), 3)}  # fmt: skip
    results["load_average_after"] = os.getloadavg()
    write_results("monthly_report", results)


if __name__ == "__main__":
    main()
