"""On the embedded defaults (SQLite, no Redis): `hotline simulate-call` presses a key, waits in the queue and is
connected to the agent who accepts the offer on their desk, follows the TwiML it is redirected to (the <Dial> to
the agent, recorded two-channel), and the agent goes to wrap-up when the conversation ends; a caller who declines
to wait leaves the agent's offer abandoned."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest

from crm_store.types import utcnow
from gateway import desk
from gateway.app import create_app
from gateway.desk_distributor import DISTRIBUTOR_TIMING, DistributorTiming
from gateway.desk_socket import TIMING, DeskTiming, beat_open_desks, silence_quiet_desks
from gateway.simulator import SimulatedCall, run_simulated_call
from gateway.twilio_stand_in import TwilioStandIn
from tests.customer_helpers import build_org
from tests.desk_calls import agent_row, dial_and_choose, dial_ended, give_desks, next_frame, offers_of
from tests.desk_helpers import BUSINESS_DAY, add_callers, caller_number, install_default_menu, kst, waiting_calls
from tests.fake_clock import FakeClock
from tests.live_helpers import until
from tests.processes import free_port
from tests.twilio_helpers import call_sid
from workers.settings import Settings

DESK = "/api/v1/desk/ws"
STATE = "/api/v1/agents/me/state"


@pytest.fixture
async def world(aiohttp_server: Any, settings: Settings, engine: Any) -> tuple[Settings, Any, int]:
    """The gateway on a known port with the agent agent.hq at the desk; its settings, organisation, the REST port."""
    org = build_org(engine)
    install_default_menu(engine)
    add_callers(engine)
    clock = FakeClock(kst(BUSINESS_DAY))
    give_desks(engine, org.staff, {"agent.hq": clock.now - timedelta(hours=1)})
    port, api_port = free_port(), free_port()
    public = settings.model_copy(
        update={"public_base_url": f"http://127.0.0.1:{port}", "twilio_api_base": f"http://127.0.0.1:{api_port}"}
    )
    app = create_app(public, embedded_worker=False)
    app[desk.CLOCK] = clock
    app[DISTRIBUTOR_TIMING] = DistributorTiming(tick=0.05)
    await aiohttp_server(app, host="127.0.0.1", port=port)
    return public, org, api_port


@asynccontextmanager
async def _available_desk(http: aiohttp.ClientSession, settings: Settings, org: Any) -> AsyncIterator[Any]:
    """agent.hq available, their desk open."""
    headers = org.auth("agent.hq")
    answer = await http.put(f"{settings.base_url}{STATE}", json={"state": "available"}, headers=headers)
    assert answer.status == 200
    async with http.ws_connect(f"{settings.base_url}{DESK}", headers=headers) as ws:
        yield ws


def _call(settings: Settings, api_port: int, **options: Any) -> SimulatedCall:
    return SimulatedCall(
        base_url=settings.base_url,
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        from_number=caller_number("key"),
        to_number="+8215881234",
        audio=None,
        api_token=None,
        press="1",
        timeout=20,
        twilio_api_port=api_port,
        **options,
    )


async def test_a_simulated_caller_reaches_the_agent_who_accepts(world: tuple[Settings, Any, int], engine: Any) -> None:
    settings, org, api_port = world
    async with aiohttp.ClientSession() as http, _available_desk(http, settings, org) as ws:

        async def agent() -> dict[str, Any]:
            offer = await next_frame(ws, "offer", seconds=15)
            await ws.send_json({"type": "accept", "call_sid": offer["call_sid"]})
            await next_frame(ws, "call", state="connected", seconds=15)
            await next_frame(ws, "call", state="ended", seconds=15)
            return offer

        record, offer = await asyncio.gather(
            run_simulated_call(_call(settings, api_port, talk=0.2), log=lambda _line: None), agent()
        )
    simulation = record["_simulation"]
    assert simulation["outcome"] == "connected" and simulation["call_sid"] == offer["call_sid"]
    assert offer["customer"]["segment"] == "key" and offer["green_channel"]
    assert simulation["steps"][-1] == "conversation ended"
    [redirect] = simulation["twilio_api_requests"]
    assert "<Client>agent.hq</Client>" in redirect["params"]["Twiml"]
    waiting = waiting_calls(engine)[offer["call_sid"]]
    assert waiting.state == "connected" and waiting.answered_at is not None and waiting.ended_at is not None
    agent_now = agent_row(engine, org.staff["agent.hq"])
    assert (agent_now.state, agent_now.call_sid) == ("wrap_up", offer["call_sid"])


async def test_a_simulated_caller_who_hangs_up_while_offered(world: tuple[Settings, Any, int], engine: Any) -> None:
    settings, org, api_port = world
    async with aiohttp.ClientSession() as http, _available_desk(http, settings, org) as ws:
        call = _call(settings, api_port, wait=1.0, hang_up_waiting=True)
        record, offer = await asyncio.gather(
            run_simulated_call(call, log=lambda _line: None), next_frame(ws, "offer", seconds=15)
        )
        await next_frame(ws, "call", call_sid=offer["call_sid"], state="abandoned")
    assert record["_simulation"]["outcome"] == "abandoned"
    assert waiting_calls(engine)[offer["call_sid"]].state == "abandoned"
    assert agent_row(engine, org.staff["agent.hq"]).state == "available"


async def test_a_desk_reloaded_while_offered_shows_the_offer_again(
    world: tuple[Settings, Any, int], engine: Any
) -> None:
    settings, org, api_port = world
    headers = org.auth("agent.hq")
    async with aiohttp.ClientSession() as http:
        answer = await http.put(f"{settings.base_url}{STATE}", json={"state": "available"}, headers=headers)
        assert answer.status == 200

        async def agent() -> tuple[dict[str, Any], dict[str, Any]]:
            async with http.ws_connect(f"{settings.base_url}{DESK}", headers=headers) as ws:
                first = await next_frame(ws, "offer", seconds=15)
            # The reload: the old desk closed, a new one opened while the offer waits for an answer.
            async with http.ws_connect(f"{settings.base_url}{DESK}", headers=headers) as ws:
                assert (await next_frame(ws, "state"))["state"] == "offered"
                again = await next_frame(ws, "offer", seconds=15)
                await ws.send_json({"type": "decline", "call_sid": again["call_sid"]})
                await next_frame(ws, "state", state="available", seconds=15)
            return first, again

        call = _call(settings, api_port, wait=8.0, hang_up_waiting=True)
        _, (first, again) = await asyncio.gather(run_simulated_call(call, log=lambda _line: None), agent())
    # The same frame (its times the same instants, read back from the store in UTC).
    times = ("offered_at", "expires_at")
    assert {k: v for k, v in again.items() if k not in times} == {k: v for k, v in first.items() if k not in times}
    assert all(datetime.fromisoformat(again[k]) == datetime.fromisoformat(first[k]) for k in times)
    assert again["customer"]["segment"] == "key" and again["caller_status"] == "known"
    [offer] = [o for o in offers_of(engine) if o.call_sid == first["call_sid"]]
    assert (offer.staff_id, offer.outcome) == (org.staff["agent.hq"], "declined")


async def test_an_offer_held_by_an_agent_gone_silent_goes_to_the_next_agent_at_once(
    aiohttp_client: Any, settings: Settings, engine: Any
) -> None:
    org = build_org(engine)
    install_default_menu(engine)
    add_callers(engine)
    clock = FakeClock(kst(BUSINESS_DAY))
    give_desks(engine, org.staff, {"agent.hq": clock.now - timedelta(hours=1), "agent.seocho": clock.now})
    app = create_app(settings, embedded_worker=False)
    app[desk.CLOCK] = clock
    # The heartbeat and the silence check run when the test says (below), not on their own clocks.
    app[TIMING] = DeskTiming(ping=5.0, beat=3600.0, check=3600.0, silence=1.0)
    app[DISTRIBUTOR_TIMING] = DistributorTiming(tick=0.05)
    client = await aiohttp_client(app)
    # The longest idle agent is available with no desk open (it went quiet); the other has their desk open.
    assert (await client.put(STATE, json={"state": "available"}, headers=org.auth("agent.hq"))).status == 200
    async with client.ws_connect(DESK, headers=org.auth("agent.seocho")) as ws:
        assert (await client.put(STATE, json={"state": "available"}, headers=org.auth("agent.seocho"))).status == 200
        sid = call_sid()
        await dial_and_choose(client, settings, sid, "ordinary")
        await until(lambda: [o.staff_id for o in offers_of(engine)] == [org.staff["agent.hq"]])
        clock.now += timedelta(seconds=2)
        assert await beat_open_desks(app) == 1  # agent.seocho's desk is alive; agent.hq's has said nothing
        silenced = await silence_quiet_desks(app)
        assert [(s.staff_id, s.offered_call_sid) for s in silenced] == [(org.staff["agent.hq"], sid)]
        offer = await next_frame(ws, "offer", seconds=10)
        assert offer["call_sid"] == sid
    held = [(o.staff_id, o.outcome) for o in offers_of(engine)]
    assert held[0] == (org.staff["agent.hq"], "silenced") and held[1][0] == org.staff["agent.seocho"]
    assert agent_row(engine, org.staff["agent.hq"]).state == "offline"


async def test_an_agent_endpoint_that_does_not_answer_puts_the_caller_back_in_line(
    aiohttp_client: Any, settings: Settings, engine: Any
) -> None:
    org = build_org(engine)
    install_default_menu(engine)
    add_callers(engine)
    give_desks(engine, org.staff, {"agent.hq": utcnow() - timedelta(hours=1)})
    stand_in = TwilioStandIn(settings.twilio_account_sid, settings.twilio_auth_token)
    app = create_app(settings.model_copy(update={"twilio_api_base": await stand_in.start()}), embedded_worker=False)
    app[DISTRIBUTOR_TIMING] = DistributorTiming(tick=0.05)
    client = await aiohttp_client(app)
    try:
        sid = call_sid()
        stand_in.add_call(sid)
        async with client.ws_connect(DESK, headers=org.auth("agent.hq")) as ws:
            assert (await client.put(STATE, json={"state": "available"}, headers=org.auth("agent.hq"))).status == 200
            enqueued = await dial_and_choose(client, settings, sid, "ordinary")
            await next_frame(ws, "offer", call_sid=sid)
            await ws.send_json({"type": "accept", "call_sid": sid})
            await next_frame(ws, "call", call_sid=sid, state="connected")
            again = await dial_ended(client, settings, sid, "ordinary", status="no-answer")
            await next_frame(ws, "state", state="break")
        # The caller waits again in the same queue, in their place; the agent who did not answer is on break.
        assert again.find("Enqueue").text == enqueued.find("Enqueue").text  # type: ignore[union-attr]
        waiting = waiting_calls(engine)[sid]
        assert (waiting.state, waiting.agent_id, waiting.answered_at) == ("waiting", None, None)
        assert agent_row(engine, org.staff["agent.hq"]).state == "break"
        assert [o.outcome for o in offers_of(engine)] == ["failed"]
    finally:
        await stand_in.stop()
