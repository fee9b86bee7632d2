"""Twilio Media Streams frames, apart from the socket: JSON text in, internal events out (and back, for the simulator).

The reader is strict: a frame that is not one of `connected`, `start`, `media`, `dtmf`, `mark`, `stop`, a field of
the wrong type (`sequenceNumber`, `chunk` and `timestamp` are strings of digits), a payload that is not base64, a
track Twilio does not send, a frame out of order (`connected`, then `start`, then the rest, nothing after `stop`)
or of another stream raises `MediaFrameRefused` with the reason; the socket closes on it. Keys Twilio may add to a
known frame are ignored.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Literal

import orjson

EVENTS = ("connected", "start", "media", "dtmf", "mark", "stop")
TRACKS = {"inbound": "inbound", "outbound": "outbound", "inbound_track": "inbound", "outbound_track": "outbound"}
MULAW = "audio/x-mulaw"
RATE = 8000
# A media frame carries 20 ms (160 bytes); Twilio never sends more than a few hundred milliseconds in one.
MAX_PAYLOAD_BYTES = 8000
MAX_FRAME_BYTES = 16384

Track = Literal["inbound", "outbound"]


class MediaFrameRefused(ValueError):
    """A frame the media socket does not take; the message is the reason logged when the socket closes."""


@dataclass(frozen=True)
class Connected:
    protocol: str
    version: str


@dataclass(frozen=True)
class Started:
    stream_sid: str
    call_sid: str
    account_sid: str
    tracks: tuple[Track, ...]
    custom_parameters: dict[str, str]


@dataclass(frozen=True)
class Media:
    track: Track
    chunk: int
    timestamp_ms: int
    payload: bytes


@dataclass(frozen=True)
class Dtmf:
    track: Track
    digit: str


@dataclass(frozen=True)
class Mark:
    name: str


@dataclass(frozen=True)
class Stopped:
    call_sid: str


MediaEvent = Connected | Started | Media | Dtmf | Mark | Stopped


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MediaFrameRefused(f"{where} is not a JSON object")
    return value


def _text(frame: dict[str, Any], key: str, where: str) -> str:
    value = frame.get(key)
    if not isinstance(value, str) or not value:
        raise MediaFrameRefused(f"{where}.{key} is not a non-empty string")
    return value


def _digits(frame: dict[str, Any], key: str, where: str) -> int:
    value = _text(frame, key, where)
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise MediaFrameRefused(f"{where}.{key} is not a string of digits")
    return int(value)


def _track(frame: dict[str, Any], where: str) -> Track:
    name = _text(frame, "track", where)
    if name not in TRACKS:
        raise MediaFrameRefused(f"{where}.track {name[:20]!r} is not inbound or outbound")
    return TRACKS[name]  # type: ignore[return-value]


def _start(body: dict[str, Any]) -> Started:
    fmt = _object(body.get("mediaFormat"), "start.mediaFormat")
    if fmt.get("encoding") != MULAW or fmt.get("sampleRate") != RATE or fmt.get("channels") != 1:
        raise MediaFrameRefused("start.mediaFormat is not audio/x-mulaw, 8000 Hz, 1 channel")
    tracks = body.get("tracks")
    if not isinstance(tracks, list) or not tracks or not all(isinstance(t, str) and t in TRACKS for t in tracks):
        raise MediaFrameRefused("start.tracks is not a list of inbound and outbound")
    parameters = body.get("customParameters", {})
    if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
        raise MediaFrameRefused("start.customParameters is not an object of strings")
    return Started(
        stream_sid=_text(body, "streamSid", "start"),
        call_sid=_text(body, "callSid", "start"),
        account_sid=_text(body, "accountSid", "start"),
        tracks=tuple(dict.fromkeys(TRACKS[t] for t in tracks)),  # type: ignore[misc]
        custom_parameters=dict(parameters),
    )


def _media(body: dict[str, Any]) -> Media:
    encoded = _text(body, "payload", "media")
    if len(encoded) > MAX_PAYLOAD_BYTES * 4 // 3 + 4:
        raise MediaFrameRefused("media.payload is too long for one frame")
    try:
        payload = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as err:
        raise MediaFrameRefused("media.payload is not base64") from err
    return Media(
        track=_track(body, "media"),
        chunk=_digits(body, "chunk", "media"),
        timestamp_ms=_digits(body, "timestamp", "media"),
        payload=payload,
    )


def parse_frame(text: str | bytes) -> MediaEvent:
    """One frame as an event, checked on its own (order is the reader's business)."""
    return _parse(text)[0]


def _parse(text: str | bytes) -> tuple[MediaEvent, int, str | None]:
    """The frame's event, its sequence number (0 for `connected`) and the stream it names."""
    if len(text) > MAX_FRAME_BYTES:
        raise MediaFrameRefused("frame too large")
    try:
        frame = _object(orjson.loads(text), "frame")
    except orjson.JSONDecodeError as err:
        raise MediaFrameRefused("frame is not JSON") from err
    event = frame.get("event")
    if event not in EVENTS:
        raise MediaFrameRefused(f"unknown event {str(event)[:20]!r}")
    if event == "connected":
        connected = Connected(_text(frame, "protocol", "connected"), _text(frame, "version", "connected"))
        return connected, 0, None
    sequence = _digits(frame, "sequenceNumber", event)
    stream_sid = frame.get("streamSid")
    if stream_sid is not None and not isinstance(stream_sid, str):
        raise MediaFrameRefused(f"{event}.streamSid is not a string")
    return _event(event, _object(frame.get(event), event)), sequence, stream_sid


def _event(event: str, body: dict[str, Any]) -> MediaEvent:
    if event == "start":
        return _start(body)
    if event == "media":
        return _media(body)
    if event == "dtmf":
        digit = _text(body, "digit", "dtmf")
        if len(digit) != 1 or digit not in "0123456789*#":
            raise MediaFrameRefused("dtmf.digit is not a key")
        return Dtmf(track=_track(body, "dtmf"), digit=digit)
    if event == "mark":
        return Mark(name=_text(body, "name", "mark"))
    return Stopped(call_sid=_text(body, "callSid", "stop"))


class MediaStreamReader:
    """The frames of one stream in order: `connected`, `start`, then media, dtmf and marks, and `stop` last."""

    def __init__(self) -> None:
        self.stream_sid: str | None = None
        self.started: Started | None = None
        self.stopped = False
        self._connected = False
        self._sequence = -1
        self._chunks: dict[str, int] = {}

    def read(self, text: str | bytes) -> MediaEvent:
        """The next frame's event; MediaFrameRefused for a malformed frame or one out of order."""
        event, sequence, stream_sid = _parse(text)
        if self.stopped:
            raise MediaFrameRefused("frame after stop")
        if isinstance(event, Connected):
            if self._connected:
                raise MediaFrameRefused("connected twice")
            self._connected = True
            return event
        if sequence <= self._sequence:
            raise MediaFrameRefused(f"sequenceNumber {sequence} not after {self._sequence}")
        self._sequence = sequence
        if isinstance(event, Started):
            if self.started is not None:
                raise MediaFrameRefused("start twice")
            if stream_sid not in (None, event.stream_sid):
                raise MediaFrameRefused("start names two streams")
            self.started, self.stream_sid = event, event.stream_sid
            return event
        if self.started is None:
            raise MediaFrameRefused(f"{type(event).__name__.lower()} before start")
        if stream_sid != self.stream_sid:
            raise MediaFrameRefused("frame of another stream")
        if isinstance(event, Media):
            if event.track not in self.started.tracks:
                raise MediaFrameRefused(f"media of track {event.track} the stream did not start")
            if event.chunk <= self._chunks.get(event.track, 0):
                raise MediaFrameRefused(f"media.chunk {event.chunk} of {event.track} repeated or out of order")
            self._chunks[event.track] = event.chunk
        if isinstance(event, Stopped):
            if event.call_sid != self.started.call_sid:
                raise MediaFrameRefused("stop of another call")
            self.stopped = True
        return event


class MediaStreamWriter:
    """Frames as Twilio sends them, for the simulator and the tests."""

    def __init__(self, *, account_sid: str, call_sid: str, stream_sid: str) -> None:
        self.account_sid, self.call_sid, self.stream_sid = account_sid, call_sid, stream_sid
        self._sequence = 0
        self._chunks = {"inbound": 0, "outbound": 0}

    def _next(self, event: str, body: dict[str, Any]) -> str:
        self._sequence += 1
        frame = {"event": event, "sequenceNumber": str(self._sequence), event: body, "streamSid": self.stream_sid}
        return orjson.dumps(frame).decode()

    def connected(self) -> str:
        return orjson.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}).decode()

    def start(self, tracks: tuple[str, ...] = ("inbound", "outbound")) -> str:
        return self._next(
            "start",
            {
                "accountSid": self.account_sid,
                "streamSid": self.stream_sid,
                "callSid": self.call_sid,
                "tracks": list(tracks),
                "mediaFormat": {"encoding": MULAW, "sampleRate": RATE, "channels": 1},
                "customParameters": {},
            },
        )

    def media(self, track: str, payload: bytes, timestamp_ms: int) -> str:
        self._chunks[track] += 1
        body = {
            "track": track,
            "chunk": str(self._chunks[track]),
            "timestamp": str(timestamp_ms),
            "payload": base64.b64encode(payload).decode(),
        }
        return self._next("media", body)

    def dtmf(self, digit: str, track: str = "inbound_track") -> str:
        return self._next("dtmf", {"track": track, "digit": digit})

    def mark(self, name: str) -> str:
        return self._next("mark", {"name": name})

    def stop(self) -> str:
        return self._next("stop", {"accountSid": self.account_sid, "callSid": self.call_sid})


def media_frames(writer: MediaStreamWriter, inbound: bytes, outbound: bytes, *, chunk: int = 160) -> list[str]:
    """Both tracks of a call as Twilio streams them: 20 ms media frames of each track, interleaved by time (the
    shorter track padded with mu-law silence)."""
    length = max(len(inbound), len(outbound))
    silence = b"\xff"
    inbound, outbound = inbound.ljust(length, silence), outbound.ljust(length, silence)
    frames = []
    for offset in range(0, length, chunk):
        timestamp = offset * 1000 // RATE
        frames.append(writer.media("inbound", inbound[offset : offset + chunk], timestamp))
        frames.append(writer.media("outbound", outbound[offset : offset + chunk], timestamp))
    return frames
