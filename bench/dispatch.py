"""Dispatch: suggestions for one request among 5,000 surveyors and 2,000 live requests in PostgreSQL, and the board's
live update from an assignment to every dispatcher's open board in Chromium, across two gateway processes.

    flock /tmp/hotline-bench.lock python bench/dispatch.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/hotline_bench_dispatch --prepare \\
        [--surveyors 5000] [--requests 2000] [--samples 1000] [--live --dispatchers 8 --assignments 100]

--prepare creates (or empties) the database, migrates it and loads an organisation (head office, 17 provinces placed
at their centres on the shipped map, 5 branches each), `--surveyors` surveyors around their branches (skills, a mix
of statuses and shifts, capacity 1 or 2) and `--requests` live survey requests (three in four open, the others
assigned, which loads their surveyors).

Suggestions: `crm_store.dispatch.suggest.suggestions` for `--samples` random open requests, with the request read
first, as `GET /api/v1/dispatches/{id}/suggestions` does (the HTTP layer left out), on one asyncpg connection.

Live (--live): two `hotline serve` processes on the database and Redis; `--dispatchers` dispatchers of the first
province sign in to the console in headless Chromium, half on each process, and keep the board open. For each of
`--assignments` open requests of that province, the bench asks the suggestions, then assigns the best through the API
of the first process and records, per board, when its WebSocket frame arrived (`received`, from the board's own log)
and when the board's DOM first held the request's row in the state `assigned` (`shown`: a MutationObserver the bench
puts on the board, independent of the board's script), against the moment the assignment was sent (the same
machine's clock). Writes bench/results/dispatch.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.loadgen import SERVE, free_port, serving, write_results  # noqa: E402
from crm_store.db import make_engine  # noqa: E402
from crm_store.migrate import upgrade  # noqa: E402

SKILLS = ("auto", "property", "injury", "cargo")
STATUSES = (("available", 0.6), ("en_route", 0.1), ("on_site", 0.1), ("reporting", 0.05), ("off_duty", 0.15))
BRANCHES = 5
PASSWORD = "bench-dispatch"


def _centre(ring: list[list[float]]) -> tuple[float, float]:
    return statistics.fmean(p[1] for p in ring), statistics.fmean(p[0] for p in ring)


def _provinces() -> list[tuple[str, str, tuple[float, float]]]:
    """The provinces of the shipped map with a rough centre (of their largest outline)."""
    import json

    from gateway.korea_map import BOUNDARIES

    out = []
    for feature in json.loads(BOUNDARIES.read_text(encoding="utf-8"))["features"]:
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        largest = max((polygon[0] for polygon in polygons), key=len)
        out.append((feature["properties"]["code"], feature["properties"]["name"], _centre(largest)))
    return out


def _fresh_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def prepare(url: str, *, surveyors: int, requests: int, seed: int = 7) -> dict[str, Any]:
    """An empty database with the organisation, surveyors and live requests; seconds it took."""
    from crm_store.dispatch.tables import DispatchAssignment, DispatchRequest, SurveyorProfile
    from crm_store.org.auth import hash_password
    from crm_store.org.tables import OrgUnit, Role, Staff

    rng = random.Random(seed)
    started = time.perf_counter()
    _fresh_database(url)
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        hq = conn.execute(insert(OrgUnit).values(code="HQ", name="본사", level=0, path="/").returning(OrgUnit.id))
        hq_id = hq.scalar_one()
        conn.execute(text("UPDATE org_unit SET path = :p WHERE id = :i"), {"p": f"/{hq_id}/", "i": hq_id})
        branches: list[tuple[int, int, tuple[float, float]]] = []  # (branch, province, centre)
        for code, name, centre in _provinces():
            province = conn.execute(
                insert(OrgUnit)
                .values(code=f"P{code}", name=name, level=1, parent_id=hq_id, path="/")
                .returning(OrgUnit.id)
            ).scalar_one()
            conn.execute(
                text("UPDATE org_unit SET path = :p WHERE id = :i"), {"p": f"/{hq_id}/{province}/", "i": province}
            )
            for n in range(BRANCHES):
                branch = conn.execute(
                    insert(OrgUnit)
                    .values(code=f"B{code}{n}", name=f"{name} {n + 1}지점", level=2, parent_id=province, path="/")
                    .returning(OrgUnit.id)
                ).scalar_one()
                path = f"/{hq_id}/{province}/{branch}/"
                conn.execute(text("UPDATE org_unit SET path = :p WHERE id = :i"), {"p": path, "i": branch})
                at = (centre[0] + rng.gauss(0, 0.08), centre[1] + rng.gauss(0, 0.08))
                branches.append((branch, province, at))
        staff_rows = [
            {"username": f"surveyor{i:05d}", "full_name": f"조사원 {i}", "role": Role.SURVEYOR.value,
             "org_unit_id": branches[i % len(branches)][0], "clearance": 1, "active": True, "created_at": now}
            for i in range(surveyors)
        ]  # fmt: skip
        conn.execute(insert(Staff), staff_rows)
        ids = dict(conn.execute(text("SELECT username, id FROM staff WHERE role = 'surveyor'")).all())
        statuses, weights = zip(*STATUSES, strict=True)
        profiles = []
        for i in range(surveyors):
            branch, province, (lat, lon) = branches[i % len(branches)]
            skills = (
                sorted({"auto"} | {s for s in SKILLS if rng.random() < 0.3}) if rng.random() < 0.85 else ["property"]
            )
            profiles.append({
                "staff_id": ids[f"surveyor{i:05d}"], "home_unit_id": branch, "province_unit_id": province,
                "skills": skills, "shift": "24h" if rng.random() < 0.7 else {"mon-sun": "00:00-23:59"},
                "status": rng.choices(statuses, weights)[0], "capacity": rng.choice((1, 2)),
                "lat": lat + rng.gauss(0, 0.05), "lon": lon + rng.gauss(0, 0.05), "position_at": now, "updated_at": now,
            })  # fmt: skip
        conn.execute(insert(SurveyorProfile), profiles)
        request_rows = []
        for i in range(requests):
            branch, province, (lat, lon) = branches[rng.randrange(len(branches))]
            request_rows.append({
                "kind": "survey", "skill": rng.choice(("auto", "auto", "auto", "property", "injury")),
                "state": "open" if i % 4 else "assigned", "address": f"현장 {i}",
                "lat": lat + rng.gauss(0, 0.05), "lon": lon + rng.gauss(0, 0.05), "region": "city",
                "org_unit_id": branch, "province_unit_id": province, "vehicles": [], "injured": [],
                "promise_minutes": 30, "promise_reason": "벤치", "due_at": now + timedelta(minutes=30),
                "source": "api", "created_at": now, "opened_at": now, "updated_at": now,
            })  # fmt: skip
        conn.execute(insert(DispatchRequest), request_rows)
        assigned = conn.execute(text("SELECT id FROM dispatch_request WHERE state = 'assigned' ORDER BY id")).scalars()
        surveyor_ids = list(ids.values())
        conn.execute(
            insert(DispatchAssignment),
            [{"request_id": r, "surveyor_id": rng.choice(surveyor_ids), "assigned_at": now,
              "accept_by": now + timedelta(days=1)} for r in assigned],
        )  # fmt: skip
        # The live part's dispatchers: of the first province (five branches), signing in with PASSWORD.
        conn.execute(
            insert(Staff),
            [{"username": f"disp{n:02d}", "full_name": f"배정 {n}", "role": Role.DISPATCHER.value,
              "org_unit_id": branches[0][1], "clearance": 1, "active": True, "created_at": now,
              "password_hash": hash_password(PASSWORD)} for n in range(64)],
        )  # fmt: skip
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return {"prepare_s": round(time.perf_counter() - started, 1), "surveyors": surveyors, "requests": requests,
            "branches": len(branches)}  # fmt: skip


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)

    return {"n": len(ordered), "p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 2)}


async def suggestions_bench(url: str, samples: int, seed: int = 11) -> dict[str, Any]:
    """Milliseconds to read one open request and rank its candidates, over `samples` random open requests."""
    from crm_store.db import async_session_factory, make_async_engine
    from crm_store.dispatch.config import load_config
    from crm_store.dispatch.requests import get_request
    from crm_store.dispatch.suggest import suggestions

    config, rng = load_config(), random.Random(seed)
    engine = make_async_engine(url)
    sessions = async_session_factory(engine)
    try:
        async with sessions() as session:
            open_ids = list(
                (await session.exec(text("SELECT id FROM dispatch_request WHERE state = 'open'"))).scalars()
            )  # type: ignore[call-overload]
        timings, counts = [], []
        async with sessions() as session:
            for n in range(samples + 50):
                request_id = rng.choice(open_ids)
                started = time.perf_counter()
                request = await get_request(session, request_id)
                found = await suggestions(session, request, config=config)
                elapsed = (time.perf_counter() - started) * 1000
                await session.rollback()
                if n >= 50:  # the first ones warm the connection and the plans
                    timings.append(elapsed)
                    counts.append(len(found))
    finally:
        await engine.dispose()
    return {**_percentiles(timings), "unit": "ms", "mean_candidates": round(statistics.fmean(counts), 1)}


async def _sign_in(page: Any, base: str, username: str) -> None:
    await page.goto(f"{base}/console/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_load_state()
    await page.goto(f"{base}/console/dispatch")
    await page.wait_for_selector("#live-state[data-connected='1']", timeout=30000)
    await page.evaluate(WATCH_ROWS)


# When each request's row first shows each state in the board's DOM, whatever the board's script did to put it there.
WATCH_ROWS = """() => {
  window.benchSeen = {};
  const note = (row) => {
    const key = row.id.slice("request-".length) + ":" + row.dataset.state;
    if (!(key in window.benchSeen)) { window.benchSeen[key] = Date.now(); }
  };
  const board = document.getElementById("board");
  board.querySelectorAll("tr[id^='request-']").forEach(note);
  new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.type === "attributes" && change.target.matches && change.target.matches("tr[id^='request-']")) {
        note(change.target);
      }
      for (const node of change.addedNodes) {
        if (node.nodeType !== 1) { continue; }
        if (node.matches("tr[id^='request-']")) { note(node); }
        node.querySelectorAll("tr[id^='request-']").forEach(note);
      }
    }
  }).observe(board, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"] });
}"""


async def live_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Milliseconds from an assignment sent to its frame on every open board (and to the board showing it)."""
    from playwright.async_api import async_playwright
    from sqlmodel import Session

    from crm_store.org.staff import issue_token

    engine = make_engine(args.database_url)
    with Session(engine) as session:
        token = issue_token(session, username="disp00", label="bench")
        session.commit()
        branch = session.exec(text("SELECT org_unit_id FROM staff WHERE username = 'disp00'")).scalar_one()  # type: ignore[call-overload]
        wanted = list(
            session.exec(  # type: ignore[call-overload]
                text("SELECT id FROM dispatch_request WHERE state = 'open' AND province_unit_id = :p ORDER BY id"),
                params={"p": branch},
            ).scalars()
        )
    engine.dispose()
    ports = [free_port() for _ in range(args.gateways)]
    env = {"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "PYTHONUNBUFFERED": "1",
           "HOTLINE_DATA_DIR": str(ROOT / "var" / "bench")}  # fmt: skip
    import contextlib
    import os

    received: list[float] = []
    shown: list[float] = []
    missing = not_shown = 0
    sent_at: dict[int, float] = {}
    with contextlib.ExitStack() as stack:
        for port in ports:
            stack.enter_context(
                serving(SERVE, f"http://127.0.0.1:{port}/healthz", {**os.environ, **env, "PORT": str(port)})
            )
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        async with async_playwright() as playwright:
            chromium = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            pages = []
            for n in range(args.dispatchers):
                page = await (await chromium.new_context()).new_page()
                await _sign_in(page, bases[n % len(bases)], f"disp{n:02d}")
                pages.append(page)
            headers = {"Authorization": f"Bearer {token}"}
            done = 0
            async with aiohttp.ClientSession(base_url=bases[0], headers=headers) as http:
                for request_id in wanted:
                    if done >= args.assignments:
                        break
                    async with http.get(f"/api/v1/dispatches/{request_id}/suggestions") as answer:
                        items = (await answer.json()).get("items", [])
                    if not items:
                        continue
                    sent = time.time() * 1000
                    async with http.post(
                        f"/api/v1/dispatches/{request_id}/assign", json={"username": items[0]["username"]}
                    ) as answer:
                        if answer.status != 200:
                            continue
                    done += 1
                    sent_at[request_id] = sent
                    await asyncio.sleep(args.gap)
            # Late frames and rows count too: look once everything had a few seconds to arrive.
            await asyncio.sleep(3.0)
            for page in pages:
                logs = await page.evaluate("window.boardLog.filter(e => e.state === 'assigned')")
                arrived = {e["id"]: e["received"] for e in reversed(logs)}
                seen = await page.evaluate("window.benchSeen")
                for request_id, sent in sent_at.items():
                    if request_id not in arrived:
                        missing += 1
                    else:
                        received.append(arrived[request_id] - sent)
                    if f"{request_id}:assigned" in seen:
                        shown.append(seen[f"{request_id}:assigned"] - sent)
                    else:
                        not_shown += 1
            await chromium.close()
    return {
        "assignments": done,
        "dispatchers": args.dispatchers,
        "gateways": args.gateways,
        "frame_received_ms": _percentiles(received) if received else None,
        "board_shown_ms": _percentiles(shown) if shown else None,
        "frames_missing": missing,
        "rows_not_shown": not_shown,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/hotline_bench_dispatch")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--surveyors", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--live", action="store_true")
    parser.add_argument("--dispatchers", type=int, default=8)
    parser.add_argument("--assignments", type=int, default=100)
    parser.add_argument("--gateways", type=int, default=2)
    parser.add_argument("--gap", type=float, default=0.6, help="seconds between assignments")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    if args.prepare:
        results["prepare"] = prepare(args.database_url, surveyors=args.surveyors, requests=args.requests)
    results["suggestions"] = asyncio.run(suggestions_bench(args.database_url, args.samples))
    if args.live:
        results["live"] = asyncio.run(live_bench(args))
    write_results("dispatch", results)


if __name__ == "__main__":
    main()
