"""What the HTTP benchmarks share: their common options, servers as child processes (`hotline serve` among them),
free ports, closed- and open-loop load generators, and writing the results."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
SERVE = [sys.executable, "-m", "gateway.cli", "serve"]  # `hotline serve`


def gateway_options(redis_url: str) -> argparse.ArgumentParser:
    """A parser with what every benchmark of the gateway takes: its database and Redis, how many requests (and
    warm-up requests before them), and how many clients at once."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/hotline_bench")
    parser.add_argument("--redis-url", default=redis_url)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    return parser


def gateway_env(args: argparse.Namespace, port: int) -> dict[str, str]:
    """The environment of a gateway process on `port` with the database and Redis of `args`."""
    return {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }


@contextmanager
def serving(command: list[str], ready_url: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """A server as a child process (its output discarded), once `ready_url` answers; terminated afterwards."""
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(ready_url, proc)
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)


def load_org_tree(db: Any, spread: tuple[int, ...]) -> None:
    """A head office (id 1) and below it `spread[0]` units, `spread[1]` below each of those, ... (PostgreSQL, on
    an empty org_unit table), with their materialised paths."""
    db.execute(text("INSERT INTO org_unit (id, code, name, level, parent_id, path, active) "
                    "VALUES (1, 'HQ', '본사', 0, NULL, '/1/', true)"))  # fmt: skip
    db.execute(text("SELECT setval(pg_get_serial_sequence('org_unit', 'id'), (SELECT max(id) FROM org_unit))"))
    for level, count in enumerate(spread, start=1):
        db.execute(
            text(f"""
            INSERT INTO org_unit (code, name, level, parent_id, path, active)
            SELECT 'U' || p.id || '-' || g, '지점' || p.id || '-' || g, {level}, p.id, p.path, true
            FROM org_unit p, generate_series(1, {count}) g WHERE p.level = {level - 1}""")
        )
        db.execute(text(f"UPDATE org_unit SET path = path || id || '/' WHERE level = {level}"))


def write_results(name: str, results: dict[str, Any]) -> None:
    """Print the results with the machine they ran on, and keep them in bench/results/<name>.json."""
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    text = json.dumps(results, indent=2, ensure_ascii=False)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(text)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.args}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError as err:
            if getattr(err, "code", None):  # an HTTP error status means it is up
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready")


async def closed_loop(
    send: Callable[[aiohttp.ClientSession, int], Awaitable[int]],
    count: int,
    concurrency: int,
    **session_options: Any,
) -> dict[str, Any]:
    """`concurrency` clients send requests 0..count-1 back to back (`send` returns the HTTP status)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    index = 0

    async def one_client(http: aiohttp.ClientSession) -> None:
        nonlocal index
        while index < count:
            n = index
            index += 1
            started = time.perf_counter()
            status = await send(http, n)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, **session_options) as http:
        started = time.perf_counter()
        await asyncio.gather(*(one_client(http) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return _summary(latencies, statuses, wall)


async def open_loop(
    send: Callable[[aiohttp.ClientSession, int], Awaitable[int]],
    count: int,
    rate: float,
    *,
    seed: int = 7,
    **session_options: Any,
) -> dict[str, Any]:
    """Requests arrive at `rate` per second (Poisson), whether or not earlier ones are answered, as screen-pops
    of independent agents do. Latency counts from the arrival time, so time spent queued is never hidden."""
    rng = random.Random(seed)
    latencies: list[float] = []
    lags: list[float] = []  # how late the generator itself sent each request (its own share of the latency)
    statuses: dict[int, int] = {}

    async def one(http: aiohttp.ClientSession, n: int, due: float) -> None:
        lags.append(time.perf_counter() - due)
        status = await send(http, n)
        latencies.append(time.perf_counter() - due)
        statuses[status] = statuses.get(status, 0) + 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, **session_options) as http:
        tasks = []
        started = due = time.perf_counter()
        for n in range(count):
            due += rng.expovariate(rate)
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(http, n, due)))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - started
    lags.sort()
    lag = {
        "generator_lag_p50_ms": round(lags[len(lags) // 2] * 1000, 2),
        "generator_lag_p99_ms": round(lags[int(0.99 * len(lags))] * 1000, 2),
    }
    return {"offered_rps": rate, **_summary(latencies, statuses, wall), **lag}


def _summary(latencies: list[float], statuses: dict[int, int], wall: float) -> dict[str, Any]:
    latencies = sorted(latencies)

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "requests": len(latencies),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "rps": round(len(latencies) / wall, 1),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 2),
    }
