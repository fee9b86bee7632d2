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

import asyncio
import random
import secrets
import statistics
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.loadgen import SERVE, closed_loop, free_port, gateway_env, gateway_options, serving, write_results  # noqa: E402
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
    parser = gateway_options(redis_url="redis://127.0.0.1:6379/11")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both sides, alternating which goes first")
    parser.add_argument("--phones", default=str(ROOT / "bench" / "results" / "phones.txt"))
    args = parser.parse_args()
    phones = Path(args.phones).read_text().split()

    gw_port, bare_port = free_port(), free_port()
    # The same event loop on both sides: `hotline serve` runs on uvloop when it is installed.
    bare_server = [sys.executable, str(ROOT / "bench" / "bare_server.py"), str(bare_port), "--uvloop"]
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "gateway": []}
    results: dict[str, Any] = {}
    with (
        serving(SERVE, f"http://127.0.0.1:{gw_port}/healthz", gateway_env(args, gw_port)),
        serving(bare_server, f"http://127.0.0.1:{bare_port}/twilio/voice"),
    ):
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
    write_results("voice_webhook", results)


if __name__ == "__main__":
    main()
