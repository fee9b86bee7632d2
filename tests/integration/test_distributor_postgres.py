"""The call distributor on PostgreSQL and Redis with two gateways in this process (each with its own distributor,
both passing at once): agents on different gateways, a green-channel caller who overtakes, an offer declined, one
left unanswered (the agent on break, audited), a caller who hangs up while offered, a connection Twilio refuses
(the call offered again), the conversation connected through Twilio's REST stand-in and ended (wrap-up); and a call
whose chosen agent another transaction held, offered once the row is let go (not at the next tick)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.db import make_engine
from crm_store.desk.tables import WaitingCall
from gateway import desk
from gateway.app import create_app
from gateway.desk_distributor import DISTRIBUTOR_TIMING, DistributorTiming
from gateway.desk_socket import TIMING, DeskTiming
from gateway.keys import METRICS
from gateway.twilio_stand_in import TwilioStandIn
from tests.customer_helpers import SECRET, build_org
from tests.desk_calls import agent_row, dial_and_choose, dial_ended, give_desks, hang_up, next_frame, offers_of
from tests.desk_helpers import BUSINESS_DAY, add_callers, callbacks, install_default_menu, kst, waiting_calls
from tests.fake_clock import FakeClock
from tests.live_helpers import until
from tests.twilio_helpers import call_sid
from workers.settings import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, Settings

pytestmark = pytest.mark.integration

DESK = "/api/v1/desk/ws"
STATE = "/api/v1/agents/me/state"


async def test_two_gateways_distribute_three_calls(
    aiohttp_client: Any, postgres_url: str, redis_url: str, tmp_path: Any
) -> None:
    stand_in = TwilioStandIn(DEV_ACCOUNT_SID, DEV_AUTH_TOKEN)
    base = await stand_in.start()
    settings = Settings.from_env(
        {
            "DATABASE_URL": postgres_url,
            "REDIS_URL": redis_url,
            "HOTLINE_SECRET_KEY": SECRET,
            "HOTLINE_DATA_DIR": str(tmp_path),
            "TWILIO_API_BASE": base,
            "PUBLIC_BASE_URL": "https://hotline.example.com",
        }
    )
    clock = FakeClock(kst(BUSINESS_DAY))
    engine = make_engine(postgres_url)
    gateways: list[Any] = []
    try:
        org = build_org(engine)
        install_default_menu(engine)
        add_callers(engine)  # customers of the head office: in agent.hq's scope, not in agent.seocho's
        hq, seocho = org.staff["agent.hq"], org.staff["agent.seocho"]
        give_desks(engine, org.staff, {"agent.hq": clock.now - timedelta(hours=2), "agent.seocho": clock.now})
        for _ in range(2):
            app = create_app(settings, embedded_worker=False)
            app[desk.CLOCK] = clock
            app[DISTRIBUTOR_TIMING] = DistributorTiming(tick=0.05, connect_grace=15.0)
            # The fixed clock moves past the desks' silence below: no silence check on real time's beat here.
            app[TIMING] = DeskTiming(beat=3600.0, check=3600.0)
            gateways.append(await aiohttp_client(app))
        one, two = gateways
        sids = {segment: call_sid() for segment in ("ordinary", "inferior", "key")}
        for sid in sids.values():
            stand_in.add_call(sid)

        async with (
            one.ws_connect(DESK, headers=org.auth("agent.hq")) as hq_desk,
            two.ws_connect(DESK, headers=org.auth("agent.seocho")) as seocho_desk,
        ):
            # Three calls wait while both agents are on break: an ordinary caller, a blacklisted one, then a key
            # customer (the green channel).
            for segment in ("ordinary", "inferior", "key"):
                clock.now += timedelta(seconds=1)
                await dial_and_choose(one if segment != "inferior" else two, settings, sids[segment], segment)
            assert all(not o for o in [offers_of(engine)])

            # The first agent available gets the key customer, who overtakes the two who waited longer.
            assert (await one.put(STATE, json={"state": "available"}, headers=org.auth("agent.hq"))).status == 200
            offer = await next_frame(hq_desk, "offer")
            assert offer["call_sid"] == sids["key"]
            assert (offer["queue"], offer["priority"], offer["green_channel"]) == ("accident", 20, True)
            assert offer["caller_status"] == "known" and offer["customer"]["segment"] == "key"
            assert offer["caller"] == "+821010000003"
            assert agent_row(engine, hq).state == "offered" and agent_row(engine, hq).call_sid == sids["key"]

            # The second, on the other gateway, gets the longest-waiting of the others; the customer is out of
            # their scope: no picture, and it says so.
            assert (await two.put(STATE, json={"state": "available"}, headers=org.auth("agent.seocho"))).status == 200
            offer = await next_frame(seocho_desk, "offer")
            assert offer["call_sid"] == sids["ordinary"]
            assert (offer["customer"], offer["caller_status"]) == (None, "out_of_scope")
            assert offer["caller_note"]

            # The first accepts: on the call, the caller taken out of the queue to the agent's client, streamed and
            # recorded two-channel.
            await hq_desk.send_json({"type": "accept", "call_sid": sids["key"]})
            await next_frame(hq_desk, "call", call_sid=sids["key"], state="connected")
            redirect = stand_in.calls[sids["key"]].twiml[-1]
            assert '<Stream track="both_tracks" url="wss://hotline.example.com/twilio/media"' in redirect
            assert 'record="record-from-answer-dual"' in redirect and "<Client>agent.hq</Client>" in redirect
            assert 'recordingStatusCallback="https://hotline.example.com/twilio/recording"' in redirect
            assert agent_row(engine, hq).state == "on_call" and agent_row(engine, hq).call_sid == sids["key"]

            # The second lets the offer lapse: on break (audited), the call waits again; nobody else is free.
            clock.now += timedelta(seconds=settings.desk_reservation + 1)
            withdrawn = await next_frame(seocho_desk, "offer_withdrawn")
            assert (withdrawn["call_sid"], withdrawn["reason"]) == (sids["ordinary"], "timed_out")
            assert agent_row(engine, seocho).state == "break"
            with Session(engine) as session:
                target = col(AuditEntry.target) == f"staff:{seocho}"
                audited = session.exec(select(AuditEntry).where(col(AuditEntry.action) == "agent.state", target)).all()
            assert any(entry.detail.get("offer") == "timed_out" for entry in audited)  # type: ignore[union-attr]

            # Back from break, the second agent is not offered the call they let lapse, but the blacklisted caller's:
            # out of their scope (no picture), the blacklist flag shown all the same.
            assert (await two.put(STATE, json={"state": "available"}, headers=org.auth("agent.seocho"))).status == 200
            offer = await next_frame(seocho_desk, "offer")
            assert offer["call_sid"] == sids["inferior"]
            assert (offer["customer"], offer["caller_status"], offer["blacklisted"]) == (None, "out_of_scope", True)
            assert "블랙리스트" in offer["caller_note"]
            # That caller hangs up while offered: the agent is told and available again; a call-back task is left.
            await hang_up(one, settings, sids["inferior"], "inferior")
            await next_frame(seocho_desk, "call", call_sid=sids["inferior"], state="abandoned")
            await next_frame(seocho_desk, "state", state="available")
            assert any(task.call_sid == sids["inferior"] for task in callbacks(engine))

            # The first agent's conversation ends: wrap-up, the handling time stored; available again by choice.
            clock.now += timedelta(seconds=40)
            assert (await dial_ended(one, settings, sids["key"], "key")).find("Hangup") is not None
            await next_frame(hq_desk, "call", call_sid=sids["key"], state="ended")
            assert agent_row(engine, hq).state == "wrap_up" and agent_row(engine, hq).call_sid == sids["key"]
            assert (await one.put(STATE, json={"state": "available"}, headers=org.auth("agent.hq"))).status == 200

            # The remaining call goes to the first agent; Twilio refuses the first connection: waiting again,
            # offered again, connected the second time.
            offer = await next_frame(hq_desk, "offer", call_sid=sids["ordinary"])
            stand_in.fail_next(500)
            await hq_desk.send_json({"type": "accept", "call_sid": sids["ordinary"]})
            await next_frame(hq_desk, "offer_withdrawn", call_sid=sids["ordinary"], reason="failed")
            await next_frame(hq_desk, "offer", call_sid=sids["ordinary"])
            await hq_desk.send_json({"type": "accept", "call_sid": sids["ordinary"]})
            await next_frame(hq_desk, "call", call_sid=sids["ordinary"], state="connected")
            # A second accept of the same call is refused.
            await hq_desk.send_json({"type": "accept", "call_sid": sids["ordinary"]})
            assert (await next_frame(hq_desk, "error"))["call_sid"] == sids["ordinary"]

        calls = waiting_calls(engine)
        assert {sid: calls[sid].state for sid in sids.values()} == {
            sids["key"]: "connected",
            sids["ordinary"]: "connected",
            sids["inferior"]: "abandoned",
        }
        key_call: WaitingCall = calls[sids["key"]]
        assert key_call.agent_id == hq and key_call.answered_at is not None and key_call.ended_at is not None
        assert (key_call.ended_at - key_call.answered_at) == timedelta(seconds=settings.desk_reservation + 1 + 40)
        # Never two open offers of one call, never two for one agent at once; each accepted call connected once.
        made = offers_of(engine)
        assert all(o.outcome is not None for o in made)
        outcomes = [(o.call_sid, o.staff_id, o.outcome) for o in made]
        assert outcomes.count((sids["ordinary"], hq, "connected")) == 1
        assert outcomes.count((sids["key"], hq, "connected")) == 1
        assert (sids["ordinary"], seocho, "timed_out") in outcomes
        assert (sids["inferior"], seocho, "abandoned") in outcomes
        for sid in sids.values():
            of_call = [o for o in made if o.call_sid == sid]
            for earlier, later in zip(of_call, of_call[1:], strict=False):
                assert earlier.answered_at is not None and earlier.answered_at <= later.offered_at
        counted = {
            outcome: sum(
                g.app[METRICS].registry.get_sample_value(
                    "hotline_desk_offers_total", {"queue": "accident", "outcome": outcome}
                )
                or 0
                for g in gateways
            )
            for outcome in ("made", "accepted", "timed_out", "abandoned", "failed")
        }
        assert counted == {"made": 5, "accepted": 3, "timed_out": 1, "abandoned": 1, "failed": 1}
    finally:
        for client in gateways:
            await client.close()
        await stand_in.stop()
        engine.dispose()


async def test_a_call_whose_agent_another_transaction_held_is_offered_once_it_is_let_go(
    aiohttp_client: Any, postgres_url: str, tmp_path: Any
) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": postgres_url, "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_DATA_DIR": str(tmp_path)}
    )
    clock = FakeClock(kst(BUSINESS_DAY))
    engine = make_engine(postgres_url)
    try:
        org = build_org(engine)
        install_default_menu(engine)
        add_callers(engine)
        hq = org.staff["agent.hq"]
        give_desks(engine, org.staff, {"agent.hq": clock.now - timedelta(hours=1)})
        app = create_app(settings, embedded_worker=False)
        app[desk.CLOCK] = clock
        # No pass on the clock in this test: only a call queued, an agent available or the distributor's own
        # "pass again" starts one.
        app[DISTRIBUTOR_TIMING] = DistributorTiming(tick=3600.0)
        client = await aiohttp_client(app)
        assert (await client.put(STATE, json={"state": "available"}, headers=org.auth("agent.hq"))).status == 200
        sid = call_sid()
        # Another transaction (another gateway's pass, the heartbeat statement) holds the agent's row when the call
        # is queued: the pass chooses the agent and passes over the row.
        with engine.connect() as other:
            held = other.begin()
            other.exec_driver_sql("SELECT staff_id FROM desk_agent WHERE staff_id = %s FOR UPDATE", (hq,))
            await dial_and_choose(client, settings, sid, "ordinary")
            await asyncio.sleep(0.3)
            assert offers_of(engine) == [] and waiting_calls(engine)[sid].state == "waiting"
            held.commit()
        # Let go: offered shortly, without another call, agent or tick to wake the distributor.
        await until(lambda: [(o.call_sid, o.staff_id) for o in offers_of(engine)] == [(sid, hq)], seconds=5.0)
        assert agent_row(engine, hq).state == "offered"
    finally:
        engine.dispose()
