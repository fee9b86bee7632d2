"""Complaints at scale: a unit's queue page (the console's and the API's `queue_page`) and the monthly analysis on
1,000,000 complaints and 3,000,000 policies in PostgreSQL.

    flock /tmp/hotline-bench.lock python bench/complaints.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/hotline_bench_complaints --prepare

--prepare migrates an empty database and loads an organisation (head office, 17 provinces, 5 cities each, 3
counties each), 1,000,000 customers in the counties (generated in the database), then 3,000,000 policies and
1,000,000 complaints over the year from October 2025 with COPY (one in twenty FSS referrals, four in five closed,
resolve limits 20 days after receipt). Measures the first queue page (50, soonest resolve limit first) of a county,
a city and the head office, many times each (p50 and p99), and the monthly analysis of September 2026 for the
company, a province and a county. Writes bench/results/complaints.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.loadgen import write_results  # noqa: E402
from crm_store.complaints.analysis import monthly_analysis  # noqa: E402
from crm_store.complaints.reading import queue_page  # noqa: E402
from crm_store.db import make_engine  # noqa: E402
from crm_store.migrate import upgrade  # noqa: E402
from crm_store.org.scope import Viewer  # noqa: E402
from crm_store.org.tables import Role  # noqa: E402

CUSTOMERS, POLICIES, COMPLAINTS = 1_000_000, 3_000_000, 1_000_000
START = datetime(2025, 10, 1, tzinfo=UTC)
NOW = datetime(2026, 10, 1, 3, tzinfo=UTC)
MONTH = date(2026, 9, 1)
CATEGORIES = ("sales", "maintenance", "claims_payment", "other")
TOPICS = ("complaint.claim_delay", "complaint.billing", "complaint.staff_attitude", None)
STATES = ("receipt", "verification", "transfer", "coordination", "handling")


def _organisation_and_customers(engine: Any, customers: int) -> None:
    with engine.begin() as db:
        db.execute(text("INSERT INTO org_unit (id, code, name, level, parent_id, path, active) "
                        "VALUES (1, 'HQ', '본사', 0, NULL, '/1/', true)"))  # fmt: skip
        db.execute(text("SELECT setval(pg_get_serial_sequence('org_unit', 'id'), 1)"))
        for level, (count, parent_level) in enumerate(((17, 0), (5, 1), (3, 2)), start=1):
            db.execute(text(f"""
                INSERT INTO org_unit (code, name, level, parent_id, path, active)
                SELECT 'U' || p.id || '-' || g, '지점' || p.id || '-' || g, {level}, p.id, p.path, true
                FROM org_unit p, generate_series(1, {count}) g WHERE p.level = {parent_level}"""))  # fmt: skip
            db.execute(text(f"UPDATE org_unit SET path = path || id || '/' WHERE level = {level}"))
        db.execute(text(f"""
            INSERT INTO customer (kind, name, org_unit_id, segment, late_payments, created_at, blacklisted,
                                  fraud_marker)
            SELECT 'individual', '고객' || g, c.ids[1 + g % array_length(c.ids, 1)], 'ordinary', 0, now(), false,
                   false
            FROM generate_series(1, {customers}) g,
                 (SELECT array_agg(id ORDER BY id) AS ids FROM org_unit WHERE level = 3) c"""))  # fmt: skip


def _copy_rows(url: str, customers: int, policies: int, complaints: int) -> None:
    """Policies and complaints through COPY (the customers' units read back for the complaints' owners)."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as db:
        unit_of = dict(db.execute("SELECT id, org_unit_id FROM customer").fetchall())
        with db.cursor().copy(
            "COPY policy (customer_id, policy_number, line, premium, start_date, end_date) FROM STDIN"
        ) as copy:
            for n in range(policies):
                start = date(2025, 1, 1) + timedelta(days=n % 700)
                copy.write_row((1 + n % customers, f"P-{n:09d}", "auto", 500_000, start, start + timedelta(days=365)))
        columns = (
            "number, year, sequence, customer_id, channel, category, topic, severity, summary, state, org_unit_id, "
            "department, received_at, acknowledge_by, acknowledged_at, resolve_by, step_due_at, extensions, "
            "escalations, repeats, reopened, closed_at, created_at, updated_at"
        )
        span = (NOW - START).total_seconds()
        with db.cursor().copy(f"COPY complaint ({columns}) FROM STDIN") as copy:
            for n in range(complaints):
                customer = 1 + (n * 7919) % customers
                received = START + timedelta(seconds=span * n / complaints)
                closed = n % 5 != 0
                resolve_by = received + timedelta(days=20)
                done = received + timedelta(days=3 + n % 25) if closed else None
                copy.write_row((
                    f"C-B-{n:09d}", 2000 + n // 100_000_000, n, customer, "fss" if n % 20 == 0 else "call",
                    CATEGORIES[n % 4], TOPICS[n % 4] if closed else None, "normal", "불만 내용",
                    "closed" if closed else STATES[n % 5], unit_of[customer], "customer_management", received,
                    received + timedelta(hours=8), received, resolve_by, resolve_by, 0, 0, int(n % 3 == 0), 0, done,
                    received, received,
                ))  # fmt: skip
        db.commit()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as db:
        db.execute("ANALYZE")


def _viewer(unit: int) -> Viewer:
    return Viewer(staff_id=1, username="bench", role=Role.CENTER_MANAGER, org_unit_id=unit)


def _queue(engine: Any, unit: int, runs: int) -> dict[str, Any]:
    times = []
    with Session(engine) as session:
        for _ in range(runs):
            started = time.perf_counter()
            page = queue_page(session, _viewer(unit), now=NOW, limit=50)
            times.append((time.perf_counter() - started) * 1000)
            session.rollback()
    times.sort()
    return {"shown": len(page.complaints), "p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[int(len(times) * 0.99) - 1], 2)}  # fmt: skip


def _analysis(engine: Any, unit: int) -> dict[str, Any]:
    with Session(engine) as session:
        started = time.perf_counter()
        result = monthly_analysis(session, unit, month=MONTH, now=NOW)
        seconds = time.perf_counter() - started
    return {"received": result.received, "contracts": result.contracts, "seconds": round(seconds, 2),
            "p90_business_days": result.p90_business_days}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--customers", type=int, default=CUSTOMERS)
    parser.add_argument("--policies", type=int, default=POLICIES)
    parser.add_argument("--complaints", type=int, default=COMPLAINTS)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    engine = make_engine(args.database_url)
    if args.prepare:
        upgrade(args.database_url)
        started = time.perf_counter()
        _organisation_and_customers(engine, args.customers)
        _copy_rows(args.database_url, args.customers, args.policies, args.complaints)
        results["load_seconds"] = round(time.perf_counter() - started, 1)
    with engine.begin() as db:
        results["complaints"] = db.execute(text("SELECT count(*) FROM complaint")).scalar()
        results["policies"] = db.execute(text("SELECT count(*) FROM policy")).scalar()
        county, city, province = (
            int(db.execute(text(f"SELECT min(id) FROM org_unit WHERE level = {level}")).scalar_one())
            for level in (3, 2, 1)
        )
    results["queue"] = {name: _queue(engine, unit, args.runs) for name, unit in
                        (("county", county), ("city", city), ("head_office", 1))}  # fmt: skip
    results["analysis"] = {name: _analysis(engine, unit) for name, unit in
                           (("company", 1), ("province", province), ("county", county))}  # fmt: skip
    write_results("complaints", results)
    print(results)


if __name__ == "__main__":
    main()
