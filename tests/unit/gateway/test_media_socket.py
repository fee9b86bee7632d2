"""GET /twilio/media on SQLite and the real Redis, with stand-in engines in real spawned transcriber processes:
the signed upgrade, strict frames, live text on the agent's desk (redacted, stored), back-pressure (a blocked pool
does not stall the socket) and a transcriber killed mid-call."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import Session, select

from crm_store.calls.tables import LiveTranscriptSegment
from crm_store.db import async_session_scope
from crm_store.desk.agent_tables import AgentState, DeskAgent
from gateway.app import create_app
from gateway.keys import SESSIONS, SIGNATURE
from gateway.live_call import stored_transcript_frames
from gateway.live_simulator import stream_call
from gateway.media_socket import LIVE_BACKLOG, LIVE_CALLS, LIVE_ENGINE, LIVE_ENGINE_OPTIONS, LIVE_POOL, PATH
from telephony.media_stream import MediaStreamWriter, media_frames
from tests.customer_helpers import Org
from tests.live_helpers import telephone_audio, until
from workers.settings import Settings

SID = "CA" + "ab" * 16
ACCOUNT = "AC" + "0" * 32
DESK = "/api/v1/desk/ws"


@pytest.fixture
def live_settings(settings: Settings, redis_url: str) -> Settings:
    return settings.model_copy(update={"redis_url": redis_url, "live_transcribers": 1})


def _live_app(live_settings: Settings, **options: Any) -> Any:
    app = create_app(live_settings, embedded_worker=False)
    app[LIVE_ENGINE] = "tests.live_helpers:scripted_engine"
    app[LIVE_ENGINE_OPTIONS] = options
    return app


@pytest.fixture
async def live_client(aiohttp_client: Any, live_settings: Settings, org: Org) -> Any:
    return await aiohttp_client(_live_app(live_settings))


@pytest.fixture
def gate(tmp_path: Path) -> Path:
    """Recognition waits until this file exists."""
    return tmp_path / "gate"


@pytest.fixture
async def gated_client(aiohttp_client: Any, live_settings: Settings, org: Org, gate: Path) -> Any:
    return await aiohttp_client(_live_app(live_settings, gate=str(gate)))


def _signed(client: Any) -> dict[str, str]:
    return {"X-Twilio-Signature": client.app[SIGNATURE].sign_socket(PATH)}


def _on_call(engine: Any, org: Org, username: str = "agent.seocho") -> None:
    with Session(engine) as session:
        session.add(DeskAgent(staff_id=org.staff[username], state=AgentState.ON_CALL.value, call_sid=SID))
        session.commit()


def _call_frames(inbound: bytes, outbound: bytes = b"") -> tuple[list[str], list[str], str]:
    writer = MediaStreamWriter(account_sid=ACCOUNT, call_sid=SID, stream_sid="MZ" + "cd" * 16)
    return [writer.connected(), writer.start()], media_frames(writer, inbound, outbound), writer.stop()


async def _desk_frames(desk: Any, done: Any, seconds: float = 60.0) -> list[dict[str, Any]]:
    """The desk's frames until `done(frames)` holds."""
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(seconds):
        while not done(frames):
            frames.append(await desk.receive_json())
    return frames


def _finals(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "transcript" and f["final"]]


async def _live_call_on_desk(client: Any, org: Org) -> list[dict[str, Any]]:
    """agent.seocho's desk open while a two-track call streams over the signed socket: the desk's frames until both
    speakers' finals and a suggestion have come."""
    opening, media, stop = _call_frames(telephone_audio(), telephone_audio("zeroth_0352.ulaw8k.wav"))
    async with client.ws_connect(DESK, headers=org.auth("agent.seocho")) as desk:
        assert (await desk.receive_json())["type"] == "state"
        async with client.ws_connect(PATH, headers=_signed(client)) as ws:
            for frame in [*opening, *media, stop]:
                await ws.send_str(frame)
            return await _desk_frames(
                desk,
                lambda got: (
                    {f["speaker"] for f in _finals(got)} == {"customer", "agent"}
                    and any(f["type"] == "suggestion" for f in got)
                ),
            )


@pytest.mark.parametrize("signature", [None, "bm90IGEgc2lnbmF0dXJl", "over-http"])
async def test_the_upgrade_needs_twilios_signature_over_the_wss_url(live_client: Any, signature: str | None) -> None:
    headers = {}
    if signature == "over-http":
        # Signed over the webhook form of the URL (http://), not the socket's: refused.
        headers["X-Twilio-Signature"] = live_client.app[SIGNATURE].sign(PATH, {})
    elif signature:
        headers["X-Twilio-Signature"] = signature
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await live_client.ws_connect(PATH, headers=headers)
    assert refused.value.status == 403


async def test_a_signed_plain_get_is_no_upgrade(live_client: Any) -> None:
    answer = await live_client.get(PATH, headers=_signed(live_client))
    assert answer.status == 400


@pytest.mark.parametrize(
    "bad",
    [
        '{"event": "hello"}',
        '{"event": "media", "sequenceNumber": 3, "media": {}, "streamSid": "MZ1"}',
        "not json",
    ],
)
async def test_a_malformed_frame_closes_the_socket_with_its_reason(live_client: Any, bad: str) -> None:
    opening, media, _stop = _call_frames(telephone_audio())
    async with live_client.ws_connect(PATH, headers=_signed(live_client)) as ws:
        for frame in [*opening, *media[:4]]:
            await ws.send_str(frame)
        await ws.send_str(bad)
        closing = await asyncio.wait_for(ws.receive(), 10)
    assert closing.type is aiohttp.WSMsgType.CLOSE
    assert ws.close_code == 1008
    assert closing.extra


async def test_live_text_reaches_the_agents_desk_redacted_and_is_stored(
    live_client: Any, org: Org, engine: Any
) -> None:
    _on_call(engine, org)
    frames = await _live_call_on_desk(live_client, org)
    finals = _finals(frames)
    for frame in finals:
        assert frame["call_sid"] == SID
        assert 0 <= frame["start"] < frame["end"] <= 7.5
        assert "[전화번호]" in frame["text"] and "[주민번호]" in frame["text"]
        assert "2345" not in frame["text"] and "1234567" not in frame["text"]
    suggestion = next(f for f in frames if f["type"] == "suggestion")
    assert (suggestion["call_type"], suggestion["topic"], suggestion["urgency"]) == (
        "report",
        "report.auto_accident",
        "high",
    )
    assert suggestion["reasons"]
    assert {alert["suggest"] for alert in suggestion["alerts"]} == {"dispatch"}
    fills = suggestion["fills"]
    assert list(fills) == ["accident_report"]
    assert (fills["accident_report"]["where"]["value"], fills["accident_report"]["vehicle"]["value"]) == (
        "경부고속도로",
        "12가3456",
    )
    assert fills["accident_report"]["when"]["text"] == "오늘 오후 3시쯤"
    with Session(engine) as session:
        stored = session.exec(select(LiveTranscriptSegment).where(LiveTranscriptSegment.call_sid == SID)).all()
    assert {s.speaker for s in stored} == {"customer", "agent"}
    assert all("010-2345" not in s.text and "[전화번호]" in s.text for s in stored)


async def test_a_blocked_pool_never_stalls_the_socket(gated_client: Any, org: Org, engine: Any, gate: Path) -> None:
    _on_call(engine, org)
    # Four recordings back to back on the customer's track: several utterances, none decoded while the gate is shut.
    audio = b"".join(telephone_audio(name) for name in ("zeroth_0294.ulaw8k.wav", "zeroth_0352.ulaw8k.wav") * 2)
    opening, media, stop = _call_frames(audio)
    async with gated_client.ws_connect(DESK, headers=org.auth("agent.seocho")) as desk:
        assert (await desk.receive_json())["type"] == "state"
        async with gated_client.ws_connect(PATH, headers=_signed(gated_client)) as ws:
            for frame in [*opening, *media, stop]:
                await ws.send_str(frame)
            # The server read every frame up to `stop` (the call is closing) while recognition was blocked.
            calls = gated_client.app[LIVE_CALLS]
            await until(lambda: any(call.queue.closing for call in calls), seconds=60)
            behind = await _desk_frames(desk, lambda got: any(f["type"] == "transcript_status" for f in got))
            assert behind[-1]["behind"] is True and behind[-1]["waiting"] >= 2
            assert not _finals(behind) and not ws.closed
            await asyncio.to_thread(gate.touch)
            frames = await _desk_frames(
                desk, lambda got: any(f["type"] == "transcript_status" and not f["behind"] for f in got)
            )
            closing = await asyncio.wait_for(ws.receive(), 30)
            assert closing.type is aiohttp.WSMsgType.CLOSE and ws.close_code == 1000
    assert len(_finals(frames)) >= 3
    assert all(f["speaker"] == "customer" for f in _finals(frames))


async def test_a_transcriber_killed_mid_call_is_replaced_and_the_call_goes_on(
    gated_client: Any, org: Org, engine: Any, gate: Path
) -> None:
    _on_call(engine, org)
    opening, media, stop = _call_frames(telephone_audio())
    first, rest = media[: len(media) // 2 + 150], media[len(media) // 2 + 150 :]
    pool, backlog = gated_client.app[LIVE_POOL], gated_client.app[LIVE_BACKLOG]
    async with gated_client.ws_connect(DESK, headers=org.auth("agent.seocho")) as desk:
        assert (await desk.receive_json())["type"] == "state"
        async with gated_client.ws_connect(PATH, headers=_signed(gated_client)) as ws:
            for frame in [*opening, *first]:
                await ws.send_str(frame)
            # An utterance (a partial at least) is in the transcriber's hands, held at the gate: kill the process.
            await until(
                lambda: bool(pool.processes[0].pid and any(c.running for c in backlog._calls.values())), seconds=60
            )
            os.kill(pool.processes[0].pid, signal.SIGKILL)
            await until(lambda: pool.replaced == 1, seconds=60)
            await asyncio.to_thread(gate.touch)
            for frame in [*rest, stop]:
                await ws.send_str(frame)
            frames = await _desk_frames(desk, lambda got: bool(_finals(got)))
    assert pool.replaced == 1
    assert _finals(frames)[0]["speaker"] == "customer"
    assert pool.processes[0].pid is not None and pool.processes[0].jobs >= 1


async def test_the_simulators_stream_is_taken_whole_and_closed_once_decoded(
    live_client: Any, org: Org, engine: Any
) -> None:
    sent: list[int] = []
    result = await stream_call(
        connect_url=str(live_client.make_url(PATH)).replace("http://", "ws://"),
        signer=live_client.app[SIGNATURE],
        account_sid=ACCOUNT,
        call_sid=SID,
        inbound=telephone_audio(),
        outbound=telephone_audio("zeroth_0352.ulaw8k.wav"),
        speed=0,
        sent=lambda timestamp, _at: sent.append(timestamp),
    )
    assert result.close_code == 1000
    assert sent == list(range(0, sent[-1] + 20, 20)) and result.frames == 2 * len(sent) + 3
    with Session(engine) as session:
        stored = session.exec(select(LiveTranscriptSegment).where(LiveTranscriptSegment.call_sid == SID)).all()
    # Nobody holds the call yet: nothing reached a desk, but the live transcript is stored.
    assert {s.speaker for s in stored} == {"customer", "agent"}


async def test_a_desk_reopened_mid_call_gets_the_transcript_so_far(live_client: Any, org: Org, engine: Any) -> None:
    _on_call(engine, org)
    with Session(engine) as session:
        session.add(LiveTranscriptSegment(call_sid=SID, speaker="agent", start=0.4, end=2.0, text="네 현대해상입니다"))
        session.add(LiveTranscriptSegment(call_sid=SID, speaker="customer", start=2.5, end=4.0, text="사고가 났어요"))
        session.add(LiveTranscriptSegment(call_sid="CA" + "ef" * 16, speaker="customer", start=1, end=2, text="남"))
        session.commit()
    async with live_client.ws_connect(DESK, headers=org.auth("agent.seocho")) as desk:
        frames = await _desk_frames(desk, lambda got: len(got) == 3)
    assert frames[0]["type"] == "state"
    assert [(f["speaker"], f["text"], f["final"], f["call_sid"]) for f in frames[1:]] == [
        ("agent", "네 현대해상입니다", True, SID),
        ("customer", "사고가 났어요", True, SID),
    ]
    # Once the call is over (wrap-up done) the desk opens without it.
    async with async_session_scope(live_client.app[SESSIONS]) as session:
        agent = await session.get(DeskAgent, org.staff["agent.seocho"])
        assert agent is not None and len(await stored_transcript_frames(session, agent)) == 2
        agent.state = AgentState.AVAILABLE.value
        assert await stored_transcript_frames(session, agent) == []
        assert await stored_transcript_frames(session, None) == []
