"""Screen-pop latency: from the `POST /twilio/gather` that puts a call in a queue to the offer frame (with the
customer's picture) arriving at an agent's desk WebSocket.

    python bench/screen_pop.py [--gateways 1|2] [--agents 200] [--rate 20] [--seconds 30]

A throwaway PostgreSQL database (migrated, dropped at the end) with one organisation, `--agents` agents at the desk
(every skill, a Twilio Client endpoint), the default desk menu and 2,000 customers; `--gateways` `hotline serve`
processes on it and on Redis, their Twilio REST API a stand-in in this process. Every agent's desk is connected (round
robin over the gateways) and available. Calls arrive at `--rate` per second for `--seconds` (90% known customers,
10% unknown numbers; a tenth of the known ones key or quality customers): `/twilio/voice`, then the timed
`/twilio/gather` pressing 1 (accidents, 24 hours). Each agent accepts its offer at once; once connected, the
conversation ends (the <Dial> action) and, with no after-call time, the agent is available again. Reports p50, p90,
p99 and the maximum of the time to the first offer of each call, and the calls never offered.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.loadgen import SERVE, free_port, serving, write_results  # noqa: E402
from crm_store.customers.tables import Customer, CustomerPhone  # noqa: E402
from crm_store.db import make_engine  # noqa: E402
from crm_store.desk.agent_tables import AgentState, DeskAgent  # noqa: E402
from crm_store.desk.seed import default_desk, install_menu  # noqa: E402
from crm_store.migrate import upgrade  # noqa: E402
from crm_store.org.staff import issue_token  # noqa: E402
from crm_store.org.tables import OrgUnit, Staff  # noqa: E402
from crm_store.types import utcnow  # noqa: E402
from gateway.simulator import TwilioPlayer, twiml_root  # noqa: E402
from gateway.twilio_stand_in import TwilioStandIn  # noqa: E402
from tests.pg_helpers import create_database, drop_database, postgres_admin_url  # noqa: E402
from workers.settings import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN  # noqa: E402

HOTLINE = "+8215881234"
SKILLS = ["accident", "change", "complaint", "consult"]
SEGMENTS = ["ordinary"] * 8 + ["quality", "key"]


def seed(database_url: str, agents: int, customers: int) -> tuple[list[str], list[str]]:
    """The organisation, agents with their desks, the menu and customers; the agents' tokens and customers' numbers."""
    engine = make_engine(database_url)
    now = utcnow()
    with Session(engine) as session:
        unit = OrgUnit(code="HQ", name="본사", level=0, path="/")
        session.add(unit)
        session.flush()
        unit.path = f"/{unit.id}/"
        staff = [Staff(username=f"agent{n:04d}", full_name="상담원", role="agent", org_unit_id=unit.id, clearance=2)
                 for n in range(agents)]  # fmt: skip
        session.add_all(staff)
        session.flush()
        for n, member in enumerate(staff):
            session.add(
                DeskAgent(
                    staff_id=member.id, skills=SKILLS, endpoint=f"client:{member.username}",
                    state=AgentState.BREAK.value, state_since=now, last_call_ended_at=now - timedelta(seconds=n),
                )
            )  # fmt: skip
        phones = []
        rng = random.Random(7)
        for n in range(customers):
            customer = Customer(kind="individual", name=f"고객{n}", org_unit_id=unit.id, segment=rng.choice(SEGMENTS))
            session.add(customer)
            session.flush()
            number = f"+82109{n:07d}"
            session.add(CustomerPhone(customer_id=customer.id, e164=number))
            phones.append(number)
        desk = default_desk()
        install_menu(session, HOTLINE, desk["menu"], desk["queues"])
        session.commit()
        tokens = [issue_token(session, username=member.username, label="bench") for member in staff]
        session.commit()
    engine.dispose()
    return tokens, phones


class Run:
    """One measured run: offers seen (first per call), calls sent, the stand-in."""

    def __init__(self, stand_in: TwilioStandIn, bases: list[str]) -> None:
        self.stand_in = stand_in
        self.bases = bases
        self.sent: dict[str, float] = {}
        self.offered: dict[str, float] = {}
        self.connected = 0
        self.refused = 0

    async def agent(self, http: aiohttp.ClientSession, base: str, token: str, ready: asyncio.Event) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        twilio = TwilioPlayer(http, base, DEV_AUTH_TOKEN)
        async with http.ws_connect(f"{base}/api/v1/desk/ws", headers=headers) as ws:
            answer = await http.put(f"{base}/api/v1/agents/me/state", json={"state": "available"}, headers=headers)
            assert answer.status == 200, await answer.text()
            await ready.wait()
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                frame = message.json()
                kind = frame.get("type")
                if kind == "offer":
                    self.offered.setdefault(frame["call_sid"], time.perf_counter())
                    await ws.send_json({"type": "accept", "call_sid": frame["call_sid"]})
                elif kind == "call" and frame.get("state") == "connected":
                    self.connected += 1
                    sid = frame["call_sid"]
                    params = {**_call(sid, "+821000000000"), "CallStatus": "in-progress",
                              "DialCallStatus": "completed", "DialCallDuration": "5"}  # fmt: skip
                    await twilio.post("/twilio/desk-dial?queue=accident", params)
                elif kind == "error":
                    self.refused += 1

    async def call(self, http: aiohttp.ClientSession, base: str, caller: str) -> None:
        sid = "CA" + secrets.token_hex(16)
        self.stand_in.add_call(sid, from_=caller)
        twilio = TwilioPlayer(http, base, DEV_AUTH_TOKEN)
        status, body = await twilio.post("/twilio/voice", {**_call(sid, caller), "CallStatus": "ringing"})
        if status != 200:
            return
        gather = twiml_root(body).find("Gather")
        if gather is None:
            return
        action = gather.get("action", "")
        self.sent[sid] = time.perf_counter()
        await twilio.post_to(action, {**_call(sid, caller), "CallStatus": "in-progress", "Digits": "1"})


def _call(sid: str, caller: str) -> dict[str, str]:
    return {"AccountSid": DEV_ACCOUNT_SID, "CallSid": sid, "From": caller, "To": HOTLINE, "ApiVersion": "2010-04-01",
            "Direction": "inbound"}  # fmt: skip


async def measure(args: argparse.Namespace, bases: list[str], tokens: list[str], phones: list[str],
                  stand_in: TwilioStandIn) -> dict[str, Any]:  # fmt: skip
    run = Run(stand_in, bases)
    ready = asyncio.Event()
    # This process's own full collections would add to the times it measures.
    gc.collect()
    gc.freeze()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        desks = [asyncio.create_task(run.agent(http, bases[n % len(bases)], token, ready))
                 for n, token in enumerate(tokens)]  # fmt: skip
        await asyncio.sleep(3.0)  # every desk open and available
        ready.set()
        rng = random.Random(11)
        calls = []
        started = time.perf_counter()
        total = int(args.rate * args.seconds)
        for n in range(total):
            due = started + n / args.rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            caller = rng.choice(phones) if rng.random() < 0.9 else f"+8210{rng.randrange(10**8):08d}"
            calls.append(asyncio.create_task(run.call(http, bases[n % len(bases)], caller)))
        await asyncio.gather(*calls)
        await asyncio.sleep(5.0)
        for desk in desks:
            desk.cancel()
        await asyncio.gather(*desks, return_exceptions=True)
    latencies = sorted(run.offered[sid] - sent for sid, sent in run.sent.items() if sid in run.offered)

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1) if latencies else -1

    return {
        "gateways": len(bases), "agents": len(tokens), "rate": args.rate, "seconds": args.seconds,
        "calls": len(run.sent), "offered": len(latencies), "never_offered": len(run.sent) - len(latencies),
        "connected": run.connected, "refused_answers": run.refused,
        "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else -1,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateways", type=int, default=1)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    args = parser.parse_args()
    results = on_seeded_database(args, _serve_and_measure)
    write_results(f"screen_pop_{args.gateways}", results)


def on_seeded_database(
    args: argparse.Namespace, measure: Callable[[argparse.Namespace, str, list[str], list[str]], Awaitable[Any]]
) -> Any:
    """`measure(args, database_url, tokens, phones)` on a throwaway database migrated and seeded with `args.agents`
    agents and `args.customers` customers (dropped afterwards)."""
    admin = postgres_admin_url()
    if admin is None:
        raise SystemExit("no PostgreSQL reachable (HOTLINE_TEST_POSTGRES)")
    database_url = create_database(admin)
    try:
        upgrade(database_url)
        tokens, phones = seed(database_url, args.agents, args.customers)
        return asyncio.run(measure(args, database_url, tokens, phones))
    finally:
        drop_database(admin, database_url)


async def _serve_and_measure(args: argparse.Namespace, database_url: str, tokens: list[str],
                             phones: list[str]) -> dict[str, Any]:  # fmt: skip
    import os
    from contextlib import ExitStack

    stand_in = TwilioStandIn(DEV_ACCOUNT_SID, DEV_AUTH_TOKEN)
    rest = await stand_in.start()
    ports = [free_port() for _ in range(args.gateways)]
    with ExitStack() as stack:
        for port in ports:
            env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "PORT": str(port),
                   "PYTHONUNBUFFERED": "1", "TWILIO_API_BASE": rest, "HOTLINE_DESK_AFTER_CALL": "0"}  # fmt: skip
            await asyncio.to_thread(stack.enter_context, serving(SERVE, f"http://127.0.0.1:{port}/healthz", env))
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        assert all(urlsplit(base).port for base in bases)
        try:
            return await measure(args, bases, tokens, phones, stand_in)
        finally:
            await stand_in.stop()


if __name__ == "__main__":
    main()
