"""`hotline simulate-call` through the desk against the gateway in this process: a key pressed, the wait, a
hang-up while waiting; and a call taken out of the queue through the stand-in for Twilio's REST API."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway import desk
from gateway.app import create_app
from gateway.simulator import SimulatedCall, run_simulated_call
from telephony.twilio_rest import TwilioRest
from tests.desk_helpers import (
    BUSINESS_DAY,
    callbacks,
    caller_number,
    install_desk,
    kst,
    queue_id,
    waiting_calls,
)
from tests.fake_clock import FakeClock
from tests.processes import free_port
from workers.settings import Settings


@pytest.fixture
async def gateway(aiohttp_server: Any, settings: Settings, engine: Any) -> Settings:
    """The gateway on a known port, its public base URL that port (so Twilio's signatures match)."""
    install_desk(engine)
    port = free_port()
    public = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    app = create_app(public, embedded_worker=False)
    app[desk.CLOCK] = FakeClock(kst(BUSINESS_DAY))
    await aiohttp_server(app, host="127.0.0.1", port=port)
    return public


def _call(settings: Settings, **options: Any) -> SimulatedCall:
    return SimulatedCall(
        base_url=settings.base_url,
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        from_number=caller_number("quality"),
        to_number="+8215881234",
        audio=None,
        api_token=None,
        **options,
    )


async def test_press_a_key_wait_and_hang_up(gateway: Settings, engine: Any) -> None:
    lines: list[str] = []
    record = await run_simulated_call(_call(gateway, press="3", wait=0.3, hang_up_waiting=True), log=lines.append)
    simulation = record["_simulation"]
    assert simulation["outcome"] == "abandoned"
    assert simulation["steps"][0] == "press 3" and simulation["steps"][-1] == "queue result hangup"
    assert "wait in complaint" in simulation["steps"]
    assert any("대기 순서는 첫 번째" in line for line in lines)
    waiting = waiting_calls(engine)[simulation["call_sid"]]
    assert (waiting.state, waiting.priority, waiting.queue_id) == ("abandoned", 10, queue_id(engine, "complaint"))
    [task] = callbacks(engine)
    assert task.call_sid == simulation["call_sid"] and task.reason == "abandoned"


async def test_a_call_taken_out_of_the_queue_through_twilios_rest_api(gateway: Settings, engine: Any) -> None:
    api_port = free_port()
    twiml = "<Response><Dial><Client>agent-kim</Client></Dial></Response>"

    async def agent_takes_the_call() -> str:
        for _ in range(200):
            waiting = await asyncio.to_thread(waiting_calls, engine)
            if waiting:
                sid = next(iter(waiting))
                rest = TwilioRest.for_asyncio(
                    account_sid=gateway.twilio_account_sid,
                    auth_token=gateway.twilio_auth_token,
                    base_url=f"http://127.0.0.1:{api_port}",
                )
                try:
                    await rest.redirect_call_async(sid, twiml)
                finally:
                    await rest.close_async()
                return sid
            await asyncio.sleep(0.05)
        raise AssertionError("the call never waited in a queue")

    call = _call(gateway, press="1", timeout=20, twilio_api_port=api_port)
    record, sid = await asyncio.gather(run_simulated_call(call, log=lambda _line: None), agent_takes_the_call())
    simulation = record["_simulation"]
    assert simulation["outcome"] == "connected" and simulation["call_sid"] == sid
    assert simulation["steps"][-1] == "queue result redirected"
    [request] = simulation["twilio_api_requests"]
    assert request["params"] == {"Twiml": twiml}
    assert request["path"].endswith(f"/Calls/{sid}.json")
    assert waiting_calls(engine)[sid].state == "left"
    assert callbacks(engine) == []
