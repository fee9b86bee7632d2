"""The screen-pop lookup `GET /api/v1/customers/lookup?phone=...` end to end over HTTP, and the segment run.

    flock /tmp/hotline-bench.lock python bench/customer_lookup.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/hotline_bench [--prepare] [--segments] \\
        [--requests 20000] [--concurrency 32]

--prepare migrates the database and backfills the customer aggregates and blacklist keys (timed).
--segments times "recompute all segments" (crm_store.customers.segments.recompute_all_segments) on the whole database.
The lookup runs against one `hotline serve` process (PostgreSQL + Redis, as in production) with an API token of
`admin`; numbers come from bench/results/phones.txt (90% known customers, written in mixed Korean formats) and
bench/results/phones_unknown.txt (10%, answered 404). Reports requests per second and latency percentiles, and
writes bench/results/customer_lookup.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.loadgen import SERVE, closed_loop, free_port, gateway_env, gateway_options, open_loop, serving, write_results  # noqa: E402


def prepare(database_url: str) -> dict[str, float]:
    """Migrate, then backfill aggregates and blacklist keys; seconds of each step."""
    from crm_store.customers.blacklist import backfill_keys
    from crm_store.customers.stats import rebuild_stats
    from crm_store.db import make_engine
    from crm_store.migrate import upgrade

    timings: dict[str, float] = {}
    started = time.perf_counter()
    upgrade(database_url)
    timings["migrate_s"] = round(time.perf_counter() - started, 1)
    engine = make_engine(database_url)
    try:
        started = time.perf_counter()
        timings["customers_with_stats"] = rebuild_stats(engine)
        timings["rebuild_stats_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        timings["blacklist_keys"] = backfill_keys(engine)
        timings["blacklist_keys_s"] = round(time.perf_counter() - started, 1)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return timings


def segments(database_url: str, as_of: date) -> dict[str, object]:
    """Time the scheduled job that recomputes every customer's segment."""
    from crm_store.customers.rules import load_rules
    from crm_store.customers.segments import recompute_all_segments
    from crm_store.db import make_engine

    engine = make_engine(database_url)
    try:
        run = recompute_all_segments(engine, rules=load_rules(), as_of=as_of)
    finally:
        engine.dispose()
    return {"customers": run.customers, "changed": run.changed, "seconds": run.seconds, "by_segment": run.by_segment}


def written_like_people(e164: str, rng: random.Random) -> str:
    """An E.164 number as an agent or a CTI might pass it: 010-1234-5678, 01012345678, +82 10 1234 5678."""
    national = "0" + e164.removeprefix("+82")
    style = rng.random()
    if style < 0.4 and national.startswith("010"):
        return f"{national[:3]}-{national[3:7]}-{national[7:]}"
    if style < 0.7:
        return national
    return e164


def _sender(base: str, numbers: list[str]) -> Callable[[aiohttp.ClientSession, int], Awaitable[int]]:
    async def send(http: aiohttp.ClientSession, n: int) -> int:
        async with http.get(f"{base}/api/v1/customers/lookup", params={"phone": numbers[n]}) as answer:
            await answer.read()
            return answer.status

    return send


async def fire(base: str, token: str, numbers: list[str], concurrency: int) -> dict[str, Any]:
    """Closed loop: `concurrency` clients back to back (saturation throughput, and latency under it)."""
    return await closed_loop(
        _sender(base, numbers), len(numbers), concurrency, headers={"Authorization": f"Bearer {token}"}
    )


async def arrive(base: str, token: str, numbers: list[str], rate: float) -> dict[str, Any]:
    """Open loop: screen-pops arriving at `rate` per second."""
    return await open_loop(_sender(base, numbers), len(numbers), rate, headers={"Authorization": f"Bearer {token}"})


def lookup(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(11)
    known = (ROOT / "bench" / "results" / "phones.txt").read_text().split()
    unknown = (ROOT / "bench" / "results" / "phones_unknown.txt").read_text().split()
    total = args.warmup + args.requests
    numbers = [
        written_like_people(rng.choice(known), rng) if rng.random() < 0.9 else rng.choice(unknown) for _ in range(total)
    ]
    port = free_port()
    env = gateway_env(args, port)
    token = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "token", "admin", "--label", "bench"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    base = f"http://127.0.0.1:{port}"
    results: dict[str, object] = {}
    with serving(SERVE, f"{base}/healthz", env):
        asyncio.run(fire(base, token, numbers[: args.warmup], args.concurrency))
        results["lookup"] = asyncio.run(fire(base, token, numbers[args.warmup :], args.concurrency))
        results["lookup_one_connection"] = asyncio.run(fire(base, token, numbers[args.warmup :][:2000], 1))
        for rate in args.rates:
            sample = numbers[args.warmup :][: int(rate * args.seconds)]
            results[f"lookup_at_{rate:g}_per_s"] = asyncio.run(arrive(base, token, sample, rate))
    results["concurrency"] = args.concurrency
    return results


def main() -> None:
    parser = gateway_options(redis_url="redis://127.0.0.1:6379/10")
    parser.add_argument(
        "--rates", type=float, nargs="*", default=[100, 300, 600], help="open-loop arrival rates (per second)"
    )
    parser.add_argument("--seconds", type=float, default=15, help="length of each open-loop run")
    parser.add_argument("--prepare", action="store_true", help="migrate and backfill aggregates and keys first")
    parser.add_argument("--segments", action="store_true", help="time recomputing all segments")
    parser.add_argument("--no-lookup", action="store_true")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today())
    args = parser.parse_args()
    results: dict[str, object] = {}
    if args.prepare:
        results["prepare"] = prepare(args.database_url)
        print(json.dumps(results["prepare"]), flush=True)
    if args.segments:
        results["segments"] = segments(args.database_url, args.as_of)
        print(json.dumps(results["segments"], ensure_ascii=False), flush=True)
    if not args.no_lookup:
        results.update(lookup(args))
    write_results("customer_lookup", results)


if __name__ == "__main__":
    main()
