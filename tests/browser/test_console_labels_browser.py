"""What an operator reads in real headless Chromium: the queue and an item's page show Korean names, never the
stored codes, and every time in Korea time (a call stored at 23:30 UTC shows the next day's 08:30)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from crm_store.calls.tables import Call
from crm_store.customers.tables import Customer, Segment
from crm_store.db import session_scope
from crm_store.review.tables import ReviewEvent, ReviewItem
from crm_store.validation import BUSINESS_TZ
from gateway.app import create_app
from tests.review_helpers import PASSWORD, World, add_customers_and_calls, build_world
from workers.settings import Settings

STORED_AT = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
# Codes of types, topics, segments, alerts, urgency and states, as whole words of the visible text.
RAW_CODE = re.compile(
    r"\b(?:report|inquiry|complaint|notification|dispatch|quality|key|ordinary|inferior|blacklist|frequent_claims|"
    r"high_loss_ratio|key_customer|repeat_complainant|high|normal|low|open|taken|closed|classified)\b"
)
TIME = re.compile(r"\b\d{1,2}:\d{2}\b")


def _store_a_night_complaint(engine: Any, world: World) -> None:
    with session_scope(engine) as session:
        call = session.exec(select(Call).where(col(Call.call_sid) == world.calls["inside"])).one()
        call.type, call.topic, call.urgency = "complaint", "complaint.underwriting_renewal", "high"
        call.created_at = call.started_at = STORED_AT
        call.classification = {
            "reasons": [
                "type complaint 0.61: '공정' +0.29",
                "topic complaint.underwriting_renewal 0.55 within complaint",
                "urgency high: angry caller escalating (금감원)",
            ],
            "model": "test",
        }
        item = session.get(ReviewItem, world.items["inside"])
        assert item is not None
        item.type, item.topic, item.urgency, item.due_at = call.type, call.topic, call.urgency, STORED_AT
        customer = session.get(Customer, world.customers["inside"])
        assert customer is not None
        customer.segment = Segment.QUALITY
        session.add_all([call, item, customer])


def _read_as_an_operator(text: str, others: Iterable[datetime] = ()) -> None:
    """No code, Korean names, and every time shown is Korea time: the call's 08:30 and the `others` stored."""
    assert "complaint." not in text and "inquiry." not in text
    assert not RAW_CODE.findall(text), RAW_CODE.findall(text)
    assert "불만·민원" in text and "인수·갱신 불만" in text
    assert "2026-11-25 08:30" in text
    korea = {"08:30"} | {moment.astimezone(BUSINESS_TZ).strftime("%H:%M") for moment in others}
    assert set(TIME.findall(text)) == korea, (TIME.findall(text), korea)  # no UTC time anywhere


async def test_queue_and_item_pages_show_korean_names_and_korea_time(
    aiohttp_client: Any, settings: Settings, engine: Any, browser: Any
) -> None:
    world = build_world(engine)
    client = await aiohttp_client(create_app(settings, embedded_worker=False))
    await add_customers_and_calls(client, world, engine)
    _store_a_night_complaint(engine, world)
    base = str(client.make_url("")).rstrip("/")

    page = await (await browser.new_context()).new_page()
    await page.goto(f"{base}/console/queue")
    await page.fill("#username", "operator.seocho")
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{base}/console/queue")
    queue = await page.inner_text("main")
    _read_as_an_operator(queue)
    assert "긴급" in queue and "대기" in queue

    await page.click(f"tr.item[data-call={world.calls['inside']}] a")
    await page.wait_for_url(f"{base}/console/items/{world.items['inside']}")
    with session_scope(engine) as session:
        events = session.exec(select(ReviewEvent).where(col(ReviewEvent.item_id) == world.items["inside"])).all()
        history = {event.created_at for event in events}  # routed just now, shown in the item's history
    item = await page.inner_text("main")
    _read_as_an_operator(item, history)
    assert "우량" in item and "블랙리스트" in item
    reasons = await page.locator("#reasons li").all_inner_texts()
    assert "'공정'이 불만·민원 쪽으로 +0.29" in reasons
    assert "긴급: 화난 고객의 민원 제기 예고 ('금감원')" in reasons
    # The stylesheet applies (the CSP lets it in, no inline style is needed).
    background = await page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor")
    assert background == "rgb(17, 34, 51)"
