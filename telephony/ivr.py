"""TwiML of the caller's path through the desk, in Korean: the menu (<Gather> of keys and speech), the queue
(<Enqueue> with a wait URL), the wait answer (position and hold audio), and a message after hours (<Record>).

Pure functions of their arguments: the menus themselves are data the gateway reads from the store."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from telephony.twiml import LANGUAGE, PRIORITY_GREETING, THANKS, VOICE, record_caller

NO_INPUT = "입력이 확인되지 않았습니다. 다시 한 번 안내해 드리겠습니다."
WRONG_KEY = "잘못 누르셨습니다. 다시 한 번 안내해 드리겠습니다."
NOT_UNDERSTOOD = "말씀하신 내용을 이해하지 못했습니다. 다시 한 번 안내해 드리겠습니다."
CONNECTING = "{label} 담당 상담원에게 연결해 드리겠습니다. 잠시만 기다려 주십시오."
DEFAULT_CONNECTING = "상담원에게 연결해 드리겠습니다. 잠시만 기다려 주십시오."
POSITION = "현재 고객님의 대기 순서는 {ordinal}입니다. 잠시만 기다려 주시면 연결해 드리겠습니다."
WAITING = "상담원이 모두 통화 중입니다. 잠시만 기다려 주시면 연결해 드리겠습니다."
CLOSED = (
    "지금은 {label} 상담 시간이 아닙니다. {hours} "
    "삐 소리 후에 성함과 용건을 남겨 주시면 상담 시간에 담당자가 연락드리겠습니다."
)
# Said when a green-channel caller joins a queue (the menu greeted them already).
PRIORITY_QUEUE = "우선 연결 고객님으로 대기 순서를 앞당겨 연결해 드리겠습니다."
UNSERVED = "죄송합니다. 지금은 연결이 어렵습니다. 삐 소리 후에 용건을 남겨 주시면 담당자가 곧 연락드리겠습니다."
_ORDINALS = ("첫", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열")
GATHER_TIMEOUT = 5


def _say(target: VoiceResponse | Gather, text: str) -> None:
    target.say(text, language=LANGUAGE, voice=VOICE)


def _xml(response: VoiceResponse) -> str:
    return str(response.to_xml(xml_declaration=True))


def _url(base_url: str, path: str, **query: str | int) -> str:
    return f"{base_url}{path}?{urlencode(query)}" if query else f"{base_url}{path}"


def ordinal(position: int) -> str:
    """A place in line as said in Korean: 첫 번째, 두 번째, ... 열 번째, then 11번째."""
    if 1 <= position <= len(_ORDINALS):
        return f"{_ORDINALS[position - 1]} 번째"
    return f"{position}번째"


def menu(
    base_url: str,
    *,
    greeting: str | None,
    prompt: str,
    hints: str = "",
    attempt: int = 1,
    green_channel: bool = False,
    notice: str | None = None,
    flag: str | None = None,
) -> str:
    """The menu: greeting (first time only), a notice (no input, wrong key), then the prompt inside a <Gather> of
    one key or Korean speech. No input falls through to a <Redirect> to the same action, which counts the attempt.

    `flag` travels in the action URL (which Twilio signs) for the next answer: "blacklist" when the caller matched
    a blacklist entry anywhere in the company."""
    query: dict[str, str | int] = {"attempt": attempt}
    if flag:
        query["flag"] = flag
    action = _url(base_url, "/twilio/gather", **query)
    response = VoiceResponse()
    if greeting:
        _say(response, greeting)
        if green_channel:
            _say(response, PRIORITY_GREETING)
    if notice:
        _say(response, notice)
    gather = Gather(
        input="dtmf speech",
        language=LANGUAGE,
        num_digits=1,
        timeout=GATHER_TIMEOUT,
        speech_timeout="auto",
        action=action,
        method="POST",
        **({"hints": hints} if hints else {}),
    )
    _say(gather, prompt)
    response.append(gather)
    response.redirect(action, method="POST")
    return _xml(response)


def enqueue(base_url: str, *, queue_name: str, label: str | None, green_channel: bool = False) -> str:
    """Into the Twilio queue named after ours, with the wait URL and the action that reports how the wait ended."""
    response = VoiceResponse()
    _say(response, CONNECTING.format(label=label) if label else DEFAULT_CONNECTING)
    if green_channel:
        _say(response, PRIORITY_QUEUE)
    response.enqueue(
        queue_name,
        wait_url=_url(base_url, "/twilio/wait", queue=queue_name),
        wait_url_method="POST",
        action=_url(base_url, "/twilio/queue-result", queue=queue_name),
        method="POST",
    )
    return _xml(response)


def wait(*, position: int | None, hold_audio_url: str | None) -> str:
    """What a waiting caller hears, repeated by Twilio: the place in line in Korean, then hold audio."""
    response = VoiceResponse()
    _say(response, POSITION.format(ordinal=ordinal(position)) if position else WAITING)
    if hold_audio_url:
        response.play(hold_audio_url)
    else:
        response.pause(length=10)
    return _xml(response)


def take_message(base_url: str, *, message: str, queue_name: str, max_length: int = 120) -> str:
    """A message (closed queue, or no way to serve now), then the caller's message recorded for a call back.

    The recording goes through the usual pipeline (recording callback, fetch, transcription) of the call."""
    response = VoiceResponse()
    _say(response, message)
    action = _url(base_url, "/twilio/desk-message", queue=queue_name)
    record_caller(response, base_url, action=action, max_length=max_length)
    _say(response, THANKS)
    response.hangup()
    return _xml(response)


def closed_message(label: str, hours: str) -> str:
    """The default words of a closed queue; `hours` is a sentence saying when it is open."""
    return CLOSED.format(label=label, hours=hours)


def goodbye() -> str:
    """Thanks, then hang up."""
    response = VoiceResponse()
    _say(response, THANKS)
    response.hangup()
    return _xml(response)


# How long an agent's endpoint rings before the call goes back to the queue.
AGENT_RING_SECONDS = 20


def media_stream_url(base_url: str) -> str:
    """The live-audio WebSocket of our own host (wss://<host of the base URL>/twilio/media)."""
    return "wss://" + urlsplit(base_url).netloc + "/twilio/media"


def connect_agent(base_url: str, *, endpoint: str, queue_name: str, stream: bool = True) -> str:
    """Take the caller out of the queue to the agent who accepted: the call's audio streamed (both tracks) to
    /twilio/media when `stream`, then <Dial> to the agent's endpoint (`client:name` -> <Client>, `sip:` -> <Sip>,
    an E.164 number -> <Number>), recorded two-channel from the answer, its recording reported to our callback and
    its end to /twilio/desk-dial."""
    response = VoiceResponse()
    if stream:
        start = response.start()
        start.stream(url=media_stream_url(base_url), track="both_tracks")
    dial = Dial(
        action=_url(base_url, "/twilio/desk-dial", queue=queue_name),
        method="POST",
        timeout=AGENT_RING_SECONDS,
        record="record-from-answer-dual",
        recording_status_callback=f"{base_url}/twilio/recording",
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
    )
    if endpoint.startswith("client:"):
        dial.client(endpoint.removeprefix("client:"))
    elif endpoint.startswith(("sip:", "sips:")):
        dial.sip(endpoint)
    else:
        dial.number(endpoint)
    response.append(dial)
    return _xml(response)
