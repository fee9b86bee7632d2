"""The review console in real headless Chromium: login, own queue only, take, correct, apply a change, forward."""

from __future__ import annotations

from typing import Any

from crm_store.db import session_scope
from crm_store.review.tables import ReviewItem
from gateway.app import create_app
from tests.review_helpers import World, add_customers_and_calls, build_world, sign_in
from workers.settings import Settings


async def _login(browser: Any, base: str, username: str) -> Any:
    page = await (await browser.new_context()).new_page()
    await sign_in(page, base, username)
    return page


async def test_county_and_provincial_operators_review_and_forward(
    aiohttp_client: Any, settings: Settings, engine: Any, browser: Any
) -> None:
    world: World = build_world(engine)
    client = await aiohttp_client(create_app(settings, embedded_worker=False))
    await add_customers_and_calls(client, world, engine)
    base = str(client.make_url("")).rstrip("/")

    county = await _login(browser, base, "operator.seocho")
    assert "서초구지점" in await county.title()
    rows = county.locator("tr.item")
    assert await rows.count() == 1
    assert await rows.first.get_attribute("data-call") == world.calls["inside"]

    province = await _login(browser, base, "operator.busan")
    assert await province.locator("tr.item").count() == 0  # the Busan customer's call waits in its county queue
    assert world.calls["inside"] not in await province.content()

    # Take, correct the classification, apply the address change with a supplemented value, forward with a note.
    await county.click("button.take")
    await county.wait_for_selector("#classification")
    assert "처리 중" in await county.inner_text("#item-state")
    await county.select_option("#type", "complaint")
    await county.select_option("#topic", "complaint.staff_attitude")
    await county.click("#save-classification")
    await county.wait_for_selector("#call-topic:text-is('직원 응대 불만')")
    change = county.locator("tr.change[data-field=address]")
    await change.locator("input[name=value]").fill("서울시 서초구 반포대로 99")
    await change.locator("button.apply").click()
    await county.wait_for_selector("tr.change[data-field=address] >> text=변경 반영")
    await county.fill("#forward-note", "직원 응대 불만: 시 지점 센터 확인 요청")
    await county.click("#forward-button")
    await county.wait_for_url(f"{base}/console/queue")
    assert await county.locator("tr.item").count() == 0
    with session_scope(engine) as session:
        item = session.get(ReviewItem, world.items["inside"])
        assert item is not None and item.org_unit_id == world.units["SEOUL-GANGNAM"]

    city = await _login(browser, base, "operator.gangnam")
    assert await city.locator("tr.item").count() == 1
    await city.click(f"tr.item[data-call={world.calls['inside']}] a")
    assert "시 지점 센터 확인 요청" in await city.inner_text("#history")
    await city.click("#logout")
    await city.wait_for_url(f"{base}/console/login")
