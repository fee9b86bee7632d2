"""The whole walk of a call on PostgreSQL and Redis with the real distributor, in headless Chromium: an agent signs in
to the desk and becomes available; a simulated caller (the simulator's Twilio player, the REST stand-in as
TWILIO_API_BASE) presses the accident key and waits; the offer's screen pop shows who is calling (name, segment, the
blacklist flag, the time left to accept) before the agent accepts; accepted, the caller is redirected to the <Dial>
of the agent's endpoint and the desk shows the call connected; the agent files an accident report during the call
(a claim, on the call's work); the conversation ends, the agent wraps up and is available again. And the offers that
leave the desk: one not accepted in time, one whose caller hangs up, each clearing the screen pop with its reason.
And a caller who hangs up while waiting: the call-back task shows on the open desk at once, and the agent closes it."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlmodel import Session, col, select

from crm_store.customers.tables import Claim, Customer
from crm_store.db import make_engine
from crm_store.desk.call_work import CallWork
from crm_store.desk.tables import CallbackTask
from gateway import desk, labels
from gateway.app import create_app
from gateway.desk_distributor import DISTRIBUTOR_TIMING, DistributorTiming
from gateway.simulator import CallPlayer, SimulatedCall, TwilioPlayer, twiml_root
from gateway.twilio_stand_in import TwilioStandIn
from tests.browser.test_console_labels_browser import RAW_CODE
from tests.customer_helpers import SECRET
from tests.desk_call_helpers import agent_state, policy_of
from tests.desk_calls import dial_and_choose, give_desks, hang_up
from tests.desk_helpers import BUSINESS_DAY, caller_number, install_default_menu, kst
from tests.fake_clock import FakeClock
from tests.processes import free_port
from tests.review_helpers import INSIDE_NAME, PASSWORD, add_customers_and_calls, build_world
from tests.twilio_helpers import call_params, call_sid, post_signed
from workers.settings import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, Settings

pytestmark = pytest.mark.integration

INSIDE_PHONE = "+821011112222"  # the blacklisted customer of agent.seocho's branch (tests.review_helpers)
AGENT = "agent.seocho"


@dataclass
class Walk:
    """The gateway (PostgreSQL, Redis, its real distributor on the test's clock), Twilio's REST stand-in, the review
    world with agent.seocho's desk profile."""

    base: str
    settings: Settings
    engine: Any
    stand_in: TwilioStandIn
    client: Any
    clock: FakeClock
    agent: int
    inside: int
    segment: str


@pytest.fixture
async def walk(
    postgres_url: str, redis_url: str, aiohttp_server: Any, aiohttp_client: Any, tmp_path: Any
) -> AsyncIterator[Walk]:
    stand_in = TwilioStandIn(DEV_ACCOUNT_SID, DEV_AUTH_TOKEN)
    api_base = await stand_in.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings.from_env(
        {
            "DATABASE_URL": postgres_url,
            "REDIS_URL": redis_url,
            "HOTLINE_SECRET_KEY": SECRET,
            "HOTLINE_DATA_DIR": str(tmp_path),
            "TWILIO_API_BASE": api_base,
            "PUBLIC_BASE_URL": base,
        }
    )
    engine = make_engine(postgres_url)
    clock = FakeClock(kst(BUSINESS_DAY))
    try:
        world = build_world(engine)
        install_default_menu(engine)  # read by the gateway when it starts
        app = create_app(settings, embedded_worker=False)
        app[desk.CLOCK] = clock
        app[DISTRIBUTOR_TIMING] = DistributorTiming(tick=0.1)
        client = await aiohttp_client(await aiohttp_server(app, host="127.0.0.1", port=port))
        await add_customers_and_calls(client, world, engine)
        agent = int(world.staff[AGENT]["id"])
        give_desks(engine, {AGENT: agent}, {AGENT: clock.now - timedelta(hours=1)})
        inside = world.customers["inside"]
        with Session(engine) as session:
            customer = session.get(Customer, inside)
            assert customer is not None
            segment = labels.SEGMENTS[customer.segment]
        yield Walk(base, settings, engine, stand_in, client, clock, agent, inside, segment)
    finally:
        await stand_in.stop()
        engine.dispose()


async def _shows(page: Any, selector: str, text: str) -> None:
    await page.wait_for_selector(f"{selector}:text-is('{text}')")


async def _at_the_desk(browser: Any, walk: Walk) -> tuple[Any, list[str]]:
    """agent.seocho signed in and landed on the desk, its socket connected; the page and its script errors."""
    page = await (await browser.new_context()).new_page()
    failures: list[str] = []
    page.on("pageerror", lambda err: failures.append(str(err)))
    await page.goto(f"{walk.base}/console/login")
    await page.fill("#username", AGENT)
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{walk.base}/console/desk")
    await page.wait_for_selector("#connection.connected")
    return page, failures


async def _available_at_the_desk(browser: Any, walk: Walk) -> tuple[Any, list[str]]:
    """agent.seocho at the desk and available; the page and its script errors."""
    page, failures = await _at_the_desk(browser, walk)
    await page.click("#state-available")
    await _shows(page, "#agent-state", "대기")
    assert agent_state(walk.engine, walk.agent)[0] == "available"
    return page, failures


async def test_a_caller_walks_from_the_menu_to_an_agent_who_files_the_report(walk: Walk, browser: Any) -> None:
    engine, stand_in, settings, agent, inside = walk.engine, walk.stand_in, walk.settings, walk.agent, walk.inside
    base = walk.base
    page, failures = await _available_at_the_desk(browser, walk)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
        call = SimulatedCall(
            base_url=base,
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            from_number=INSIDE_PHONE,
            to_number="+8215881234",
            audio=None,
            api_token=None,
            press="1",
            timeout=60,
            talk=0,
        )
        player = CallPlayer(call, TwilioPlayer(http, base, call.auth_token), lambda _line: None)
        sid = player.call_sid

        # The caller dials, hears the menu, presses 1 (사고 접수) and waits in the accident queue.
        await player.progress("initiated")
        status, body = await player.twilio.post("/twilio/voice", {**player.base, "CallStatus": "ringing"})
        assert status == 200, body
        await player.progress("in-progress")
        root = await player.menu(twiml_root(body))
        enqueue = root.find("Enqueue")
        assert enqueue is not None and enqueue.text == "accident", ET.tostring(root, encoding="unicode")
        waiting = asyncio.create_task(player.wait_in_queue(enqueue, stand_in))

        # The offer pops the screen before anything is accepted: who is calling, their segment, the blacklist flag.
        await page.wait_for_selector("#pop-customer", state="visible")
        await _shows(page, "#call-state", "호 제안")
        assert await page.inner_text("#pop-name") == INSIDE_NAME
        assert await page.inner_text("#pop-segment") == walk.segment
        assert await page.locator("#pop-blacklist").is_visible()
        assert await page.inner_text("#call-caller") == "010-1111-2222"
        assert await page.inner_text("#call-queue") == "사고 접수·긴급 출동"
        pop = await page.inner_text("#screen-pop")
        assert not RAW_CODE.search(pop), RAW_CODE.search(pop)
        assert not stand_in.calls[sid].twiml  # nobody connected yet
        assert agent_state(engine, agent) == ("offered", sid)

        # Accepted: the caller is taken out of the queue to the agent's Twilio Client, recorded two-channel.
        await page.click("#accept")
        assert await waiting == "connected"
        [redirect] = [r for r in stand_in.requests if r.method == "POST"]
        assert redirect.path.endswith(f"/Calls/{sid}.json")
        dial = twiml_root(redirect.params["Twiml"]).find("Dial")
        assert dial is not None and dial.findtext("Client") == AGENT
        assert dial.get("record") == "record-from-answer-dual"
        await _shows(page, "#call-state", "통화 연결")
        assert agent_state(engine, agent) == ("on_call", sid)

        # During the call, the accident report: a claim of the caller's customer at once, on the call's work.
        policy, day = policy_of(engine, inside)
        await page.fill("#acc-occurred", f"{day.isoformat()}T08:30")
        await page.fill("#acc-place", "서울시 서초구 반포대로 58")
        await page.fill("#acc-what", "신호 대기 중 추돌")
        await page.select_option("#acc-policy", str(policy))
        await page.click("#acc-submit")
        await page.wait_for_selector("#work-log li.work-accident_report")
        with Session(engine) as session:
            [work] = session.exec(
                select(CallWork).where(col(CallWork.call_sid) == sid, col(CallWork.kind) == "accident_report")
            ).all()
            claim = session.get(Claim, work.records["claim_id"])
            assert claim is not None and (claim.customer_id, claim.policy_id) == (inside, policy)
            assert (work.customer_id, work.staff_id) == (inside, agent)
        assert f"사고 접수번호 {claim.claim_number}" in await page.inner_text("#work-log")
        assert agent_state(engine, agent) == ("on_call", sid)

        # The conversation ends (the agent hangs up: the <Dial> action), then the call.
        await player.converse(None)
        await player.progress("completed", CallDuration="30", Duration="1", SipResponseCode="200")

    # Wrap-up with the after-call work timer, then available again.
    await page.wait_for_selector("#acw", state="visible")
    await _shows(page, "#call-state", "통화 종료")
    assert agent_state(engine, agent) == ("wrap_up", sid)
    await page.select_option("#wrap-disposition", "report_taken")
    await page.click("#wrap-submit")
    await _shows(page, "#agent-state", "대기")
    assert await page.locator("#acw").is_hidden()
    assert await page.locator("#screen-pop").is_hidden()
    assert agent_state(engine, agent) == ("available", None)
    assert not failures, failures


async def test_offers_that_leave_the_desk_clear_the_screen_pop_with_the_reason(walk: Walk, browser: Any) -> None:
    page, failures = await _available_at_the_desk(browser, walk)

    # An unknown caller's offer: said plainly, with the time left to accept (Korea time).
    lapsed = call_sid()
    walk.stand_in.add_call(lapsed)
    await dial_and_choose(walk.client, walk.settings, lapsed, "ordinary")
    await page.wait_for_selector("#pop-unknown", state="visible")
    assert "등록되지 않은 번호" in await page.inner_text("#pop-unknown")
    deadline = walk.clock.now + timedelta(seconds=walk.settings.desk_reservation)
    assert await page.inner_text("#offer-deadline") == f"{deadline.astimezone(kst(BUSINESS_DAY).tzinfo):%H:%M:%S}"
    assert await page.locator("#call-note").is_hidden()

    # Not accepted within the reservation: the screen pop cleared, the reason said, the agent on break.
    walk.clock.now += timedelta(seconds=walk.settings.desk_reservation + 1)
    await page.wait_for_selector("#call-note:has-text('수락 시간이 지나')")
    await _shows(page, "#agent-state", "휴식")
    assert await page.locator("#screen-pop").is_hidden()
    assert await page.locator("#call-info").is_hidden()
    await hang_up(walk.client, walk.settings, lapsed, "ordinary")

    # Available again, offered the next caller, who hangs up before it is accepted: cleared, said so.
    await page.click("#state-available")
    gone = call_sid()
    walk.stand_in.add_call(gone)
    await dial_and_choose(walk.client, walk.settings, gone, "quality")
    await page.wait_for_selector("#offer-actions", state="visible")
    assert await page.locator("#call-note").is_hidden()
    await hang_up(walk.client, walk.settings, gone, "quality")
    await _shows(page, "#call-note", labels.OFFER_WITHDRAWN["abandoned"])
    assert await page.locator("#screen-pop").is_hidden()
    await _shows(page, "#agent-state", "대기")
    assert agent_state(walk.engine, walk.agent) == ("available", None)
    assert not failures, failures


async def test_an_abandoned_call_is_a_call_back_on_the_open_desk_and_the_agent_closes_it(
    walk: Walk, browser: Any
) -> None:
    page, failures = await _at_the_desk(browser, walk)
    await page.wait_for_selector("#callbacks-empty", state="visible")  # on break: no call is offered to them

    # A caller waits in the accident queue and hangs up after 75 s: the task shows on the open desk, no reload.
    gone = call_sid()
    walk.stand_in.add_call(gone)
    await dial_and_choose(walk.client, walk.settings, gone, "ordinary")
    walk.clock.now += timedelta(seconds=75)
    params = call_params(walk.settings, gone, status="completed", caller=caller_number("ordinary"),
                         QueueResult="hangup", QueueSid="QU" + "0" * 32, QueueTime="75")  # fmt: skip
    answer = await post_signed(walk.client, walk.settings, "/twilio/queue-result?queue=accident", params)
    assert answer.status == 200
    with Session(walk.engine) as session:
        task = session.exec(select(CallbackTask).where(col(CallbackTask.call_sid) == gone)).one()
    row = f"#callback-{task.id}"
    await page.wait_for_selector(row)
    cells = await page.locator(f"{row} td").all_inner_texts()
    assert cells[:6] == ["12-07 10:01", "사고 접수·긴급 출동", "대기 중 끊음", "010-1000-0001", "미확인 고객",
                         "1분 15초"]  # fmt: skip
    panel = await page.inner_text("#callbacks")
    assert not RAW_CODE.search(panel), RAW_CODE.search(panel)

    # Closed without an outcome: refused on the page; with one, gone from the list and stored with who and when.
    await page.click(f"{row} button[type=submit]")
    error = page.locator(f"{row} .form-errors")
    await error.wait_for(state="visible")
    assert "처리 결과" in await error.inner_text()
    await page.fill(f"#callback-outcome-{task.id}", "고객과 통화: 사고 접수 안내")
    await page.click(f"{row} button[type=submit]")
    await page.wait_for_selector(row, state="detached")
    await page.wait_for_selector("#callbacks-empty", state="visible")
    with Session(walk.engine) as session:
        done = session.get(CallbackTask, task.id)
        assert done is not None and done.outcome == "고객과 통화: 사고 접수 안내"
        assert done.done_by_id == walk.agent and done.done_at == walk.clock.now
    assert not failures, failures
