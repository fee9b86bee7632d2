"""The caller's path through the desk on embedded defaults: menu, choice, queue with the green channel, the wait,
after hours, abandonment; a number without a menu keeps the voicemail."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlmodel import col, select

from crm_store.db import session_scope
from crm_store.org.staff import issue_token
from crm_store.org.tables import OrgUnit, Staff
from gateway import desk
from gateway.app import create_app
from tests.desk_helpers import (
    BUSINESS_DAY,
    HOLIDAY,
    HOTLINE,
    callbacks,
    caller_number,
    install_desk,
    kst,
    queue_id,
    says,
    twiml,
    waiting_calls,
)
from tests.fake_clock import FakeClock
from tests.twilio_helpers import call_params, call_sid, post_signed
from workers.settings import Settings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(kst(BUSINESS_DAY))


@pytest.fixture
def customers(engine: Any) -> dict[str, int]:
    return install_desk(engine)


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, customers: dict[str, int], clock: FakeClock) -> Any:
    app = create_app(settings, embedded_worker=False)
    app[desk.CLOCK] = clock
    return await aiohttp_client(app)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def _voice(client: Any, settings: Settings, sid: str, segment: str = "ordinary", to: str = HOTLINE) -> Any:
    answer = await post_signed(
        client, settings, "/twilio/voice", call_params(settings, sid, caller=caller_number(segment), To=to)
    )
    assert answer.status == 200
    return twiml(await answer.text())


async def _gather(
    client: Any, settings: Settings, sid: str, action: str, segment: str = "ordinary", **said: str
) -> Any:
    params = call_params(settings, sid, status="in-progress", caller=caller_number(segment), **said)
    answer = await post_signed(client, settings, _path(action), params)
    assert answer.status == 200
    return twiml(await answer.text())


async def _choose(client: Any, settings: Settings, sid: str, key: str, segment: str = "ordinary") -> Any:
    menu = await _voice(client, settings, sid, segment)
    return await _gather(client, settings, sid, menu.find("Gather").get("action"), segment, Digits=key)


async def test_incoming_call_on_a_number_with_a_menu_hears_the_greeting_and_the_menu(
    client: Any, settings: Settings
) -> None:
    root = await _voice(client, settings, call_sid())
    assert says(root)[0].startswith("안녕하십니까")
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("input") == "dtmf speech" and gather.get("language") == "ko-KR"
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == f"{settings.base_url}/twilio/gather?attempt=1"
    prompt = gather.find("Say")
    assert prompt is not None and "사고 접수와 긴급 출동은 1번" in (prompt.text or "")
    assert "사고" in (gather.get("hints") or "")
    # No input falls through to the same action, which counts the attempt.
    redirect = root.find("Redirect")
    assert redirect is not None and redirect.text == gather.get("action")
    assert root.find("Record") is None


async def test_a_number_without_a_menu_keeps_the_voicemail(client: Any, settings: Settings) -> None:
    root = await _voice(client, settings, call_sid(), to="+8215889999")
    assert root.find("Gather") is None
    assert root.find("Record") is not None
    assert root.find("Record").get("recordingStatusCallback") == f"{settings.base_url}/twilio/recording"


@pytest.mark.parametrize(
    ("said", "queue", "label"),
    [
        ({"Digits": "1"}, "accident", "사고 접수·긴급 출동"),
        ({"Digits": "2"}, "consult", "보험 상담"),
        ({"Digits": "3"}, "complaint", "불편·민원"),
        ({"Digits": "4"}, "change", "변경 신고"),
        ({"Digits": "0"}, "agent", "상담원 연결"),
        ({"SpeechResult": "차 사고가 났어요", "Confidence": "0.87"}, "accident", "사고 접수·긴급 출동"),
        ({"SpeechResult": "이사를 해서 주소를 바꾸려고요"}, "change", "변경 신고"),
        ({"SpeechResult": "삼 번"}, "complaint", "불편·민원"),
    ],
)
async def test_the_key_or_the_words_pick_the_queue(
    client: Any, settings: Settings, engine: Any, said: dict[str, str], queue: str, label: str
) -> None:
    sid = call_sid()
    menu = await _voice(client, settings, sid)
    root = await _gather(client, settings, sid, menu.find("Gather").get("action"), **said)
    enqueue = root.find("Enqueue")
    assert enqueue is not None and enqueue.text == queue
    assert enqueue.get("waitUrl") == f"{settings.base_url}/twilio/wait?queue={queue}"
    assert enqueue.get("action") == f"{settings.base_url}/twilio/queue-result?queue={queue}"
    assert any(label in text for text in says(root))
    waiting = waiting_calls(engine)[sid]
    assert waiting.queue_id == queue_id(engine, queue) and waiting.state == "waiting"
    assert waiting.priority == 0 and waiting.caller == caller_number("ordinary")


async def test_no_input_or_a_wrong_key_repeats_the_menu_once_then_the_default_queue(
    client: Any, settings: Settings, engine: Any
) -> None:
    sid = call_sid()
    menu = await _voice(client, settings, sid)
    again = await _gather(client, settings, sid, menu.find("Redirect").text)  # silence
    assert any("입력이 확인되지 않았습니다" in text for text in says(again))
    assert not any(text.startswith("안녕하십니까") for text in says(again))  # no second greeting
    assert again.find("Gather").get("action").endswith("/twilio/gather?attempt=2")
    assert sid not in waiting_calls(engine)
    last = await _gather(client, settings, sid, again.find("Gather").get("action"), Digits="7")
    assert last.find("Enqueue").text == "accident"  # the menu's default queue
    assert waiting_calls(engine)[sid].queue_id == queue_id(engine, "accident")


async def test_a_wrong_key_is_told_so(client: Any, settings: Settings) -> None:
    sid = call_sid()
    menu = await _voice(client, settings, sid)
    again = await _gather(client, settings, sid, menu.find("Gather").get("action"), Digits="9")
    assert any("잘못 누르셨습니다" in text for text in says(again))
    assert again.find("Gather") is not None


async def test_words_not_understood_are_told_so_not_taken_for_a_key(client: Any, settings: Settings) -> None:
    sid = call_sid()
    menu = await _voice(client, settings, sid)
    again = await _gather(client, settings, sid, menu.find("Gather").get("action"), SpeechResult="날씨가 좋네요")
    assert any("이해하지 못했습니다" in text for text in says(again))
    assert not any("누르셨습니다" in text for text in says(again))
    assert again.find("Gather") is not None


async def test_green_channel_callers_wait_with_priority_and_go_ahead_in_line(
    client: Any, settings: Settings, engine: Any, customers: dict[str, int], clock: FakeClock
) -> None:
    first, second, key = call_sid(), call_sid(), call_sid()
    await _choose(client, settings, first, "2")
    clock.now = kst(BUSINESS_DAY).replace(minute=1)
    await _choose(client, settings, second, "2", segment="quality")
    clock.now = kst(BUSINESS_DAY).replace(minute=2)
    root = await _choose(client, settings, key, "2", segment="key")
    assert any("우선 연결" in text for text in says(root))
    rows = waiting_calls(engine)
    assert (rows[first].priority, rows[second].priority, rows[key].priority) == (0, 10, 20)
    assert rows[key].customer_id == customers["key"] and rows[key].segment == "key"
    # The wait answer says our place in line (priority first), not Twilio's first-come position.
    places = {}
    for sid, twilio_position in ((first, "1"), (second, "2"), (key, "3")):
        params = call_params(
            settings, sid, status="in-progress", QueuePosition=twilio_position, QueueSid="QU" + "0" * 32,
            QueueTime="30", AvgQueueTime="20", CurrentQueueSize="3",
        )  # fmt: skip
        answer = await post_signed(client, settings, "/twilio/wait?queue=consult", params)
        assert answer.status == 200
        root = twiml(await answer.text())
        places[sid] = says(root)[0]
        assert root.find("Play").text == f"{settings.base_url}/twilio/hold.wav"
    assert "첫 번째" in places[key] and "두 번째" in places[second] and "세 번째" in places[first]


async def test_a_blacklisted_caller_is_queued_normally_with_the_flag_kept(
    client: Any, settings: Settings, engine: Any
) -> None:
    sid = call_sid()
    root = await _choose(client, settings, sid, "1", segment="inferior")
    assert root.find("Enqueue").text == "accident"
    waiting = waiting_calls(engine)[sid]
    assert waiting.blacklisted and waiting.priority == 0


async def test_outside_the_hours_of_a_queue_the_caller_leaves_a_message_for_a_call_back(
    client: Any, settings: Settings, engine: Any, clock: FakeClock, customers: dict[str, int]
) -> None:
    clock.now = kst(HOLIDAY)  # Christmas, a Friday: the consultation queue is closed all day
    sid = call_sid()
    root = await _choose(client, settings, sid, "2", segment="quality")
    assert root.find("Enqueue") is None
    text = " ".join(says(root))
    assert "지금은 보험 상담 상담 시간이 아닙니다" in text
    assert "평일 오전 9시부터 오후 6시까지" in text and "공휴일에는 쉽니다" in text
    record = root.find("Record")
    assert record is not None
    assert record.get("action") == f"{settings.base_url}/twilio/desk-message?queue=consult"
    # The message takes the usual recording pipeline of the call.
    assert record.get("recordingStatusCallback") == f"{settings.base_url}/twilio/recording"
    assert root.find("Hangup") is not None
    assert sid not in waiting_calls(engine)
    [task] = callbacks(engine)
    assert (task.call_sid, task.reason, task.queue_id) == (sid, "after_hours", queue_id(engine, "consult"))
    assert task.customer_id == customers["quality"] and task.caller == caller_number("quality")
    params = call_params(settings, sid, status="in-progress", caller=caller_number("quality"),
                         RecordingSid="RE" + "1" * 32, RecordingUrl="https://api.twilio.com/x",
                         RecordingDuration="12", Digits="hangup")  # fmt: skip
    answer = await post_signed(client, settings, "/twilio/desk-message?queue=consult", params)
    assert answer.status == 200
    assert twiml(await answer.text()).find("Hangup") is not None
    [task] = callbacks(engine)
    assert task.recording_sid == "RE" + "1" * 32


async def test_accident_reports_are_taken_on_a_holiday_at_night(
    client: Any, settings: Settings, engine: Any, clock: FakeClock
) -> None:
    clock.now = kst(HOLIDAY).replace(hour=3)
    sid = call_sid()
    root = await _choose(client, settings, sid, "1")
    assert root.find("Enqueue").text == "accident"
    assert callbacks(engine) == []


async def test_a_caller_who_hangs_up_while_waiting_is_abandoned_with_a_call_back_task(
    client: Any, settings: Settings, engine: Any, clock: FakeClock, customers: dict[str, int]
) -> None:
    sid = call_sid()
    await _choose(client, settings, sid, "3", segment="quality")
    clock.now = kst(BUSINESS_DAY).replace(second=47)
    params = call_params(settings, sid, status="completed", caller=caller_number("quality"),
                         QueueResult="hangup", QueueSid="QU" + "0" * 32, QueueTime="45")  # fmt: skip
    answer = await post_signed(client, settings, "/twilio/queue-result?queue=complaint", params)
    assert answer.status == 200
    waiting = waiting_calls(engine)[sid]
    assert (waiting.state, waiting.wait_seconds, waiting.queue_result) == ("abandoned", 45, "hangup")
    [task] = callbacks(engine)
    assert (task.reason, task.queue_id, task.wait_seconds) == ("abandoned", queue_id(engine, "complaint"), 45)
    assert task.caller == caller_number("quality") and task.customer_id == customers["quality"]
    assert task.requested_at == kst(BUSINESS_DAY).replace(second=47)
    # Twilio's status callback of the same hang-up changes nothing more; a redelivery neither.
    status = call_params(settings, sid, status="completed", caller=caller_number("quality"),
                         SequenceNumber="3", Timestamp="Mon, 07 Dec 2026 01:00:47 +0000",
                         CallbackSource="call-progress-events", CallDuration="60")  # fmt: skip
    assert (await post_signed(client, settings, "/twilio/status", status)).status == 204
    assert (await post_signed(client, settings, "/twilio/queue-result?queue=complaint", params)).status == 200
    assert len(callbacks(engine)) == 1
    assert waiting_calls(engine)[sid].wait_seconds == 45
    metrics = await (await client.get("/metrics")).text()
    assert 'hotline_desk_enqueued_total{channel="green",queue="complaint"} 1.0' in metrics
    assert 'hotline_desk_callbacks_total{queue="complaint",reason="abandoned"} 1.0' in metrics
    assert 'hotline_desk_wait_seconds_count{outcome="abandoned",queue="complaint"} 1.0' in metrics
    assert 'hotline_desk_wait_seconds_sum{outcome="abandoned",queue="complaint"} 45.0' in metrics


async def test_a_call_that_ends_while_waiting_without_the_queue_action_is_abandoned_too(
    client: Any, settings: Settings, engine: Any, clock: FakeClock
) -> None:
    sid = call_sid()
    await _choose(client, settings, sid, "1")
    clock.now = kst(BUSINESS_DAY).replace(minute=2)
    status = call_params(settings, sid, status="completed", SequenceNumber="3",
                         Timestamp="Mon, 07 Dec 2026 01:02:00 +0000", CallbackSource="call-progress-events",
                         CallDuration="125")  # fmt: skip
    assert (await post_signed(client, settings, "/twilio/status", status)).status == 204
    waiting = waiting_calls(engine)[sid]
    assert (waiting.state, waiting.wait_seconds) == ("abandoned", 120)
    [task] = callbacks(engine)
    assert task.reason == "abandoned" and task.wait_seconds == 120


async def test_a_call_taken_by_an_agent_is_not_abandoned_when_it_ends(
    client: Any, settings: Settings, engine: Any
) -> None:
    sid = call_sid()
    await _choose(client, settings, sid, "1")
    params = call_params(settings, sid, status="in-progress", QueueResult="bridged", QueueTime="12")
    answer = await post_signed(client, settings, "/twilio/queue-result?queue=accident", params)
    assert twiml(await answer.text()).find("Hangup") is not None
    status = call_params(
        settings, sid, status="completed", SequenceNumber="5", Timestamp="Mon, 07 Dec 2026 01:10:00 +0000",
        CallbackSource="call-progress-events",
    )  # fmt: skip
    assert (await post_signed(client, settings, "/twilio/status", status)).status == 204
    assert waiting_calls(engine)[sid].state == "connected"
    assert callbacks(engine) == []


async def test_a_queue_that_fails_the_caller_takes_a_message(client: Any, settings: Settings, engine: Any) -> None:
    sid = call_sid()
    await _choose(client, settings, sid, "2")
    params = call_params(settings, sid, status="in-progress", QueueResult="queue-full", QueueTime="0")
    answer = await post_signed(client, settings, "/twilio/queue-result?queue=consult", params)
    root = twiml(await answer.text())
    assert root.find("Record") is not None and "연결이 어렵습니다" in says(root)[0]
    assert waiting_calls(engine)[sid].state == "left"
    assert [task.reason for task in callbacks(engine)] == ["unserved"]


async def test_hold_audio_is_a_telephone_wav(client: Any) -> None:
    answer = await client.get("/twilio/hold.wav")
    assert answer.status == 200 and answer.content_type == "audio/wav"
    body = await answer.read()
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    assert int.from_bytes(body[24:28], "little") == 8000


@pytest.mark.parametrize("path", ["/twilio/wait?queue=accident", "/twilio/queue-result?queue=accident",
                                  "/twilio/desk-message?queue=accident"])  # fmt: skip
async def test_the_queue_webhooks_refuse_a_forged_signature(client: Any, settings: Settings, path: str) -> None:
    params = call_params(settings, call_sid(), QueueResult="hangup")
    answer = await client.post(path, data=params, headers={"X-Twilio-Signature": "forged"})
    assert answer.status == 403


async def test_the_caller_still_waits_in_the_queue_when_the_store_fails(
    client: Any, settings: Settings, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise ConnectionError("database gone")

    monkeypatch.setattr(desk, "enqueue_call", broken)
    sid = call_sid()
    root = await _choose(client, settings, sid, "2")
    assert root.find("Enqueue").text == "consult"
    assert sid not in waiting_calls(engine)


async def test_a_caller_of_a_number_whose_menu_cannot_be_read_gets_the_voicemail(
    aiohttp_client: Any, settings: Settings, customers: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise ConnectionError("database gone")

    monkeypatch.setattr(desk, "load_menus", broken)
    client = await aiohttp_client(create_app(settings, embedded_worker=False))
    root = await _voice(client, settings, call_sid())
    assert root.find("Record") is not None and root.find("Gather") is None


async def test_an_anonymous_caller_who_abandons_leaves_a_call_back_task_without_a_number(
    client: Any, settings: Settings, engine: Any
) -> None:
    sid = call_sid()
    answer = await post_signed(client, settings, "/twilio/voice", call_params(settings, sid, caller="anonymous"))
    menu = twiml(await answer.text())
    params = call_params(settings, sid, status="in-progress", caller="anonymous", Digits="1")
    await post_signed(client, settings, _path(menu.find("Gather").get("action")), params)
    hangup = call_params(settings, sid, status="completed", caller="anonymous", QueueResult="hangup", QueueTime="9")
    assert (await post_signed(client, settings, "/twilio/queue-result?queue=accident", hangup)).status == 200
    [task] = callbacks(engine)
    assert (task.caller, task.customer_id, task.wait_seconds) == (None, None, 9)


def _admin_token(engine: Any) -> dict[str, str]:
    """An administrator at the head office the callers belong to, with an API token."""
    with session_scope(engine) as session:
        unit = session.exec(select(OrgUnit).where(col(OrgUnit.code) == "HQ")).one()
        session.add(Staff(username="admin.desk", full_name="홍길동", role="admin", org_unit_id=unit.id, clearance=3))
        session.flush()
        return {"Authorization": f"Bearer {issue_token(session, username='admin.desk')}"}


async def test_the_call_record_says_how_its_wait_ended_and_the_call_back_left(
    client: Any, settings: Settings, engine: Any, clock: FakeClock
) -> None:
    headers = _admin_token(engine)
    sid = call_sid()
    await _choose(client, settings, sid, "3", segment="quality")
    clock.now = kst(BUSINESS_DAY).replace(second=47)
    params = call_params(settings, sid, status="completed", caller=caller_number("quality"),
                         QueueResult="hangup", QueueSid="QU" + "0" * 32, QueueTime="45")  # fmt: skip
    assert (await post_signed(client, settings, "/twilio/queue-result?queue=complaint", params)).status == 200
    answer = await client.get(f"/api/v1/calls/{sid}", headers=headers)
    assert answer.status == 200, await answer.text()
    wait = (await answer.json())["desk_queue"]
    assert (wait["queue"], wait["state"], wait["priority"], wait["wait_seconds"]) == ("complaint", "abandoned", 10, 45)
    assert wait["callback"] == {
        "reason": "abandoned",
        "requested_at": kst(BUSINESS_DAY).replace(second=47).astimezone(UTC).isoformat(),
        "done_at": None,
    }
    # A call that never waited in a desk queue says so.
    other = call_sid()
    await _voice(client, settings, other)
    assert (await (await client.get(f"/api/v1/calls/{other}", headers=headers)).json())["desk_queue"] is None
