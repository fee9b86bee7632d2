"""Twilio Media Streams frames read strictly: the order, the types Twilio sends, and every refusal with its reason."""

from __future__ import annotations

import base64

import orjson
import pytest

from telephony.media_stream import (
    Connected,
    Dtmf,
    Mark,
    Media,
    MediaFrameRefused,
    MediaStreamReader,
    MediaStreamWriter,
    Started,
    Stopped,
    media_frames,
)

CALL = "CA" + "1" * 32
STREAM = "MZ" + "2" * 32


def _writer() -> MediaStreamWriter:
    return MediaStreamWriter(account_sid="AC" + "0" * 32, call_sid=CALL, stream_sid=STREAM)


def _opened() -> tuple[MediaStreamReader, MediaStreamWriter]:
    reader, writer = MediaStreamReader(), _writer()
    reader.read(writer.connected())
    reader.read(writer.start())
    return reader, writer


def test_a_whole_stream_reads_in_order() -> None:
    reader, writer = MediaStreamReader(), _writer()
    frames = [writer.connected(), writer.start(), *media_frames(writer, b"\x00" * 320, b"\x7f" * 160)]
    frames += [writer.dtmf("5"), writer.mark("greeting"), writer.stop()]
    events = [reader.read(frame) for frame in frames]
    assert isinstance(events[0], Connected)
    assert events[1] == Started(STREAM, CALL, "AC" + "0" * 32, ("inbound", "outbound"), {})
    media = [e for e in events if isinstance(e, Media)]
    assert [(m.track, m.chunk, m.timestamp_ms) for m in media] == [
        ("inbound", 1, 0),
        ("outbound", 1, 0),
        ("inbound", 2, 20),
        ("outbound", 2, 20),
    ]
    assert media[0].payload == b"\x00" * 160 and media[3].payload == b"\xff" * 160
    assert events[-3:] == [Dtmf("inbound", "5"), Mark("greeting"), Stopped(CALL)]
    assert reader.stopped


def _media(**changes: object) -> str:
    frame: dict[str, object] = {
        "event": "media",
        "sequenceNumber": "3",
        "streamSid": STREAM,
        "media": {"track": "inbound", "chunk": "1", "timestamp": "0", "payload": base64.b64encode(b"\xff").decode()},
    }
    for key, value in changes.items():
        if key in ("track", "chunk", "timestamp", "payload"):
            frame["media"][key] = value  # type: ignore[index]
        else:
            frame[key] = value
    return orjson.dumps(frame).decode()


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ('{"event": "hello"}', "unknown event"),
        ("[1, 2]", "not a JSON object"),
        ("not json", "not JSON"),
        (_media(sequenceNumber=3), "sequenceNumber is not a non-empty string"),
        (_media(chunk=1), "chunk is not a non-empty string"),
        (_media(timestamp="1.5"), "timestamp is not a string of digits"),
        (_media(payload="***"), "payload is not base64"),
        (_media(track="both"), "track"),
        (_media(streamSid="MZ" + "9" * 32), "another stream"),
        (_media(media="x"), "media is not a JSON object"),
    ],
)
def test_malformed_frames_are_refused_with_their_reason(frame: str, reason: str) -> None:
    reader, _ = _opened()
    with pytest.raises(MediaFrameRefused, match=reason):
        reader.read(frame)


def test_frames_out_of_order_are_refused() -> None:
    writer = _writer()
    with pytest.raises(MediaFrameRefused, match="before start"):
        reader = MediaStreamReader()
        reader.read(writer.connected())
        reader.read(writer.media("inbound", b"\xff", 0))
    reader, writer = _opened()
    reader.read(writer.media("inbound", b"\xff", 0))
    again = writer.media("inbound", b"\xff", 20).replace('"chunk":"2"', '"chunk":"1"')
    with pytest.raises(MediaFrameRefused, match="repeated or out of order"):
        reader.read(again)
    reader, writer = _opened()
    reader.read(writer.stop())
    with pytest.raises(MediaFrameRefused, match="after stop"):
        reader.read(writer.media("inbound", b"\xff", 0))


def test_a_stream_of_another_format_is_refused() -> None:
    writer = _writer()
    start = orjson.loads(writer.start())
    start["start"]["mediaFormat"]["sampleRate"] = 16000
    reader = MediaStreamReader()
    reader.read(writer.connected())
    with pytest.raises(MediaFrameRefused, match="audio/x-mulaw, 8000 Hz"):
        reader.read(orjson.dumps(start))
