"""`hotline simulate-call`: plays Twilio's part against a running gateway, as Twilio would."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from telephony.audio import decode_audio, mulaw_decode, to_telephone_band, wav_bytes
from telephony.signature import TwilioSignature

FINAL_STATES = frozenset({"classified", "failed"})


@dataclass(frozen=True)
class SimulatedCall:
    base_url: str
    account_sid: str
    auth_token: str
    from_number: str
    to_number: str
    audio: bytes
    api_token: str | None
    timeout: float = 300.0


def telephone_recording(audio_file: Path) -> tuple[bytes, float]:
    """The file as Twilio would serve its recording: 8 kHz, telephone band, 16-bit PCM WAV."""
    decoded = decode_audio(audio_file.read_bytes())
    ulaw = to_telephone_band(decoded.mono())
    samples = mulaw_decode(ulaw)
    return wav_bytes(samples, 8000, "PCM_16"), decoded.duration


class RecordingServer:
    """Serves one recording like api.twilio.com: behind HTTP Basic auth with the account's credentials."""

    def __init__(self, account_sid: str, auth_token: str, recording_sid: str, audio: bytes) -> None:
        self.path = f"/2010-04-01/Accounts/{account_sid}/Recordings/{recording_sid}"
        self._expected = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._audio = audio
        self.fetches = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _serve(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != self._expected:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="Twilio API"'})
        self.fetches += 1
        return web.Response(body=self._audio, content_type="audio/x-wav")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(self.path + ".wav", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}{self.path}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def twilio_sid(prefix: str) -> str:
    """A random SID of Twilio's shape (two letters and 32 hex digits)."""
    return prefix + secrets.token_hex(16)


class TwilioPlayer:
    """Sends signed webhooks exactly as Twilio does (form-encoded, X-Twilio-Signature, idempotency token)."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, auth_token: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._signature = TwilioSignature(auth_token, self._base)

    async def post(self, path: str, params: dict[str, str]) -> tuple[int, str]:
        headers = {
            "X-Twilio-Signature": self._signature.sign(path, params),
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
            "User-Agent": "TwilioProxy/1.1",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        async with self._http.post(self._base + path, data=params, headers=headers) as answer:
            return answer.status, await answer.text()


def _now() -> str:
    return format_datetime(datetime.now(UTC), usegmt=False)


async def run_simulated_call(call: SimulatedCall, *, log: Any = print) -> dict[str, Any]:
    """One whole call: progress callbacks, the incoming call, the recording; then wait for the record."""
    call_sid, recording_sid = twilio_sid("CA"), twilio_sid("RE")
    server = RecordingServer(call.account_sid, call.auth_token, recording_sid, call.audio)
    await server.start()
    base = {
        "AccountSid": call.account_sid,
        "CallSid": call_sid,
        "From": call.from_number,
        "To": call.to_number,
        "ApiVersion": "2010-04-01",
        "Direction": "inbound",
        "Caller": call.from_number,
        "Called": call.to_number,
        "CallerCountry": "KR",
        "ToCountry": "KR",
    }

    def progress(status: str, seq: int, **extra: str) -> dict[str, str]:
        return {
            **base,
            "CallStatus": status,
            "SequenceNumber": str(seq),
            "Timestamp": _now(),
            "CallbackSource": "call-progress-events",
            **extra,
        }

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
            twilio = TwilioPlayer(http, call.base_url, call.auth_token)
            started = time.monotonic()
            await twilio.post("/twilio/status", progress("initiated", 0))
            await twilio.post("/twilio/status", progress("ringing", 1))
            status, twiml = await twilio.post("/twilio/voice", {**base, "CallStatus": "ringing"})
            log(f"[twilio] POST /twilio/voice -> {status}")
            log(twiml)
            if status != 200:
                raise RuntimeError(f"the gateway answered the incoming call with HTTP {status}")
            await twilio.post("/twilio/status", progress("in-progress", 2))
            duration = max(1, round(len(call.audio) / 16000))
            await twilio.post(
                "/twilio/record-done",
                {
                    **base,
                    "CallStatus": "in-progress",
                    "RecordingUrl": server.url,
                    "RecordingSid": recording_sid,
                    "RecordingDuration": str(duration),
                    "Digits": "hangup",
                },
            )
            status, text = await twilio.post(
                "/twilio/recording",
                {
                    "AccountSid": call.account_sid,
                    "CallSid": call_sid,
                    "RecordingSid": recording_sid,
                    "RecordingUrl": server.url,
                    "RecordingStatus": "completed",
                    "RecordingDuration": str(duration),
                    "RecordingChannels": "1",
                    "RecordingSource": "RecordVerb",
                    "RecordingTrack": "inbound",
                    "RecordingStartTime": _now(),
                    "ErrorCode": "0",
                },
            )
            log(f"[twilio] POST /twilio/recording -> {status} {text[:200]}")
            await twilio.post(
                "/twilio/status",
                progress(
                    "completed",
                    3,
                    CallDuration=str(duration + 8),
                    Duration=str(max(1, (duration + 8 + 59) // 60)),
                    SipResponseCode="200",
                ),
            )
            log(f"[twilio] call {call_sid} ended; waiting for the record ...")
            record = await wait_for_record(http, call.base_url, call_sid, call.api_token, call.timeout)
            record["_simulation"] = {
                "recording_fetches": server.fetches,
                "seconds": round(time.monotonic() - started, 2),
            }
            return record
    finally:
        await server.stop()


async def wait_for_record(
    http: aiohttp.ClientSession, base_url: str, call_sid: str, token: str | None, patience: float
) -> dict[str, Any]:
    """Poll the API until the call's record is classified or failed (or the time is up)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + patience
    record: dict[str, Any] = {}
    while time.monotonic() < deadline:
        async with http.get(f"{base_url.rstrip('/')}/api/v1/calls/{call_sid}", headers=headers) as answer:
            if answer.status == 200:
                record = await answer.json()
                if record.get("processing", {}).get("state") in FINAL_STATES:
                    return record
            elif answer.status in (401, 403):
                raise RuntimeError(f"the API refused the token (HTTP {answer.status})")
        await asyncio.sleep(0.5)
    record.setdefault("processing", {})["timed_out"] = True
    return record


def format_record(record: dict[str, Any]) -> str:
    """The record as pretty JSON (Korean kept readable)."""
    return json.dumps(record, ensure_ascii=False, indent=2)
