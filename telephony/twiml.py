"""TwiML answers of the hotline, in Korean."""

from __future__ import annotations

from functools import lru_cache

from twilio.twiml.voice_response import VoiceResponse

LANGUAGE = "ko-KR"
VOICE = "Polly.Seoyeon"
GREETING = "안녕하십니까, 고객님. 한빛손해보험 고객센터입니다. 통화 내용은 정확한 상담을 위해 녹음됩니다."
PROMPT = "사고 접수, 긴급 출동, 보험 상담, 불편 사항, 변경 신고 등 용건을 삐 소리 후에 말씀해 주십시오."
PRIORITY_GREETING = "소중한 고객님, 우선 연결해 드리겠습니다."
THANKS = "말씀하신 내용이 접수되었습니다. 담당자가 곧 연락드리겠습니다. 감사합니다."
APOLOGY = "죄송합니다. 잠시 후 담당자가 연결해 드리겠습니다."
PRIORITY_SEGMENTS = frozenset({"quality", "key"})


def _say(response: VoiceResponse, text: str) -> None:
    response.say(text, language=LANGUAGE, voice=VOICE)


@lru_cache(maxsize=64)
def incoming_call(base_url: str, *, segment: str | None, max_length: int = 300) -> str:
    """Greeting, then the caller's account recorded with a status callback; priority for good customers."""
    response = VoiceResponse()
    _say(response, GREETING)
    if segment in PRIORITY_SEGMENTS:
        _say(response, PRIORITY_GREETING)
    _say(response, PROMPT)
    record_caller(response, base_url, action=f"{base_url}/twilio/record-done", max_length=max_length)
    _say(response, THANKS)
    return str(response.to_xml(xml_declaration=True))


def recorded() -> str:
    """After the caller has spoken: thanks and goodbye."""
    response = VoiceResponse()
    _say(response, THANKS)
    response.hangup()
    return str(response.to_xml(xml_declaration=True))


def fallback() -> str:
    """What the caller hears when something behind the gateway failed: never an error."""
    response = VoiceResponse()
    _say(response, GREETING)
    _say(response, APOLOGY)
    response.enqueue("hotline")
    return str(response.to_xml(xml_declaration=True))


def empty() -> str:
    """An empty answer for callbacks that need no instructions."""
    return str(VoiceResponse().to_xml(xml_declaration=True))


def record_caller(response: VoiceResponse, base_url: str, *, action: str, max_length: int) -> None:
    """`<Record>` what the caller says (after a beep, silence trimmed), its recording reported to our callback."""
    response.record(
        action=action,
        method="POST",
        max_length=max_length,
        timeout=5,
        play_beep=True,
        trim="trim-silence",
        recording_status_callback=f"{base_url}/twilio/recording",
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
    )
