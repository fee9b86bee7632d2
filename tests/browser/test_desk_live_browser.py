"""The live call on the agent's desk in real headless Chromium: the frames the live transcript producer sends
(gateway/live_call.py, gateway/live_assist.py) are published on the agent's channel by the test, as the producer
would. Only the held call's frames show; a partial text is replaced by its final; the list follows the newest line
until the agent scrolls up; the "transcript behind" notice shows and clears; a suggestion reads in Korean (type,
topic, urgency, reasons) with one-click fills of the accident report and the change notification, and an urgent
alert ticks the accident report's dispatch request. Last, end to end: a recording streamed over /twilio/media
through a real spawned transcriber process (the stand-in engine) shows on the desk of the agent holding the call."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from gateway.app import create_app
from gateway.desk_socket import CHANNELS
from gateway.keys import REDIS, SIGNATURE
from gateway.live_assist import suggestion_frame
from gateway.media_socket import LIVE_ENGINE, PATH
from telephony.media_stream import MediaStreamWriter, media_frames
from tests.browser.test_console_labels_browser import RAW_CODE
from tests.desk_call_helpers import CALLER, hold, sign_in_at_desk, unknown_call, watched_page
from tests.live_helpers import telephone_audio
from tests.review_helpers import World, build_world, call_sid
from workers.desk_channel import send_to_agent
from workers.settings import Settings
from workers.understanding import understand

HEARD_AT = datetime(2026, 3, 2, 16, 0)  # the classifier's "now" for times as spoken ("오늘 오후 3시쯤")
ACCIDENT = "경부고속도로에서 12가3456 차가 사고가 났어요 오늘 오후 3시쯤이요 지금 사람이 다쳐서 피가 나요"
MOVED = "이사를 해서 주소 변경하려고요 새 주소는 서울시 강남구 테헤란로 152입니다"
NEW_PHONE = "연락처 변경하려고요 새 번호는 010-2345-6789예요"


def _said(sid: str, text: str, *, start: float, final: bool, speaker: str = "customer") -> dict[str, Any]:
    return {"type": "transcript", "call_sid": sid, "speaker": speaker, "text": text, "final": final,
            "start": start, "end": start + 2.5}  # fmt: skip


async def _signed_in(page: Any, base: str, client: Any, agent: int) -> None:
    await sign_in_at_desk(page, base)
    for _ in range(100):  # frames reach the desk once the server holds its socket
        if client.app[CHANNELS].open_for(agent):
            break
        await asyncio.sleep(0.05)


async def _at_bottom(page: Any) -> bool:
    return bool(
        await page.locator("#transcript-lines").evaluate("l => l.scrollTop + l.clientHeight >= l.scrollHeight - 8")
    )


async def test_the_agent_follows_the_live_call(world_client: tuple[World, Any], engine: Any, browser: Any) -> None:
    world, client = world_client
    base = str(client.make_url("")).rstrip("/")
    agent = int(world.staff["agent.seocho"]["id"])
    redis = client.app[REDIS]
    page, failures = await watched_page(browser)
    await _signed_in(page, base, client, agent)

    # Offered, not yet held: its live frames do not show.
    sid = unknown_call(engine)
    offer = {"type": "offer", "call_sid": sid, "queue": "accident", "priority": 0, "caller": CALLER,
             "customer": None, "unknown": True, "blacklisted": False}  # fmt: skip
    send_to_agent(redis, agent, offer)
    await page.wait_for_selector("#accept", state="visible")
    send_to_agent(redis, agent, _said(sid, "너무 이른 말", start=0.1, final=True))
    hold(engine, agent, sid, "on_call")
    send_to_agent(redis, agent, {"type": "call", "call_sid": sid, "state": "connected"})
    await page.wait_for_selector("#call-state:text-is('통화 연결')")

    # Another call's words never reach this desk; the held call's partial shows, then its final replaces it.
    send_to_agent(redis, agent, _said(call_sid(), "다른 통화의 말", start=0.5, final=True))
    send_to_agent(redis, agent, _said(sid, "경부고속도로에서", start=1.2, final=False))
    line = page.locator("#transcript-lines li.speaker-customer")
    await page.wait_for_selector("#transcript-lines li.partial .t-text:text-is('경부고속도로에서')")
    assert await page.locator("#live-transcript").is_visible()
    assert await line.locator(".t-partial").is_visible()
    send_to_agent(redis, agent, _said(sid, "경부고속도로에서 사고가 났어요", start=1.2, final=True))
    await page.wait_for_selector("#transcript-lines li.final .t-text:text-is('경부고속도로에서 사고가 났어요')")
    assert await line.count() == 1
    assert await line.locator(".t-speaker").inner_text() == "고객"
    assert await line.locator(".t-time").inner_text() == "00:01–00:03"
    assert await line.locator(".t-partial").is_hidden()
    send_to_agent(redis, agent, _said(sid, "네, 고객님 다치신 분 있으세요?", start=4.0, final=True, speaker="agent"))
    await page.wait_for_selector("#transcript-lines li.speaker-agent .t-speaker:text-is('상담원')")
    shown = await page.inner_text("#transcript-lines")
    assert "다른 통화" not in shown and "너무 이른" not in shown

    # The transcript falls behind the call: the desk says so, and stops saying so once it caught up.
    behind = {"type": "transcript_status", "call_sid": sid, "behind": True, "waiting": 3, "skipped": 1}
    send_to_agent(redis, agent, behind)
    await page.wait_for_selector("#transcript-behind", state="visible")
    assert "늦어지고" in await page.inner_text("#transcript-behind")
    assert "대기 3건" in await page.inner_text("#transcript-behind")
    send_to_agent(redis, agent, {**behind, "behind": False, "waiting": 0})
    await page.wait_for_selector("#transcript-behind", state="hidden")

    # The list follows the newest line; scrolled up by the agent, it stays where the agent reads.
    for n in range(30):
        send_to_agent(redis, agent, _said(sid, f"말 {n}", start=10.0 + 3 * n, final=True))
    await page.wait_for_selector("#transcript-lines li .t-text:text-is('말 29')")
    assert await _at_bottom(page)
    await page.locator("#transcript-lines").evaluate("l => { l.scrollTop = 0; l.dispatchEvent(new Event('scroll')); }")
    send_to_agent(redis, agent, _said(sid, "말 30", start=200.0, final=True))
    await page.wait_for_selector("#transcript-lines li .t-text:text-is('말 30')")
    assert await page.locator("#transcript-lines").evaluate("l => l.scrollTop") == 0
    await page.click("#transcript-latest")
    assert await _at_bottom(page) and await page.locator("#transcript-latest").is_hidden()

    # The suggestion of the accident call: Korean names only, the reasons, an urgent alert, one-click fills.
    suggestion = suggestion_frame(sid, understand(ACCIDENT, now=HEARD_AT), at=8.0)
    assert suggestion["urgency"] == "high" and suggestion["alerts"]
    send_to_agent(redis, agent, suggestion)
    await page.wait_for_selector("#live-assist", state="visible")
    assert await page.inner_text("#suggest-type") == "사고 신고"
    assert await page.inner_text("#suggest-topic") == "자동차 사고"
    assert await page.inner_text("#suggest-urgency") == "긴급"
    assist = await page.inner_text("#live-assist")
    assert "부상 징후" in assist and not RAW_CODE.search(assist), RAW_CODE.search(assist)
    assert "report" not in assist and "urgency" not in assist
    await page.click("#suggest-fills button[data-field=where]")
    assert await page.input_value("#acc-place") == "경부고속도로"
    await page.click("#suggest-fills button[data-field=vehicle]")
    assert await page.input_value("#acc-plate") == "12가3456"
    await page.click("#suggest-fills button[data-field=when]")
    assert await page.input_value("#acc-occurred") == "2026-03-02T15:00"
    assert not await page.is_checked("#acc-dispatch")
    await page.locator("#live-alerts button.live-dispatch").first.click()
    assert await page.is_checked("#acc-dispatch")
    assert await page.locator("#live-alerts button.live-dispatch:enabled").count() == 0  # every alert says so

    # A change notification: the new address goes into the change form with its item chosen.
    send_to_agent(redis, agent, suggestion_frame(sid, understand(MOVED, now=HEARD_AT), at=20.0))
    await page.wait_for_selector("#suggest-fills button[data-form=change_notification]")
    assert await page.locator("#chg-value").is_hidden()  # its form folded
    await page.locator("#chg-field").evaluate("field => { field.value = 'phone'; }")
    await page.click("#suggest-fills button[data-field=address]")
    assert await page.input_value("#chg-field") == "address"
    assert (await page.input_value("#chg-value")).startswith("서울시 강남구")
    assert await page.locator("#chg-value").is_visible()  # its form unfolded
    # A phone number is heard masked: its fill chooses the item and leaves the number to the agent.
    send_to_agent(redis, agent, suggestion_frame(sid, understand(NEW_PHONE, now=HEARD_AT), at=30.0))
    await page.wait_for_selector("#suggest-fills button[data-field=phone]")
    await page.click("#suggest-fills button[data-field=phone]")
    assert (await page.input_value("#chg-field"), await page.input_value("#chg-value")) == ("phone", "")
    assert "2345" not in await page.inner_text("body")

    # Another call offered: the panel starts afresh.
    send_to_agent(redis, agent, {**offer, "call_sid": call_sid()})
    await page.wait_for_selector("#live-transcript", state="hidden")
    assert await page.locator("#transcript-lines li").count() == 0
    assert not failures, failures


@pytest.fixture
async def streaming_world(aiohttp_client: Any, settings: Settings, engine: Any, redis_url: str) -> tuple[World, Any]:
    """The review world's staff and a gateway that takes media streams: one real spawned transcriber process
    with the stand-in engine of tests.live_helpers (every utterance heard as its SPOKEN words)."""
    world = build_world(engine)
    app = create_app(
        settings.model_copy(update={"redis_url": redis_url, "live_transcribers": 1}), embedded_worker=False
    )
    app[LIVE_ENGINE] = "tests.live_helpers:scripted_engine"
    return world, await aiohttp_client(app)


async def test_a_streamed_call_reaches_the_desk(streaming_world: tuple[World, Any], engine: Any, browser: Any) -> None:
    """End to end: a recording streamed over /twilio/media as Twilio would shows on the desk of the agent holding
    the call, redacted, with the assistant's suggestion in Korean and its fills."""
    world, client = streaming_world
    base = str(client.make_url("")).rstrip("/")
    agent = int(world.staff["agent.seocho"]["id"])
    sid = unknown_call(engine)
    hold(engine, agent, sid, "on_call")  # the desk opens holding the connected call
    page, failures = await watched_page(browser)
    await _signed_in(page, base, client, agent)

    writer = MediaStreamWriter(account_sid="AC" + "0" * 32, call_sid=sid, stream_sid="MZ" + "cd" * 16)
    signed = {"X-Twilio-Signature": client.app[SIGNATURE].sign_socket(PATH)}
    async with client.ws_connect(PATH, headers=signed) as ws:
        frames = [writer.connected(), writer.start(), *media_frames(writer, telephone_audio(), b""), writer.stop()]
        for frame in frames:
            await ws.send_str(frame)
        await page.wait_for_selector("#transcript-lines li.speaker-customer.final", timeout=60_000)
        await page.wait_for_selector("#live-assist", state="visible", timeout=60_000)
    said = await page.inner_text("#transcript-lines li.speaker-customer.final .t-text")
    assert "경부고속도로에서 사고가 났어요" in said
    assert "[전화번호]" in said and "2345-6789" not in said and "1234567" not in said
    assert await page.inner_text("#suggest-type") == "사고 신고"
    assert await page.inner_text("#suggest-urgency") == "긴급"
    await page.click("#suggest-fills button[data-field=where]")
    assert await page.input_value("#acc-place") == "경부고속도로"
    assert "2345-6789" not in await page.inner_text("body")
    assert not failures, failures
