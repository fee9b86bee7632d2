"""The wallboard's read on a busy desk: `crm_store.desk.wallboard.take_snapshot` (what each gateway process does once
a tick while boards are open; today's counts every 2 s), and cutting and encoding one part's board from it.

    flock /tmp/hotline-bench.lock python bench/wallboard.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/hotline_bench_wallboard --prepare [--calls-per-day 20000]

--prepare migrates an empty database and loads a head office with 17 provinces and 3 branches each, the 5 default
desk queues, 1,000 agents spread over the branches (skills of one or two queues, states mixed), and 30 days of
calls through the queues (`--calls-per-day`, today's up to 10:00 in Korea; 40 waiting now). Writes
bench/results/wallboard.json.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.loadgen import load_org_tree, write_results  # noqa: E402
from crm_store.db import async_session_factory, async_session_scope, make_async_engine, make_engine  # noqa: E402
from crm_store.desk import wallboard  # noqa: E402
from crm_store.desk.seed import default_desk, install_menu  # noqa: E402
from crm_store.migrate import upgrade  # noqa: E402
from gateway.wallboard import frame  # noqa: E402

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 10:00 in Korea
STATES = "ARRAY['available','offered','on_call','wrap_up','break','offline']"
SKILLS = 'ARRAY[\'["accident"]\',\'["consult"]\',\'["complaint","change"]\',\'["accident","consult"]\']'
ENDED = "ARRAY['connected','connected','connected','connected','abandoned','left']"


def prepare(engine: Any, per_day: int) -> float:
    """Load the organisation, queues, agents and calls; seconds taken."""
    started = time.perf_counter()
    with Session(engine) as session:
        desk = default_desk()
        install_menu(session, "+8215881234", desk["menu"], desk["queues"])
        session.commit()
    with engine.begin() as db:
        load_org_tree(db, (17, 3))
        db.execute(
            text("""
            INSERT INTO staff (username, full_name, role, org_unit_id, clearance, active, created_at)
            SELECT 'agent.' || g, '상담원' || g, 'agent', u.ids[1 + g % array_length(u.ids, 1)], 1, true, now()
            FROM generate_series(1, 1000) g,
                 (SELECT array_agg(id ORDER BY id) AS ids FROM org_unit WHERE level = 2) u""")
        )
        db.execute(
            text(f"""
            INSERT INTO desk_agent (staff_id, skills, endpoint, state, state_since, last_call_ended_at)
            SELECT id, (({SKILLS})[1 + id % 4])::json, 'client:agent' || id, ({STATES})[1 + id % 6], now(), now()
            FROM staff WHERE role = 'agent'""")
        )
        total = per_day * 30
        # Call n of the 30 days up to today 10:00 KST; the last 40 still waiting.
        db.execute(
            text(f"""
            WITH c AS (
                SELECT g, timestamptz '2026-11-07 10:00+09' + (g::float / {total}) * interval '30 days' AS at
                FROM generate_series(1, {total}) g)
            INSERT INTO call (call_sid, created_at, updated_at, ended_at, status_sequence, pipeline_state)
            SELECT 'CA' || lpad(to_hex(g), 32, '0'), at - interval '10 seconds', at,
                   at + ((g % 60) + 60 + (g % 400)) * interval '1 second', -1, 'received' FROM c""")
        )
        db.execute(
            text(f"""
            INSERT INTO desk_waiting_call (call_sid, queue_id, priority, blacklisted, state, enqueued_at, left_at,
                                           wait_seconds)
            SELECT c.call_sid, q.ids[1 + g % 5], 0, false,
                   CASE WHEN g > {total} - 40 THEN 'waiting' ELSE ({ENDED})[1 + g % 6] END,
                   c.created_at + interval '10 seconds',
                   CASE WHEN g > {total} - 40 THEN NULL
                        ELSE c.created_at + interval '10 seconds' + (g % 60) * interval '1 second' END,
                   CASE WHEN g > {total} - 40 THEN NULL ELSE g % 60 END
            FROM generate_series(1, {total}) g
            JOIN call c ON c.call_sid = 'CA' || lpad(to_hex(g), 32, '0'),
                 (SELECT array_agg(id ORDER BY id) AS ids FROM desk_queue) q""")
        )
        db.execute(text("ANALYZE"))
    return time.perf_counter() - started


async def measure(url: str, runs: int) -> dict[str, Any]:
    engine = make_async_engine(url)
    sessions = async_session_factory(engine)
    try:
        took, live = [], []
        for _ in range(runs):
            started = time.perf_counter()
            async with async_session_scope(sessions) as session:
                snapshot = await wallboard.take_snapshot(session, now=NOW)
            took.append(time.perf_counter() - started)
            started = time.perf_counter()
            async with async_session_scope(sessions) as session:
                await wallboard.take_snapshot(session, now=NOW, previous=snapshot, day_every=2.0)
            live.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    took.sort()
    today = sum(day.answered + day.abandoned for day in snapshot.day.values())
    cut = []
    for _ in range(runs):
        started = time.perf_counter()
        frame(wallboard.board_for(snapshot, "/1/2/"))
        cut.append(time.perf_counter() - started)
    return {
        "agents": len(snapshot.agents),
        "waiting_now": sum(count for count, _ in snapshot.waiting.values()),
        "answered_or_abandoned_today": today,
        "snapshot_ms_p50": round(statistics.median(took) * 1000, 1),
        "snapshot_ms_max": round(took[-1] * 1000, 1),
        "snapshot_without_the_day_ms_p50": round(statistics.median(live) * 1000, 1),
        "province_board_cut_and_encoded_ms_p50": round(statistics.median(cut) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--calls-per-day", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    results: dict[str, Any] = {"calls_per_day": args.calls_per_day}
    if args.prepare:
        upgrade(args.database_url)
        engine = make_engine(args.database_url)
        results["load_seconds"] = round(prepare(engine, args.calls_per_day), 1)
        engine.dispose()
    results |= asyncio.run(measure(args.database_url, args.runs))
    write_results("wallboard", results)


if __name__ == "__main__":
    main()
