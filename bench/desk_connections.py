"""Desk connections: `--agents` agents' desks open on one gateway process: the memory each costs, what keeping them
online costs (the process's CPU and the database's writes a second with every desk idle), and the incoming-call
webhook measured again with them all connected.

    python bench/desk_connections.py [--agents 1000] [--idle 20] [--requests 3000] [--concurrency 32]

A throwaway PostgreSQL database (migrated, dropped at the end) with `--agents` agents at the desk and the default
menu (`bench/screen_pop.py`'s seed); one `hotline serve` process on it and on Redis. In order:
1. `POST /twilio/voice` closed loop (`--requests` distinct signed calls, `--concurrency` clients) with no desk open;
2. the gateway's resident memory (VmRSS) and, over `--idle` seconds, its CPU and the database's row writes on
   `desk_agent` and commits, with no desk open;
3. every desk opened (WebSocket, the agent made available), then the same memory, CPU and writes over `--idle`
   seconds with them all idle (only aiohttp's pings and the heartbeats);
4. the webhook loop again with them connected.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import secrets
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import make_url  # noqa: E402

from bench.loadgen import SERVE, closed_loop, free_port, serving, write_results  # noqa: E402
from bench.screen_pop import HOTLINE, on_seeded_database  # noqa: E402
from gateway.simulator import TwilioPlayer  # noqa: E402
from workers.settings import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN  # noqa: E402


def rss_kib(pid: int) -> int:
    """The process's resident memory, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def db_counters(database_url: str) -> tuple[int, int]:
    """Rows written to desk_agent (updates and inserts) and the database's commits so far."""
    libpq = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        tup = conn.execute(
            "SELECT n_tup_upd + n_tup_ins FROM pg_stat_user_tables WHERE relname = 'desk_agent'"
        ).fetchone()
        xact = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return int(tup[0] if tup else 0), int(xact[0] if xact else 0)


async def idle_cost(pid: int, database_url: str, seconds: float) -> dict[str, Any]:
    """The gateway's CPU share and the database's writes a second over `seconds` (statistics flushed first)."""
    await asyncio.sleep(1.0)  # PostgreSQL reports its counters at most every 0.5 s
    cpu, (rows, commits), started = cpu_seconds(pid), await asyncio.to_thread(db_counters, database_url), time.time()
    await asyncio.sleep(seconds)
    await asyncio.sleep(1.0)
    cpu_after = cpu_seconds(pid)
    rows_after, commits_after = await asyncio.to_thread(db_counters, database_url)
    wall = time.time() - started
    return {
        "rss_mib": round(rss_kib(pid) / 1024, 1),
        "gateway_cpu_percent": round(100 * (cpu_after - cpu) / wall, 2),
        "desk_agent_rows_written_per_s": round((rows_after - rows) / wall, 2),
        "commits_per_s": round((commits_after - commits) / wall, 2),
    }


async def webhooks(base: str, phones: list[str], count: int, concurrency: int) -> dict[str, Any]:
    """`POST /twilio/voice`, `count` distinct calls from `concurrency` clients back to back."""
    callers = [phones[n % len(phones)] if n % 10 else f"+8210{n:08d}" for n in range(count)]

    async def send(http: aiohttp.ClientSession, n: int) -> int:
        sid = "CA" + secrets.token_hex(16)
        params = {"AccountSid": DEV_ACCOUNT_SID, "CallSid": sid, "From": callers[n], "To": HOTLINE,
                  "CallStatus": "ringing", "ApiVersion": "2010-04-01", "Direction": "inbound"}  # fmt: skip
        status, _ = await TwilioPlayer(http, base, DEV_AUTH_TOKEN).post("/twilio/voice", params)
        return status

    return await closed_loop(send, count, concurrency)


async def open_desks(base: str, tokens: list[str], opened: asyncio.Event, stop: asyncio.Event) -> dict[str, int]:
    """Every agent's desk open and available until `stop` (`opened` set once each desk opened or failed); how many
    opened and how many failed."""
    connector = aiohttp.TCPConnector(limit=0)
    counts = {"opened": 0, "failed": 0}
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:

        def done(outcome: str) -> None:
            counts[outcome] += 1
            if counts["opened"] + counts["failed"] == len(tokens):
                opened.set()

        async def desk(token: str) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            try:
                async with http.ws_connect(f"{base}/api/v1/desk/ws", headers=headers, autoping=True) as ws:
                    async with http.put(
                        f"{base}/api/v1/agents/me/state", json={"state": "available"}, headers=headers
                    ) as answer:
                        if answer.status != 200:
                            raise RuntimeError(f"state answered {answer.status}")
                    done("opened")
                    reading = asyncio.create_task(_drain(ws))
                    await stop.wait()
                    reading.cancel()
            except (aiohttp.ClientError, RuntimeError, TimeoutError):
                done("failed")

        # Opened 50 at a time, as agents arriving at the start of a shift would (not all in one instant).
        tasks = []
        for n in range(0, len(tokens), 50):
            tasks += [asyncio.create_task(desk(token)) for token in tokens[n : n + 50]]
            await asyncio.sleep(0.2)
        await asyncio.gather(*tasks, return_exceptions=True)
    return counts


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


async def measure(args: argparse.Namespace, database_url: str, tokens: list[str], phones: list[str]) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "PORT": str(port),
           "PYTHONUNBUFFERED": "1"}  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        proc = await asyncio.to_thread(stack.enter_context, serving(SERVE, f"{base}/healthz", env))
        gc.collect()
        gc.freeze()
        await webhooks(base, phones, args.requests // 5, args.concurrency)  # warm-up
        before_hooks = await webhooks(base, phones, args.requests, args.concurrency)
        before = await idle_cost(proc.pid, database_url, args.idle)
        opened, stop = asyncio.Event(), asyncio.Event()
        desks = asyncio.create_task(open_desks(base, tokens, opened, stop))
        await asyncio.wait_for(opened.wait(), 300)
        await asyncio.sleep(args.beat_wait)  # every desk past its first beat
        after = await idle_cost(proc.pid, database_url, args.idle)
        after_hooks = await webhooks(base, phones, args.requests, args.concurrency)
        stop.set()
        counts = await desks
        connected = counts["opened"]
    return {
        "agents": len(tokens),
        "desks_open": connected,
        "desks_failed": counts["failed"],
        "without_desks": {**before, "voice_webhook": before_hooks},
        "with_desks": {**after, "voice_webhook": after_hooks},
        "rss_per_desk_kib": round((after["rss_mib"] - before["rss_mib"]) * 1024 / max(1, connected), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--idle", type=float, default=20.0)
    parser.add_argument("--beat-wait", type=float, default=6.0)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    args = parser.parse_args()
    results = on_seeded_database(args, measure)
    results["load_average"] = os.getloadavg()
    write_results("desk_connections", results)


if __name__ == "__main__":
    main()
