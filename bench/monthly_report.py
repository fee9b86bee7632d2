"""The monthly customer-center report on a large call table: the roll-up of one month, and
`crm_store.reports.monthly.monthly_report` for the whole company and for one county, cold (rolling up the five
months it reads) and once generated; then the month's stored reports of every unit generated as the workers do
(`crm_store.reports.stored.generate_reports`) and a stored report opened (`get_report`), company and county.

    flock /tmp/hotline-bench.lock python bench/monthly_report.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/hotline_bench_reports --prepare [--calls 10000000]

--prepare migrates an empty database and loads an organisation (head office, 17 provinces, 5 cities each, 3
counties each), 1,000,000 customers in the counties with their running totals (premium, claims, paid) and `--calls`
classified calls spread evenly over the year
from October 2025 (one in ten from an unknown caller). Writes bench/results/monthly_report.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select as sa_select  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.loadgen import load_org_tree, write_results  # noqa: E402
from crm_store.db import make_engine  # noqa: E402
from crm_store.migrate import upgrade  # noqa: E402
from crm_store.org.scope import Viewer  # noqa: E402
from crm_store.org.tables import Role  # noqa: E402
from crm_store.reports.monthly import monthly_report  # noqa: E402
from crm_store.reports.rollup import roll_up_month  # noqa: E402
from crm_store.reports.stored import generate_reports, get_report  # noqa: E402
from crm_store.reports.tables import StoredReport  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--calls", type=int, default=10_000_000)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    upgrade(args.database_url)
    engine = make_engine(args.database_url)
    if args.prepare:
        results["load_seconds"] = round(prepare(engine, args.calls), 1)
    with engine.begin() as db:
        db.execute(text("DELETE FROM call_rollup; DELETE FROM call_rollup_month"))
        results["calls"] = db.execute(text("SELECT count(*) FROM call")).scalar()
        county = db.execute(text("SELECT min(id) FROM org_unit WHERE level = 3")).scalar()
    counted, seconds = timed(engine, lambda s: roll_up_month(s, date(2026, 8, 1), now=NOW))
    results["roll_up_one_month"] = {"calls": counted, "seconds": round(seconds, 2),
                                    "microseconds_per_call": round(seconds / max(counted, 1) * 1e6, 2)}  # fmt: skip
    for name, unit in (("company", 1), ("county", county)):
        viewer = Viewer(staff_id=1, username="bench", role=Role.ADMIN, org_unit_id=unit)
        report, cold = timed(engine, lambda s, v=viewer: monthly_report(s, v, month=MONTH, now=NOW))
        warm = min(timed(engine, lambda s, v=viewer: monthly_report(s, v, month=MONTH, now=NOW))[1] for _ in range(5))
        results[name] = {"calls": report.calls, "cold_seconds": round(cold, 2), "generated_ms": round(warm * 1000, 1)}
        # The next unit's cold run should roll up again, as if nothing had been generated.
        with engine.begin() as db:
            db.execute(text("DELETE FROM call_rollup; DELETE FROM call_rollup_month"))
    stored, seconds = timed(engine, lambda s: generate_reports(s, MONTH, now=NOW, by="bench"))
    results["stored_reports"] = {"units": len(stored), "seconds": round(seconds, 1),
                                 "seconds_per_unit": round(seconds / max(len(stored), 1), 3)}  # fmt: skip
    for name, unit in (("company", 1), ("county", county)):
        viewer = Viewer(staff_id=1, username="bench", role=Role.ADMIN, org_unit_id=1)
        with Session(engine) as session:
            report_id = session.exec(
                sa_select(StoredReport.id).where(StoredReport.org_unit_id == unit, StoredReport.month == MONTH)
            ).one()[0]
        opened = min(timed(engine, lambda s, r=report_id, v=viewer: get_report(s, v, r))[1] for _ in range(5))
        results[name]["stored_open_ms"] = round(opened * 1000, 1)
    write_results("monthly_report", results)


if __name__ == "__main__":
    main()
