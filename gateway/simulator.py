"""`hotline simulate-call`: plays Twilio's part against a running gateway, as Twilio would."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import numpy as np
from aiohttp import web
from twilio.request_validator import RequestValidator

from gateway.twilio_stand_in import TwilioStandIn
from telephony.audio import decode_audio, mulaw_decode, to_telephone_band, wav_bytes
from telephony.signature import TwilioSignature

FINAL_STATES = frozenset({"classified", "failed"})


@dataclass(frozen=True)
class SimulatedCall:
    """One call to play: who calls which number, what they say (audio) or press, how long they wait in a queue."""

    base_url: str
    account_sid: str
    auth_token: str
    from_number: str
    to_number: str
    audio: bytes | None
    api_token: str | None
    timeout: float = 300.0
    # The caller's answer to a menu: a key, or words (as Twilio's recogniser would hand them); neither is silence.
    press: str | None = None
    say: str | None = None
    # Seconds the caller waits in a queue before hanging up; with the REST stand-in and without hang_up_waiting, the
    # caller waits until connected (or the timeout).
    wait: float = 5.0
    hang_up_waiting: bool = False
    # Serve the stand-in for Twilio's REST API on this port while the call lasts (the gateway's TWILIO_API_BASE).
    twilio_api_port: int | None = None
    # Seconds the caller talks with the agent once connected (then the agent hangs up).
    talk: float = 3.0


def telephone_recording(audio_file: Path) -> tuple[bytes, float]:
    """The file as Twilio would serve its recording: 8 kHz, telephone band, 16-bit PCM WAV."""
    decoded = decode_audio(audio_file.read_bytes())
    ulaw = to_telephone_band(decoded.mono())
    samples = mulaw_decode(ulaw)
    return wav_bytes(samples, 8000, "PCM_16"), decoded.duration


class RecordingServer:
    """Serves one recording like api.twilio.com: behind HTTP Basic auth with the account's credentials."""

    def __init__(self, account_sid: str, auth_token: str, recording_sid: str, audio: bytes) -> None:
        self.recording_sid = recording_sid
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

    def serve(self, audio: bytes) -> None:
        """Serve other audio from now on (the conversation instead of a message)."""
        self._audio = audio


def conversation_recording(audio: bytes) -> bytes:
    """A two-channel recording of a conversation as `<Dial record="record-from-answer-dual">` makes it: the caller
    on the first channel (the audio given), the agent on the second (quiet)."""
    caller = decode_audio(audio).mono()
    return wav_bytes(np.stack([caller, np.zeros_like(caller)], axis=1), 16000, "PCM_16")


def twilio_sid(prefix: str) -> str:
    """A random SID of Twilio's shape (two letters and 32 hex digits)."""
    return prefix + secrets.token_hex(16)


class TwilioPlayer:
    """Sends signed webhooks exactly as Twilio does (form-encoded, X-Twilio-Signature, idempotency token)."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, auth_token: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._signature = TwilioSignature(auth_token, self._base)
        self._validator = RequestValidator(auth_token)

    async def post(self, path: str, params: dict[str, str]) -> tuple[int, str]:
        """A webhook to a configured path of the gateway (voice URL, status callback), signed over base + path."""
        return await self._send(path, params, self._signature.sign(path, params))

    async def post_to(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        """A webhook to a URL the gateway's TwiML named (gather action, wait URL): Twilio signs that URL as written."""
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return await self._send(path, params, str(self._validator.compute_signature(url, params)))

    async def _send(self, path: str, params: dict[str, str], signature: str) -> tuple[int, str]:
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
            "User-Agent": "TwilioProxy/1.1",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        async with self._http.post(self._base + path, data=params, headers=headers) as answer:
            return answer.status, await answer.text()


def _now() -> str:
    return format_datetime(datetime.now(UTC), usegmt=False)


def twiml_root(body: str) -> ET.Element:
    """The <Response> of a TwiML answer."""
    root = ET.fromstring(body.strip().encode())
    if root.tag != "Response":
        raise RuntimeError(f"the gateway answered TwiML without <Response>: {body[:200]}")
    return root


def _said(root: ET.Element) -> str:
    return " / ".join(say.text or "" for say in root.iter("Say"))


class CallPlayer:
    """Twilio's side of one call: progress callbacks in order, the TwiML followed verb by verb."""

    def __init__(self, call: SimulatedCall, twilio: TwilioPlayer, log: Any) -> None:
        self.call = call
        self.twilio = twilio
        self.log = log
        self.call_sid = twilio_sid("CA")
        self.sequence = 0
        self.steps: list[str] = []
        self.connected_twiml: str | None = None
        self.base = {
            "AccountSid": call.account_sid,
            "CallSid": self.call_sid,
            "From": call.from_number,
            "To": call.to_number,
            "ApiVersion": "2010-04-01",
            "Direction": "inbound",
            "Caller": call.from_number,
            "Called": call.to_number,
            "CallerCountry": "KR",
            "ToCountry": "KR",
        }

    async def progress(self, status: str, **extra: str) -> None:
        params = {
            **self.base,
            "CallStatus": status,
            "SequenceNumber": str(self.sequence),
            "Timestamp": _now(),
            "CallbackSource": "call-progress-events",
            **extra,
        }
        self.sequence += 1
        await self.twilio.post("/twilio/status", params)

    async def follow(self, url: str, step: str, **extra: str) -> ET.Element:
        status, body = await self.twilio.post_to(url, {**self.base, "CallStatus": "in-progress", **extra})
        self.log(f"[twilio] POST {urlsplit(url).path} ({step}) -> {status}")
        if status != 200:
            raise RuntimeError(f"the gateway answered {step} with HTTP {status}: {body[:200]}")
        self.steps.append(step)
        root = twiml_root(body)
        if _said(root):
            self.log(f"[caller hears] {_said(root)}")
        return root

    async def menu(self, root: ET.Element) -> ET.Element:
        """Answer the menu as told (a key, words, or silence) until it leads somewhere else."""
        for _ in range(MAX_MENU_ROUNDS):
            gather = root.find("Gather")
            if gather is None:
                return root
            if self.call.press:
                root = await self.follow(gather.get("action", ""), f"press {self.call.press}", Digits=self.call.press)
            elif self.call.say:
                root = await self.follow(
                    gather.get("action", ""), f"say {self.call.say!r}", SpeechResult=self.call.say, Confidence="0.91"
                )
            else:
                # No input: Twilio falls through to the next verb, the menu's <Redirect>.
                redirect = root.find("Redirect")
                if redirect is None or not redirect.text:
                    return root
                root = await self.follow(redirect.text, "silence")
        return root

    async def wait_in_queue(self, enqueue: ET.Element, stand_in: TwilioStandIn | None) -> str:
        """Ask the wait URL as Twilio does until an agent takes the call (a REST redirect reaches the stand-in) or
        the caller gives up; then the <Enqueue> action with how it ended. Returns "connected" or "abandoned"."""
        queue, wait_url, action = enqueue.text or "", enqueue.get("waitUrl", ""), enqueue.get("action", "")
        # Only an agent connected through Twilio's REST API ends the wait otherwise; without the stand-in nobody can.
        connectable = stand_in is not None and not self.call.hang_up_waiting
        patience = self.call.timeout if connectable else self.call.wait
        queue_sid = twilio_sid("QU")
        if stand_in is not None:
            stand_in.add_call(self.call_sid, from_=self.call.from_number, to=self.call.to_number)
        if not connectable and not self.call.hang_up_waiting:
            self.log(f"[twilio] no REST stand-in: nobody can take the call; the caller hangs up after {patience:.0f}s")
        started = time.monotonic()
        redirected: list[str] = []
        while True:
            waited = time.monotonic() - started
            if wait_url:
                await self.follow(
                    wait_url,
                    f"wait in {queue}",
                    QueueSid=queue_sid,
                    QueuePosition="1",
                    QueueTime=str(int(waited)),
                    AvgQueueTime="0",
                    CurrentQueueSize="1",
                )
            if stand_in is not None and stand_in.calls[self.call_sid].twiml:
                redirected = stand_in.calls[self.call_sid].twiml
                break
            if waited >= patience:
                break
            await asyncio.sleep(min(WAIT_POLL_SECONDS, max(0.05, patience - waited)))
        waited = time.monotonic() - started
        result = "redirected" if redirected else "hangup"
        if action:
            await self.follow(action, f"queue result {result}", QueueSid=queue_sid, QueueResult=result,
                              QueueTime=str(int(waited)))  # fmt: skip
        if redirected:
            self.log(f"[twilio] call taken out of {queue} after {waited:.1f}s; new TwiML: {redirected[-1][:300]}")
            self.connected_twiml = redirected[-1]
            return "connected"
        self.log(f"[twilio] the caller hung up after {waited:.1f}s in {queue}")
        return "abandoned"

    async def converse(self, server: RecordingServer | None) -> bool:
        """Follow the TwiML the caller was redirected to: <Dial> the agent (recorded two-channel), talk for a while,
        the agent hangs up: the <Dial> action, then the recording callback (when there is audio to record). Returns
        whether a recording was reported."""
        root = twiml_root(self.connected_twiml or "<Response/>")
        dial = root.find("Dial")
        if dial is None:
            self.log("[twilio] the new TwiML dials nobody")
            return False
        stream = root.find("Start/Stream")
        if stream is not None:
            self.log(f"[twilio] media stream to {stream.get('url')} ({stream.get('track')}; not opened here)")
        target = next(iter(dial), None)
        who = f"<{target.tag}>{target.text}</{target.tag}>" if target is not None else "nobody"
        self.log(f"[twilio] dialling {who}, recording {dial.get('record')}; talking {self.call.talk:.0f}s")
        await asyncio.sleep(self.call.talk)
        talked = str(max(1, round(self.call.talk)))
        if dial.get("action"):
            await self.follow(
                dial.get("action", ""), "conversation ended", DialCallStatus="completed",
                DialCallSid=twilio_sid("CA"), DialCallDuration=talked,
            )  # fmt: skip
        callback = dial.get("recordingStatusCallback")
        if server is None or not callback or self.call.audio is None:
            return False
        server.serve(conversation_recording(self.call.audio))
        params = {
            "AccountSid": self.call.account_sid,
            "CallSid": self.call_sid,
            "RecordingSid": server.recording_sid,
            "RecordingUrl": server.url,
            "RecordingStatus": "completed",
            "RecordingDuration": talked,
            "RecordingChannels": "2",
            "RecordingSource": "DialVerb",
            "RecordingTrack": "both",
            "RecordingStartTime": _now(),
            "ErrorCode": "0",
        }
        status, text = await self.twilio.post_to(callback, params)
        self.log(f"[twilio] POST {urlsplit(callback).path} (two-channel recording) -> {status} {text[:200]}")
        return status < 300


MAX_MENU_ROUNDS = 3
WAIT_POLL_SECONDS = 2.0


async def run_simulated_call(call: SimulatedCall, *, log: Any = print) -> dict[str, Any]:
    """One whole call: progress callbacks, the incoming call, the menu and the queue when the number has them, the
    recording when the caller speaks a message; then the call's record (waited for when there is a recording)."""
    recording_sid = twilio_sid("RE")
    server = (
        RecordingServer(call.account_sid, call.auth_token, recording_sid, call.audio)
        if call.audio is not None
        else None
    )
    stand_in = TwilioStandIn(call.account_sid, call.auth_token) if call.twilio_api_port is not None else None
    if server is not None:
        await server.start()
    if stand_in is not None:
        log(f"[twilio] REST API stand-in at {await stand_in.start(port=call.twilio_api_port or 0)}")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
            twilio = TwilioPlayer(http, call.base_url, call.auth_token)
            player = CallPlayer(call, twilio, log)
            started = time.monotonic()
            await player.progress("initiated")
            await player.progress("ringing")
            status, body = await twilio.post("/twilio/voice", {**player.base, "CallStatus": "ringing"})
            log(f"[twilio] POST /twilio/voice -> {status}")
            log(body)
            if status != 200:
                raise RuntimeError(f"the gateway answered the incoming call with HTTP {status}")
            await player.progress("in-progress")
            root = await player.menu(twiml_root(body))
            enqueue, record_verb = root.find("Enqueue"), root.find("Record")
            outcome = "ended"
            duration = 8
            recorded_conversation = False
            if enqueue is not None:
                outcome = await player.wait_in_queue(enqueue, stand_in)
                if outcome == "connected":
                    recorded_conversation = await player.converse(server)
            elif record_verb is not None:
                if server is None:
                    raise RuntimeError("the gateway asks the caller to speak a message: give --audio")
                duration = max(1, round(len(call.audio or b"") / 16000))
                await player.follow(
                    record_verb.get("action", call.base_url.rstrip("/") + "/twilio/record-done"),
                    "message recorded",
                    RecordingUrl=server.url,
                    RecordingSid=recording_sid,
                    RecordingDuration=str(duration),
                    Digits="hangup",
                )
                status, text = await twilio.post(
                    "/twilio/recording",
                    {
                        "AccountSid": call.account_sid,
                        "CallSid": player.call_sid,
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
                outcome = "recorded"
            seconds = max(1, round(time.monotonic() - started)) if outcome != "recorded" else duration + 8
            await player.progress(
                "completed",
                CallDuration=str(seconds),
                Duration=str(max(1, (seconds + 59) // 60)),
                SipResponseCode="200",
            )
            log(f"[twilio] call {player.call_sid} ended ({outcome})")
            if outcome == "recorded" or recorded_conversation:
                log("[twilio] waiting for the record ...")
                record = await wait_for_record(http, call.base_url, player.call_sid, call.api_token, call.timeout)
            else:
                record = await read_record(http, call.base_url, player.call_sid, call.api_token)
            record["_simulation"] = {
                "call_sid": player.call_sid,
                "outcome": outcome,
                "steps": player.steps,
                "recording_fetches": server.fetches if server is not None else 0,
                "seconds": round(time.monotonic() - started, 2),
            }
            if stand_in is not None:
                record["_simulation"]["twilio_api_requests"] = [
                    {"method": r.method, "path": r.path, "params": r.params} for r in stand_in.requests
                ]
            return record
    finally:
        if server is not None:
            await server.stop()
        if stand_in is not None:
            await stand_in.stop()


async def read_record(http: aiohttp.ClientSession, base_url: str, call_sid: str, token: str | None) -> dict[str, Any]:
    """The call's record as the API gives it now (empty without a token or when the API refuses)."""
    if not token:
        return {}
    headers = {"Authorization": f"Bearer {token}"}
    async with http.get(f"{base_url.rstrip('/')}/api/v1/calls/{call_sid}", headers=headers) as answer:
        return dict(await answer.json()) if answer.status == 200 else {}


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
