"""Twilio's side of a media stream, for `hotline simulate-call --live`, the tests and the benchmark: both tracks of a
call sent over /twilio/media as 20 ms mu-law frames, at real time (or `speed` times faster), with a signed upgrade."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from gateway.simulator import CallPlayer, SimulatedCall, TwilioPlayer
from telephony.audio import decode_audio, to_telephone_band
from telephony.media_stream import MediaStreamWriter, media_frames
from telephony.signature import TwilioSignature

MEDIA_PATH = "/twilio/media"
_STREAM_URL = re.compile(r"<Stream\b[^>]*\burl=\"([^\"]+)\"")


@dataclass(frozen=True)
class StreamResult:
    """How a streamed call went: frames sent, seconds taken, and how the gateway closed the socket."""

    frames: int
    seconds: float
    close_code: int | None


def telephone_track(path: Path) -> bytes:
    """A recording as the 8 kHz mu-law a phone line carries."""
    return to_telephone_band(decode_audio(path.read_bytes()).mono())


def stream_url_of(twiml: str) -> str | None:
    """The `<Stream url>` of TwiML that starts a media stream, if it does."""
    match = _STREAM_URL.search(twiml)
    return match.group(1) if match else None


def socket_url(base_url: str) -> str:
    """Where to open the media socket of a gateway at `base_url` (http -> ws, https -> wss)."""
    scheme, _, rest = base_url.rstrip("/").partition("://")
    return {"https": "wss", "http": "ws"}.get(scheme, scheme) + "://" + rest + MEDIA_PATH


async def stream_call(
    *,
    connect_url: str,
    signer: TwilioSignature,
    account_sid: str,
    call_sid: str,
    inbound: bytes,
    outbound: bytes,
    speed: float = 1.0,
    sent: Callable[[int, float], None] | None = None,
    close_timeout: float = 120.0,
) -> StreamResult:
    """Stream both tracks of a call over the media socket, paced at `speed` times real time (0: as fast as the socket
    takes them); `sent(timestamp_ms, monotonic)` is called after each pair of frames leaves."""
    writer = MediaStreamWriter(account_sid=account_sid, call_sid=call_sid, stream_sid="MZ" + call_sid[2:])
    opening = [writer.connected(), writer.start()]
    frames = media_frames(writer, inbound, outbound)
    headers = {"X-Twilio-Signature": signer.sign_socket(MEDIA_PATH)}
    started = time.monotonic()
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(connect_url, headers=headers, autoclose=False) as ws,
    ):
        for frame in opening:
            await ws.send_str(frame)
        for index in range(0, len(frames), 2):
            timestamp_ms = index // 2 * 20
            if speed > 0:
                delay = started + timestamp_ms / 1000 / speed - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            for frame in frames[index : index + 2]:
                await ws.send_str(frame)
            if sent is not None:
                sent(timestamp_ms, time.monotonic())
        await ws.send_str(writer.stop())
        try:
            await asyncio.wait_for(ws.receive(), close_timeout)
        except TimeoutError:
            pass
        await ws.close()
        return StreamResult(len(frames) + 3, round(time.monotonic() - started, 3), ws.close_code)


async def run_live_call(
    call: SimulatedCall, *, inbound: bytes, outbound: bytes, speed: float = 1.0, log: Any = print
) -> dict[str, Any]:
    """A call whose audio is streamed live: progress callbacks and the incoming-call webhook (so the call is on
    record), then both tracks over /twilio/media with a signed upgrade, then the call completes."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
        twilio = TwilioPlayer(http, call.base_url, call.auth_token)
        player = CallPlayer(call, twilio, log)
        await player.progress("initiated")
        await player.progress("ringing")
        status, _body = await twilio.post("/twilio/voice", {**player.base, "CallStatus": "ringing"})
        log(f"[twilio] POST /twilio/voice -> {status}")
        if status != 200:
            raise RuntimeError(f"the gateway answered the incoming call with HTTP {status}")
        await player.progress("in-progress")
        url = socket_url(call.base_url)
        log(f"[twilio] streaming {len(inbound) / 8000:.1f}s (caller) and {len(outbound) / 8000:.1f}s (agent) to {url}")
        result = await stream_call(
            connect_url=url,
            signer=TwilioSignature(call.auth_token, call.base_url),
            account_sid=call.account_sid,
            call_sid=player.call_sid,
            inbound=inbound,
            outbound=outbound,
            speed=speed,
        )
        log(f"[twilio] stream ended after {result.seconds:.1f}s ({result.frames} frames; closed {result.close_code})")
        seconds = max(1, round(result.seconds))
        await player.progress(
            "completed", CallDuration=str(seconds), Duration=str((seconds + 59) // 60), SipResponseCode="200"
        )
        return {
            "call_sid": player.call_sid,
            "frames": result.frames,
            "seconds": result.seconds,
            "closed": result.close_code,
        }
