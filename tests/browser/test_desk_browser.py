"""The agent's desk in real headless Chromium: an agent signs in and lands on the desk, chooses to be available, keeps
the desk across a dropped socket, receives the screen pop of an offer at once (an unknown caller said plainly, a
frame of an unknown type ignored), searches the customer and links the caller during the connected call (the
blacklist flag and the policies show), files an accident report (a claim notice at once), and wraps up with a
disposition after the call ended, the after-call work timer shown, ending available.

The distributor's part is played by the test: its frames are published on the agent's channel (send_to_agent) and
the agent's desk state set as it would leave it."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import WSCloseCode
from sqlmodel import Session, col, select

from crm_store.customers.tables import Claim
from crm_store.desk.call_work import CallWork
from gateway.desk_socket import CHANNELS
from gateway.keys import REDIS
from tests.browser.test_console_labels_browser import RAW_CODE
from tests.desk_call_helpers import CALLER, agent_state, hold, policy_of, sign_in_at_desk, unknown_call, watched_page
from tests.review_helpers import INSIDE_NAME, World
from workers.desk_channel import send_to_agent


async def _connected(page: Any) -> None:
    await page.wait_for_selector("#connection.connected")


async def _shows(page: Any, selector: str, text: str) -> None:
    """Wait until the element reads exactly this (the page's CSP forbids evaluating strings)."""
    await page.wait_for_selector(f"{selector}:text-is('{text}')")


async def test_an_agent_takes_a_call_at_the_desk(world_client: tuple[World, Any], engine: Any, browser: Any) -> None:
    world, client = world_client
    base = str(client.make_url("")).rstrip("/")
    agent = int(world.staff["agent.seocho"]["id"])
    redis = client.app[REDIS]
    page, failures = await watched_page(browser)

    # Signing in, an agent lands on the desk; the desk's socket opens (the page's CSP lets it).
    await sign_in_at_desk(page, base)
    assert await page.locator("#desk-link").count() == 1
    # A call may be transferred to the agent's own unit or a level above it (head office first), or to no unit.
    levels = await page.locator("#trf-unit option").all_text_contents()
    assert levels == ["지정 없음 (대기열의 모든 상담원)", "본사", "서울지역본부", "서울강남지점", "서초구지점"]
    await page.click("#state-available")
    await _shows(page, "#agent-state", "대기")
    assert agent_state(engine, agent)[0] == "available"

    # A socket dropped by the server: the desk says so and connects again by itself.
    desks = client.app[CHANNELS].every_desk()
    await asyncio.gather(*(desk.close(WSCloseCode.GOING_AWAY, b"restart") for desk in desks))
    await page.wait_for_selector("#connection.error")
    await _connected(page)
    for _ in range(100):  # the new socket is subscribed once the server holds it
        if client.app[CHANNELS].open_for(agent):
            break
        await asyncio.sleep(0.05)

    # Frames of a type the desk does not know yet are ignored; the offer pops the screen at once.
    sid = unknown_call(engine)
    send_to_agent(redis, agent, {"type": "transcript", "call_sid": sid, "text": "여보세요"})
    offer = {"type": "offer", "call_sid": sid, "queue": "accident", "priority": 0, "caller": CALLER,
             "customer": None, "unknown": True, "blacklisted": False}  # fmt: skip
    send_to_agent(redis, agent, offer)
    await page.wait_for_selector("#pop-unknown", state="visible")
    assert "미확인 고객" in await page.inner_text("#pop-unknown")
    assert await page.inner_text("#call-caller") == "010-5555-6666"
    assert await page.inner_text("#call-state") == "호 제안"
    assert await page.locator("#accept").is_visible()
    assert await page.locator("#desk-error").is_hidden()
    assert await page.locator("#acc-submit").is_disabled()

    # Accepted and connected (the distributor's doing): the forms open.
    hold(engine, agent, sid, "on_call")
    send_to_agent(redis, agent, {"type": "call", "call_sid": sid, "state": "connected"})
    await _shows(page, "#call-state", "통화 연결")
    assert await page.locator("#acc-submit").is_enabled()

    # A claim of the customer whose survey report is filed (crm_store.dispatch.reports): the pop says so in Korean.
    surveyed_policy, surveyed_day = policy_of(engine, world.customers["inside"])
    with Session(engine) as session:
        session.add(Claim(customer_id=world.customers["inside"], policy_id=surveyed_policy, claim_number="CL-SURVEYED",
                          occurred_on=surveyed_day, stage="survey_reported"))  # fmt: skip
        session.commit()

    # The customer found by name and linked: the picture with the blacklist flag and the policies.
    await page.fill("#search-q", INSIDE_NAME)
    await page.press("#search-q", "Enter")
    await page.wait_for_selector("#search-results button.link-customer")
    assert "이름" in await page.inner_text("#search-results")
    await page.click("#search-results button.link-customer")
    await page.wait_for_selector("#pop-customer", state="visible")
    assert await page.locator("#pop-blacklist").is_visible()
    assert await page.inner_text("#pop-name") == INSIDE_NAME
    assert "화재" in await page.inner_text("#pop-policies")
    assert "CL-SURVEYED" in (claims := await page.inner_text("#pop-claims")) and "손해사정 보고 완료" in claims
    pop = await page.inner_text("#screen-pop")
    assert "블랙리스트" in pop and not RAW_CODE.search(pop), RAW_CODE.search(pop)

    # The accident report: refused without its place (the error on the page), then filed.
    policy, day = policy_of(engine, world.customers["inside"])
    await page.fill("#acc-occurred", f"{day.isoformat()}T08:30")
    await page.fill("#acc-what", "신호 대기 중 추돌")
    await page.select_option("#acc-policy", str(policy))
    await page.select_option("#acc-injured-role", "driver")
    await page.fill("#acc-injured-condition", "목 통증")
    await page.fill("#acc-plate", "12가3456")
    await page.locator("#acc-place").evaluate("input => input.removeAttribute('required')")
    await page.click("#acc-submit")
    error = page.locator("#form-accident .form-errors")
    await error.wait_for(state="visible")
    assert "입력값을 확인하세요" in await error.inner_text() and "사고 장소" in await error.inner_text()
    await page.fill("#acc-place", "서울시 서초구 반포대로 58")
    await page.click("#acc-submit")
    await page.wait_for_selector("#work-log li.work-accident_report")
    logged = await page.inner_text("#work-log")
    assert "사고 접수번호 CL-" in logged and "고객 연결" in logged
    assert await error.is_hidden()
    with Session(engine) as session:
        claim = session.exec(select(Claim).order_by(col(Claim.id).desc())).first()
        assert claim is not None and claim.claim_number in logged and claim.occurred_on == day
        kinds = session.exec(select(CallWork.kind).where(col(CallWork.call_sid) == sid).order_by(col(CallWork.id)))
        assert list(kinds.all()) == ["link", "accident_report"]

    # A complaint taken during the call shows among the caller's open complaints at once.
    assert "없음" in await page.inner_text("#pop-complaints")
    await page.click("#form-complaint >> xpath=.. >> summary")
    await page.select_option("#cmp-category", "claims_payment")
    await page.fill("#cmp-summary", "보험금 지급이 늦어진다는 불만")
    await page.click("#form-complaint button[type=submit]")
    await page.wait_for_selector("#work-log li.work-complaint")
    number = (await page.inner_text("#work-log li.work-complaint")).split("민원번호 ")[1].split()[0]
    await page.wait_for_selector(f"#pop-complaints td:text-is('{number}')")
    assert "보험금 지급" in await page.inner_text("#pop-complaints")

    # The call ends: wrap-up with the after-call work timer, then available again.
    hold(engine, agent, sid, "wrap_up")
    send_to_agent(redis, agent, {"type": "call", "call_sid": sid, "state": "ended"})
    await page.wait_for_selector("#acw", state="visible")
    assert await page.inner_text("#call-state") == "통화 종료"
    await page.select_option("#wrap-disposition", "report_taken")
    await page.click("#wrap-submit")
    await _shows(page, "#agent-state", "대기")
    assert await page.locator("#acw").is_hidden()
    assert agent_state(engine, agent) == ("available", None)
    assert not failures, failures
