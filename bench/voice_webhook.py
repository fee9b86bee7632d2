"""`POST /twilio/voice` with the caller lookup, against a bare aiohttp handler, in the same run.

    python bench/voice_webhook.py --database-url postgresql://postgres@127.0.0.1:5432/hotline_bench \
        [--requests 20000] [--concurrency 32]

The database must hold the customers (bench/bulk_customers.py loads 1,000,000 and writes a sample of
their numbers to bench/results/phones.txt). Every request is a distinct call (its own CallSid), signed
like Twilio signs it; 90% of callers are known customers, 10% unknown numbers. One gateway process
(`hotline serve`, PostgreSQL + Redis) against one bare aiohttp process; the load generator is an
aiohttp client in this process. Reports requests per second and latency percentiles of each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from telephony.signature import TwilioSignature  # noqa: E402
from workers.settings import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN  # noqa: E402


def free_port() -> int:
    import socket

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


async def fire(url: str, prepared: list[tuple[bytes, dict[str, str]]], concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    index = 0

    async def one_client(http: aiohttp.ClientSession) -> None:
        nonlocal index, errors
        while index < len(prepared):
            body, headers = prepared[index]
            index += 1
            started = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as answer:
                await answer.read()
                if answer.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(one_client(http) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / wall, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/hotline_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
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
    results = {}
    try:
        wait_ready(f"http://127.0.0.1:{gw_port}/healthz", gateway)
        wait_ready(f"http://127.0.0.1:{bare_port}/twilio/voice", bare)
        for name, port in (("bare", bare_port), ("gateway", gw_port)):
            base = f"http://127.0.0.1:{port}"
            gateway_base = f"http://127.0.0.1:{gw_port}"
            # The gateway checks signatures against its own base URL (PUBLIC_BASE_URL or HOST:PORT).
            prepared = requests_for(gateway_base, phones, args.warmup + args.requests)
            asyncio.run(fire(base + "/twilio/voice", prepared[: args.warmup], args.concurrency))
            results[name] = asyncio.run(fire(base + "/twilio/voice", prepared[args.warmup :], args.concurrency))
    finally:
        for proc in (gateway, bare):
            proc.terminate()
            proc.wait(30)
    results["gateway_vs_bare"] = round(results["gateway"]["rps"] / results["bare"]["rps"], 3)
    results["concurrency"] = args.concurrency
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "voice_webhook.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
