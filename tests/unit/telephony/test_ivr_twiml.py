"""The desk's TwiML: structure Twilio accepts, Korean words, URLs that carry what the next answer needs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from telephony import ivr

BASE = "https://hotline.example.co.kr"


def _root(body: str) -> ET.Element:
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response')
    return ET.fromstring(body.encode())


def test_menu_gathers_one_key_or_korean_speech_and_redirects_on_silence() -> None:
    root = _root(ivr.menu(BASE, greeting="안녕하십니까", prompt="1번을 누르세요", hints="사고, 상담", attempt=1))
    assert [child.tag for child in root] == ["Say", "Gather", "Redirect"]
    gather = root[1]
    assert gather.attrib == {
        "input": "dtmf speech",
        "language": "ko-KR",
        "numDigits": "1",
        "timeout": "5",
        "speechTimeout": "auto",
        "action": f"{BASE}/twilio/gather?attempt=1",
        "method": "POST",
        "hints": "사고, 상담",
    }
    assert [say.text for say in gather] == ["1번을 누르세요"]
    assert all(say.get("language") == "ko-KR" and say.get("voice") == "Polly.Seoyeon" for say in root.iter("Say"))
    assert root[2].text == gather.get("action") and root[2].get("method") == "POST"


def test_menu_again_has_no_greeting_but_the_notice_and_the_flag() -> None:
    root = _root(
        ivr.menu(
            BASE, greeting=None, prompt="다시", attempt=2, notice=ivr.WRONG_KEY, flag="blacklist", green_channel=True
        )
    )
    assert [child.tag for child in root] == ["Say", "Gather", "Redirect"]
    assert root[0].text == ivr.WRONG_KEY
    assert root[1].get("action") == f"{BASE}/twilio/gather?attempt=2&flag=blacklist"


def test_a_green_channel_caller_is_greeted_for_priority() -> None:
    root = _root(ivr.menu(BASE, greeting="안녕하십니까", prompt="p", green_channel=True))
    assert [say.text for say in root.findall("Say")] == ["안녕하십니까", "소중한 고객님, 우선 연결해 드리겠습니다."]


def test_enqueue_names_the_twilio_queue_after_ours() -> None:
    root = _root(ivr.enqueue(BASE, queue_name="consult", label="보험 상담"))
    enqueue = root.find("Enqueue")
    assert enqueue is not None and enqueue.text == "consult"
    assert enqueue.attrib == {
        "waitUrl": f"{BASE}/twilio/wait?queue=consult",
        "waitUrlMethod": "POST",
        "action": f"{BASE}/twilio/queue-result?queue=consult",
        "method": "POST",
    }
    assert root.find("Say").text == "보험 상담 담당 상담원에게 연결해 드리겠습니다. 잠시만 기다려 주십시오."


@pytest.mark.parametrize(
    ("position", "said"), [(1, "첫 번째"), (2, "두 번째"), (3, "세 번째"), (10, "열 번째"), (11, "11번째")]
)
def test_wait_says_the_place_in_line_in_korean_then_hold_audio(position: int, said: str) -> None:
    root = _root(ivr.wait(position=position, hold_audio_url=f"{BASE}/twilio/hold.wav"))
    assert [child.tag for child in root] == ["Say", "Play"]
    assert root[0].text == f"현재 고객님의 대기 순서는 {said}입니다. 잠시만 기다려 주시면 연결해 드리겠습니다."
    assert root[1].text == f"{BASE}/twilio/hold.wav"


def test_wait_without_a_place_or_audio_still_says_something_and_pauses() -> None:
    root = _root(ivr.wait(position=None, hold_audio_url=None))
    assert [child.tag for child in root] == ["Say", "Pause"]
    assert "상담원이 모두 통화 중입니다" in root[0].text


def test_a_message_is_recorded_through_the_usual_recording_callback_then_goodbye() -> None:
    root = _root(
        ivr.take_message(BASE, message=ivr.closed_message("보험 상담", "상담 시간은 ..."), queue_name="consult")
    )
    assert [child.tag for child in root] == ["Say", "Record", "Say", "Hangup"]
    assert root[0].text.startswith("지금은 보험 상담 상담 시간이 아닙니다.")
    record = root[1]
    assert record.get("action") == f"{BASE}/twilio/desk-message?queue=consult"
    assert record.get("recordingStatusCallback") == f"{BASE}/twilio/recording"
    assert record.get("recordingStatusCallbackEvent") == "completed"
    assert record.get("playBeep") == "true"


@pytest.mark.parametrize(
    ("endpoint", "noun", "text"),
    [
        ("client:kim.minsu", "Client", "kim.minsu"),
        ("sip:1001@pbx.example.com", "Sip", "sip:1001@pbx.example.com"),
        ("+821012345678", "Number", "+821012345678"),
    ],
)
def test_a_caller_is_connected_to_the_agents_endpoint_recorded_two_channel(endpoint: str, noun: str, text: str) -> None:
    root = _root(ivr.connect_agent("https://hotline.example.com", endpoint=endpoint, queue_name="accident"))
    stream = root.find("Start/Stream")
    assert stream is not None
    assert (stream.get("url"), stream.get("track")) == ("wss://hotline.example.com/twilio/media", "both_tracks")
    dial = root.find("Dial")
    assert dial is not None
    assert dial.get("record") == "record-from-answer-dual"
    assert dial.get("recordingStatusCallback") == "https://hotline.example.com/twilio/recording"
    assert dial.get("action") == "https://hotline.example.com/twilio/desk-dial?queue=accident"
    assert [(child.tag, child.text) for child in dial] == [(noun, text)]


def test_the_media_stream_can_be_left_out() -> None:
    root = _root(ivr.connect_agent("http://127.0.0.1:8080", endpoint="client:a", queue_name="q", stream=False))
    assert root.find("Start") is None and root.find("Dial/Client") is not None
