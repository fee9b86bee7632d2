"""`POST /twilio/voice` with the caller lookup, against a bare aiohttp handler, in the same run.

    python bench/voice_webhook.py --database-url postgresql://postgres@127.0.0.1:5432/hotline_bench \
        [--requests 20000] [--concurrency 32] [--rounds 3]

The database must hold the customers (bench/bulk_customers.py loads 1,000,000 and writes a sample of
their numbers to bench/results/phones.txt). Every request is a distinct call (its own CallSid), signed
like Twilio signs it; 90% of callers are known customers, 10% unknown numbers. One gateway process
(`hotline serve`, PostgreSQL + Redis) against one bare aiohttp process; the load generator is an
aiohttp client in this process. Reports requests per second and latency percentiles of each, per round
and the median over rounds (rounds alternate which side goes first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.loadgen import closed_loop, free_port, wait_ready  # noqa: E402
from telephony.signature import TwilioSignature  # noqa: E402
from workers.settings import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN  # noqa: E402


def requests_for(base_url: str, phones: list[str], count: int) -> list[tuple[bytes, dict[str, str]]]:
    signer = TwilioSignature(DEV_AUTH_TOKEN, base_url)
    rng = random.Random(7)
    prepared = []
    for _ in range(count):
        caller = rng.choice(phones) if rng.random() < 0.9 else f"+8210{rng.randrange(10**8):08d}"
        params = {
            "AccountSid": DEV_ACCOUNT_SID,
            "CallSid": "CA" + secrets.token_hex(16),
            "From": caller,
            "To": "+8215881234",
            "CallStatus": "ringing",
            "ApiVersion": "2010-04-01",
            "Direction": "inbound",
            "Caller": caller,
            "Called": "+8215881234",
            "CallerCountry": "KR",
        }
        body = urlencode(params)
        headers = {
            "X-Twilio-Signature": signer.sign("/twilio/voice", params),
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        prepared.append((body.encode(), headers))
    return prepared


async def fire(url: str, prepared: list[tuple[bytes, dict[str, str]]], concurrency: int) -> dict[str, Any]:
    async def send(http: aiohttp.ClientSession, n: int) -> int:
        body, headers = prepared[n]
        async with http.post(url, data=body, headers=headers) as answer:
            await answer.read()
            return answer.status

    result = await closed_loop(send, len(prepared), concurrency)
    result["errors"] = result["requests"] - result["statuses"].get("200", 0)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/hotline_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both sides, alternating which goes first")
    parser.add_argument("--phones", default=str(ROOT / "bench" / "results" / "phones.txt"))
    args = parser.parse_args()
    phones = Path(args.phones).read_text().split()

    gw_port, bare_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "PORT": str(gw_port),
        "PYTHONUNBUFFERED": "1",
    }
    gateway = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The same event loop on both sides: `hotline serve` runs on uvloop when it is installed.
    bare = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "bare_server.py"), str(bare_port), "--uvloop"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "gateway": []}
    results: dict[str, Any] = {}
    try:
        wait_ready(f"http://127.0.0.1:{gw_port}/healthz", gateway)
        wait_ready(f"http://127.0.0.1:{bare_port}/twilio/voice", bare)
        gateway_base = f"http://127.0.0.1:{gw_port}"
        sides = [("bare", bare_port), ("gateway", gw_port)]
        # Rounds alternate which side goes first, so that a slow spell of a shared machine hits both sides.
        for round_no in range(args.rounds):
            for name, port in sides if round_no % 2 == 0 else sides[::-1]:
                base = f"http://127.0.0.1:{port}"
                # The gateway checks signatures against its own base URL (PUBLIC_BASE_URL or HOST:PORT); each
                # round has calls of its own (new CallSids).
                prepared = requests_for(gateway_base, phones, args.warmup + args.requests)
                asyncio.run(fire(base + "/twilio/voice", prepared[: args.warmup], args.concurrency))
                runs[name].append(asyncio.run(fire(base + "/twilio/voice", prepared[args.warmup :], args.concurrency)))
    finally:
        for proc in (gateway, bare):
            proc.terminate()
            proc.wait(30)
    for name, side in runs.items():
        results[name] = {
            "median_rps": statistics.median(r["rps"] for r in side),
            "median_p50_ms": statistics.median(r["p50_ms"] for r in side),
            "median_p99_ms": statistics.median(r["p99_ms"] for r in side),
            "errors": sum(r["errors"] for r in side),
            "rounds": side,
        }
    results["gateway_vs_bare"] = round(results["gateway"]["median_rps"] / results["bare"]["median_rps"], 3)
    results["gateway_vs_bare_by_round"] = [
        round(g["rps"] / b["rps"], 3) for g, b in zip(runs["gateway"], runs["bare"], strict=True)
    ]
    results["concurrency"] = args.concurrency
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "voice_webhook.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
