"""The whole walk of a call on the embedded defaults (SQLite, no Redis: what `bash scripts/run` uses), the agent's
desk driven over its WebSocket with aiohttp's client: the agent becomes available; a simulated caller (the
simulator's Twilio player, the REST stand-in as TWILIO_API_BASE) presses the accident key; the offer says who is
calling (the key customer's picture, the green channel) before it is accepted; accepted, the caller is redirected to
the <Dial> of the agent's endpoint and the desk told the call is connected; the agent files an accident report
during the call (a claim, on the call's work); the conversation ends, the agent wraps up and is available again."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import aiohttp
from sqlmodel import Session, col, select

from crm_store.customers.tables import Claim, Policy
from crm_store.desk.call_work import CallWork
from gateway import desk
from gateway.app import create_app
from gateway.desk_distributor import DISTRIBUTOR_TIMING, DistributorTiming
from gateway.simulator import CallPlayer, SimulatedCall, TwilioPlayer, twiml_root
from gateway.twilio_stand_in import TwilioStandIn
from tests.customer_helpers import build_org
from tests.desk_call_helpers import accident
from tests.desk_calls import agent_row, give_desks, next_frame
from tests.desk_helpers import BUSINESS_DAY, add_callers, caller_number, install_default_menu, kst
from tests.fake_clock import FakeClock
from tests.processes import free_port
from workers.settings import Settings

DESK = "/api/v1/desk/ws"
STATE = "/api/v1/agents/me/state"
ACCIDENT_DAY = date(2026, 6, 15)


def _policy(engine: Any, customer_id: int) -> int:
    with Session(engine) as session:
        policy = Policy(customer_id=customer_id, policy_number="AU-WALK-0001", line="auto", premium=500_000,
                        start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))  # fmt: skip
        session.add(policy)
        session.commit()
        assert policy.id is not None
        return policy.id


async def test_a_caller_walks_to_an_agent_who_files_the_report_on_the_embedded_defaults(
    aiohttp_server: Any, settings: Settings, engine: Any
) -> None:
    assert settings.redis_url is None and settings.sync_db_url.startswith("sqlite")
    org = build_org(engine)
    install_default_menu(engine)
    key_customer = add_callers(engine)["key"]
    policy = _policy(engine, key_customer)
    clock = FakeClock(kst(BUSINESS_DAY))
    give_desks(engine, org.staff, {"agent.hq": clock.now - timedelta(hours=1)})
    stand_in = TwilioStandIn(settings.twilio_account_sid, settings.twilio_auth_token)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    public = settings.model_copy(update={"public_base_url": base, "twilio_api_base": await stand_in.start()})
    app = create_app(public, embedded_worker=False)
    app[desk.CLOCK] = clock
    app[DISTRIBUTOR_TIMING] = DistributorTiming(tick=0.05)
    await aiohttp_server(app, host="127.0.0.1", port=port)
    headers = org.auth("agent.hq")
    try:
        async with aiohttp.ClientSession(base_url=base, timeout=aiohttp.ClientTimeout(total=15)) as http:
            # The agent becomes available, their desk open.
            answer = await http.put(STATE, json={"state": "available"}, headers=headers)
            assert answer.status == 200 and (await answer.json())["endpoint"] == "client:agent.hq"
            async with http.ws_connect(DESK, headers=headers) as ws:
                call = SimulatedCall(
                    base_url=base, account_sid=public.twilio_account_sid, auth_token=public.twilio_auth_token,
                    from_number=caller_number("key"), to_number="+8215881234", audio=None, api_token=None,
                    press="1", timeout=30, talk=0,
                )  # fmt: skip
                player = CallPlayer(call, TwilioPlayer(http, base, call.auth_token), lambda _line: None)
                sid = player.call_sid

                # The caller presses 1 (사고 접수) and waits in the accident queue.
                await player.progress("initiated")
                status, body = await player.twilio.post("/twilio/voice", {**player.base, "CallStatus": "ringing"})
                assert status == 200, body
                enqueue = (await player.menu(twiml_root(body))).find("Enqueue")
                assert enqueue is not None and enqueue.text == "accident"
                waiting = asyncio.create_task(player.wait_in_queue(enqueue, stand_in))

                # The offer says who is calling before anything is accepted.
                offer = await next_frame(ws, "offer", call_sid=sid)
                assert offer["caller_status"] == "known" and offer["customer"]["id"] == key_customer
                assert offer["customer"]["segment"] == "key" and offer["green_channel"] is True
                assert offer["caller"] == caller_number("key") and offer["queue"] == "accident"
                assert offer["expires_at"] == (clock.now + timedelta(seconds=public.desk_reservation)).isoformat()
                assert not stand_in.calls[sid].twiml

                # Accepted: the caller is redirected to the agent's Twilio Client; the desk says connected.
                await ws.send_json({"type": "accept", "call_sid": sid})
                await next_frame(ws, "call", call_sid=sid, state="connected")
                assert await waiting == "connected"
                dial = twiml_root(stand_in.calls[sid].twiml[-1]).find("Dial")
                assert dial is not None and dial.findtext("Client") == "agent.hq"
                held = agent_row(engine, org.staff["agent.hq"])
                assert (held.state, held.call_sid) == ("on_call", sid)

                # During the call, the accident report: the claim at once, on the call's work.
                answer = await http.post(
                    f"/api/v1/desk/calls/{sid}/accident-report", json=accident(policy, ACCIDENT_DAY), headers=headers
                )
                assert answer.status == 201, await answer.text()
                records = (await answer.json())["entry"]["records"]
                with Session(engine) as session:
                    claim = session.get(Claim, records["claim_id"])
                    assert claim is not None and (claim.customer_id, claim.policy_id) == (key_customer, policy)
                    assert claim.claim_number == records["claim_number"] and claim.occurred_on == ACCIDENT_DAY
                    kinds = session.exec(select(CallWork.kind).where(col(CallWork.call_sid) == sid)).all()
                    assert list(kinds) == ["accident_report"]

                # The conversation ends: wrap-up; the agent files it and is available again.
                await player.converse(None)
                await next_frame(ws, "call", call_sid=sid, state="ended")
                await player.progress("completed", CallDuration="30", Duration="1", SipResponseCode="200")
                assert agent_row(engine, org.staff["agent.hq"]).state == "wrap_up"
                answer = await http.post(
                    f"/api/v1/desk/calls/{sid}/wrap-up", json={"disposition": "report_taken"}, headers=headers
                )
                assert answer.status == 201, await answer.text()
                await next_frame(ws, "state", state="available")
        agent = agent_row(engine, org.staff["agent.hq"])
        assert (agent.state, agent.call_sid) == ("available", None)
    finally:
        await stand_in.stop()
