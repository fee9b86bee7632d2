"""The call distributor across two real gateway processes (`hotline serve`) on PostgreSQL and a throwaway Redis:
two agents with desks on different processes, three calls, a green-channel caller who overtakes, an agent who
lets an offer lapse (on break, the call to another), a caller who hangs up while waiting, and a gateway killed
after its agent accepted but before Twilio connected the caller: the other gateway offers the call again, and no
call is ever offered to two agents at once or lost."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import Session, col, select

from crm_store.db import make_engine
from crm_store.desk.tables import DeskOffer, WaitingCall
from crm_store.types import utcnow
from gateway.simulator import TwilioPlayer, twiml_root
from gateway.twilio_stand_in import TwilioStandIn
from tests.customer_helpers import SECRET, build_org
from tests.desk_calls import agent_row, give_desks, next_frame
from tests.desk_helpers import add_callers, caller_number, install_default_menu
from tests.fault.test_desk_ws_processes import _choose
from tests.processes import HOTLINE, Process, RedisServer, free_port, processes, service_env, wait_http
from tests.twilio_helpers import call_sid
from workers.settings import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN

pytestmark = pytest.mark.fault

RESERVATION = 3
# The distributor's default: an accepted call not confirmed by Twilio within this is offered again.
CONNECT_GRACE = 15


@asynccontextmanager
async def black_hole() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A Twilio REST API that takes requests and never answers: its base URL, and an event set at the first one."""
    asked = asyncio.Event()
    held: list[tuple[asyncio.StreamWriter, asyncio.Task[Any]]] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        held.append((writer, task))
        await reader.read(1024)
        asked.set()
        await asyncio.sleep(3600)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", asked
    finally:
        server.close()
        for writer, task in held:
            task.cancel()
            writer.close()
        await asyncio.gather(*(task for _, task in held), return_exceptions=True)
        for writer, _ in held:
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        await server.wait_closed()


class Caller:
    """Twilio's side of one caller against one gateway."""

    def __init__(self, http: aiohttp.ClientSession, port: int, segment: str) -> None:
        self.twilio = TwilioPlayer(http, f"http://127.0.0.1:{port}", DEV_AUTH_TOKEN)
        self.sid = call_sid()
        self.segment = segment
        self.base = {
            "AccountSid": DEV_ACCOUNT_SID, "CallSid": self.sid, "From": caller_number(segment), "To": "+8215881234",
            "ApiVersion": "2010-04-01", "Direction": "inbound",
        }  # fmt: skip

    async def queue(self) -> None:
        """Call the hotline and press 1 (accidents, 24 hours): in the queue."""
        status, body = await self.twilio.post("/twilio/voice", {**self.base, "CallStatus": "ringing"})
        assert status == 200, body
        action = twiml_root(body).find("Gather").get("action", "")  # type: ignore[union-attr]
        status, body = await self.twilio.post_to(action, {**self.base, "CallStatus": "in-progress", "Digits": "1"})
        assert status == 200 and twiml_root(body).find("Enqueue") is not None, body

    async def hang_up(self) -> None:
        params = {
            **self.base, "CallStatus": "completed", "SequenceNumber": "9", "CallbackSource": "call-progress-events",
            "Timestamp": "Mon, 07 Dec 2026 01:00:00 +0000", "CallDuration": "60",
        }  # fmt: skip
        status, body = await self.twilio.post("/twilio/status", params)
        assert status == 204, body

    async def conversation_ends(self) -> None:
        params = {**self.base, "CallStatus": "in-progress", "DialCallStatus": "completed", "DialCallDuration": "30"}
        status, body = await self.twilio.post("/twilio/desk-dial?queue=accident", params)
        assert status == 200, body


def _offers(engine: Any) -> list[DeskOffer]:
    with Session(engine) as session:
        return list(session.exec(select(DeskOffer).order_by(col(DeskOffer.id))).all())


def _waiting(engine: Any, sid: str) -> WaitingCall:
    with Session(engine) as session:
        return session.exec(select(WaitingCall).where(col(WaitingCall.call_sid) == sid)).one()


async def test_a_gateway_killed_between_offer_and_connect(
    postgres_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    engine = make_engine(postgres_url)
    org = build_org(engine)
    install_default_menu(engine)
    add_callers(engine)
    hq, seocho = org.staff["agent.hq"], org.staff["agent.seocho"]
    give_desks(engine, org.staff, {"agent.hq": utcnow() - timedelta(hours=1), "agent.seocho": utcnow()})
    stand_in = TwilioStandIn(DEV_ACCOUNT_SID, DEV_AUTH_TOKEN)
    rest = await stand_in.start()
    ports = [free_port(), free_port()]
    async with black_hole() as (dead_rest, asked):
        with processes(tmp_path) as started:
            gateways = []
            for n, (port, api) in enumerate(zip(ports, [dead_rest, rest], strict=True)):
                env = service_env(
                    postgres_url, redis_server.url, port, tmp_path / f"data{n}", HOTLINE_SECRET_KEY=SECRET,
                    TWILIO_API_BASE=api, HOTLINE_DESK_RESERVATION=str(RESERVATION),
                )  # fmt: skip
                gateway = Process(f"serve{n}", [*HOTLINE, "serve"], env, tmp_path)
                started.append(gateway)
                gateways.append(gateway)
            for gateway, port in zip(gateways, ports, strict=True):
                await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/healthz", proc=gateway)
            zero, one = ports
            async with aiohttp.ClientSession() as http:
                hq_desk = await http.ws_connect(f"http://127.0.0.1:{zero}/api/v1/desk/ws", headers=org.auth("agent.hq"))
                seocho_desk = await http.ws_connect(
                    f"http://127.0.0.1:{one}/api/v1/desk/ws", headers=org.auth("agent.seocho")
                )
                callers = {segment: Caller(http, one, segment) for segment in ("ordinary", "inferior", "key")}
                for caller in callers.values():
                    stand_in.add_call(caller.sid)
                    await caller.queue()
                    await asyncio.sleep(0.05)
                ordinary, inferior, key = (callers[s].sid for s in ("ordinary", "inferior", "key"))

                # The green-channel caller overtakes: offered first, to the agent available first (gateway 0).
                await _choose(http, zero, org.tokens["agent.hq"], "available")
                assert (await next_frame(hq_desk, "offer"))["call_sid"] == key
                # The first agent accepts; gateway 0 asks Twilio to connect the caller and dies before the answer.
                await hq_desk.send_json({"type": "accept", "call_sid": key})
                await asyncio.wait_for(asked.wait(), 10)
                gateways[0].kill(signal.SIGKILL)
                gateways[0].popen.wait(10)
                killed_at = time.monotonic()
                assert _waiting(engine, key).state == "connected" and agent_row(engine, hq).state == "on_call"

                # The other agent (gateway 1) is offered the longest-waiting of the others, and lets it lapse.
                await _choose(http, one, org.tokens["agent.seocho"], "available")
                assert (await next_frame(seocho_desk, "offer"))["call_sid"] == ordinary
                lapsed = await next_frame(seocho_desk, "offer_withdrawn", seconds=RESERVATION + 10)
                assert lapsed == {"type": "offer_withdrawn", "call_sid": ordinary, "reason": "timed_out"}
                assert agent_row(engine, seocho).state == "break"

                # Back from break, the second agent is not offered the call they let lapse but the blacklisted one.
                await _choose(http, one, org.tokens["agent.seocho"], "available")
                offer = await next_frame(seocho_desk, "offer")
                assert (offer["call_sid"], offer["blacklisted"]) == (inferior, True)
                await seocho_desk.send_json({"type": "accept", "call_sid": inferior})
                await next_frame(seocho_desk, "call", call_sid=inferior, state="connected")
                await callers["inferior"].conversation_ends()
                await next_frame(seocho_desk, "call", call_sid=inferior, state="ended")
                await _choose(http, one, org.tokens["agent.seocho"], "available")

                # Gateway 1 finds the accepted call never connected: waiting again, offered again, to this agent.
                patience = CONNECT_GRACE + RESERVATION * 2 + 15 - (time.monotonic() - killed_at)
                offer = await next_frame(seocho_desk, "offer", call_sid=key, seconds=patience)
                await seocho_desk.send_json({"type": "accept", "call_sid": key})
                await next_frame(seocho_desk, "call", call_sid=key, state="connected")
                assert "<Client>agent.seocho</Client>" in stand_in.calls[key].twiml[-1]

                # The caller who waited longest hangs up before anyone took the call.
                await callers["ordinary"].hang_up()
                await hq_desk.close()
                await seocho_desk.close()

    assert {sid: _waiting(engine, sid).state for sid in (key, inferior, ordinary)} == {
        key: "connected",
        inferior: "connected",
        ordinary: "abandoned",
    }
    assert _waiting(engine, key).agent_id == seocho
    made = _offers(engine)
    assert all(offer.outcome is not None for offer in made)
    for sid in (key, inferior, ordinary):
        of_call = [offer for offer in made if offer.call_sid == sid]
        for earlier, later in zip(of_call, of_call[1:], strict=False):
            assert earlier.answered_at is not None and earlier.answered_at <= later.offered_at
    key_offers = [(offer.staff_id, offer.outcome) for offer in made if offer.call_sid == key]
    assert key_offers[0] == (hq, "failed") and key_offers[-1] == (seocho, "connected")
    # The lapsed call may have been offered to the first agent too once their call was taken back (their desk gone:
    # lapsed again); it was never connected.
    ordinary_offers = [(o.staff_id, o.outcome) for o in made if o.call_sid == ordinary]
    assert ordinary_offers[0] == (seocho, "timed_out") and all(o != "connected" for _, o in ordinary_offers)
    assert agent_row(engine, hq).state != "on_call"
    await stand_in.stop()
    engine.dispose()
