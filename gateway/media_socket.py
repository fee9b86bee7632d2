"""GET /twilio/media: Twilio Media Streams, the live audio of a connected call (`<Start><Stream track="both_tracks">`).

The upgrade is accepted only with a valid `X-Twilio-Signature` over the socket's `wss://` URL (from
PUBLIC_BASE_URL, never the socket); anything else is refused before the upgrade (403, or 400 for a request that
is no upgrade). Frames are read strictly (`telephony.media_stream`): the first malformed or unexpected one closes
the socket (1008) with the reason logged. The loop only parses, decodes and cuts: recognition runs in the
transcriber pool (`gateway.live_pool`) behind a bounded backlog, so a slow pool never holds the socket up, and
the socket is never closed because we are slow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from gateway import desk_socket
from gateway.keys import METRICS, SESSIONS, SETTINGS, SIGNATURE
from gateway.live_assist import LiveAssistant
from gateway.live_backlog import LiveBacklog
from gateway.live_call import LiveCall
from gateway.live_pool import TranscriberPool
from telephony.media_stream import MAX_FRAME_BYTES, Media, MediaFrameRefused, MediaStreamReader, Started, Stopped

log = logging.getLogger(__name__)
PATH = "/twilio/media"
# `connected` and `start` come at once; a socket silent this long before them is no stream.
HANDSHAKE_TIMEOUT = 10.0
# Twilio sends media every 20 ms while the call lasts: a minute of silence is a dead peer.
IDLE_TIMEOUT = 60.0
# After `stop`, how long the call's last utterances may take to reach the desk.
DRAIN_TIMEOUT = 30.0

# The engine of the live transcribers: `whisper`/`vosk`, or `module:factory` (tests set their own before start).
LIVE_ENGINE = web.AppKey("live_engine", str)
LIVE_ENGINE_OPTIONS: web.AppKey[dict[str, Any]] = web.AppKey("live_engine_options")
LIVE_BACKLOG = web.AppKey("live_backlog", LiveBacklog)
LIVE_POOL = web.AppKey("live_pool", TranscriberPool)
LIVE_CALLS: web.AppKey[set[LiveCall]] = web.AppKey("live_calls")
LIVE_ASSIST = web.AppKey("live_assist", LiveAssistant)


class MediaStream:
    """One media socket: reads frames in order and feeds its call."""

    def __init__(self, app: web.Application, ws: web.WebSocketResponse) -> None:
        self.app, self.ws = app, ws
        self.reader = MediaStreamReader()
        self.call: LiveCall | None = None
        self.log: logging.LoggerAdapter[logging.Logger] = logging.LoggerAdapter(log, {"call_sid": "-"})

    async def run(self) -> None:
        """Read until `stop`, the peer's close, or a refused frame."""
        try:
            while not self.reader.stopped:
                timeout = IDLE_TIMEOUT if self.reader.started else HANDSHAKE_TIMEOUT
                try:
                    message = await self.ws.receive(timeout)
                except TimeoutError:
                    await self._refuse("no frame in time")
                    return
                if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    return
                if message.type is not WSMsgType.TEXT:
                    await self._refuse("a frame is JSON text")
                    return
                try:
                    event = self.reader.read(message.data)
                except MediaFrameRefused as err:
                    await self._refuse(str(err))
                    return
                self._take(event)
        finally:
            await self._end()

    def _take(self, event: object) -> None:
        if isinstance(event, Media):
            if self.call is not None:
                self.call.hear(event)
        elif isinstance(event, Started):
            self._start(event)
        elif isinstance(event, Stopped):
            self.log.info("media stream %s stopped", self.reader.stream_sid)

    def _start(self, started: Started) -> None:
        self.log = logging.LoggerAdapter(log, {"call_sid": started.call_sid})
        self.log.info("media stream %s of %s started (%s)", started.stream_sid, started.call_sid, started.tracks)
        if LIVE_POOL not in self.app:
            return
        self.app[LIVE_POOL].ensure_started()

        async def publish(staff_id: int, frame: dict[str, Any]) -> None:
            await desk_socket.publish(self.app, staff_id, frame)

        self.call = LiveCall(
            started,
            backlog=self.app[LIVE_BACKLOG],
            sessions=self.app[SESSIONS],
            publish=publish,
            assistant=self.app[LIVE_ASSIST].advise,
        )
        self.app[LIVE_CALLS].add(self.call)

    async def _refuse(self, reason: str) -> None:
        self.app[METRICS].webhooks.labels("media", "malformed").inc()
        self.log.warning("media socket closed: %s", reason)
        await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=reason[:120].encode())

    async def _end(self) -> None:
        call, self.call = self.call, None
        if call is None:
            return
        try:
            # The socket stays open while the last utterances are decoded (Twilio may close it first: no matter), so
            # a peer that waits for the close finds the live transcript stored.
            await call.finish(DRAIN_TIMEOUT)
        finally:
            self.app[LIVE_CALLS].discard(call)
            self.app[LIVE_ASSIST].forget(call.call_sid)
            if not self.ws.closed:
                await self.ws.close()


async def media_socket(request: web.Request) -> web.StreamResponse:
    """GET /twilio/media"""
    app = request.app
    signature = request.headers.get("X-Twilio-Signature")
    if not app[SIGNATURE].is_valid_socket(PATH, signature):
        app[METRICS].webhooks.labels("media", "forbidden").inc()
        log.warning("refused a media stream with a %s signature", "bad" if signature else "missing")
        raise web.HTTPForbidden(text="invalid Twilio signature")
    ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES, autoping=True)
    if not ws.can_prepare(request).ok:
        raise web.HTTPBadRequest(text="a WebSocket upgrade is expected")
    await ws.prepare(request)
    await MediaStream(app, ws).run()
    return ws


async def _live_transcription(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[LIVE_CALLS] = set()
    app[LIVE_ASSIST] = LiveAssistant(app)
    if settings.live_transcribers:
        # With two processes or more, one is kept for finals: a final never waits behind partials on every process.
        # No partial starts while a final is decoded: the final has the cores (its latency is the target).
        backlog = LiveBacklog(partial_slots=max(1, settings.live_transcribers - 1), partials_beside_finals=False)
        # No voice detection in the transcribers: the cutter has already cut the utterances on voice.
        options: dict[str, Any] = {"cpu_threads": settings.asr_threads or 1, "vad": False}
        if ":" not in app.get(LIVE_ENGINE, ""):
            options |= {"cache_dir": str(settings.model_cache_dir or ""), "vosk_model_path": settings.vosk_model}
        if LIVE_ENGINE_OPTIONS in app:
            extra: dict[str, Any] = app[LIVE_ENGINE_OPTIONS]
            options.update(extra)
        app[LIVE_BACKLOG] = backlog
        app[LIVE_POOL] = TranscriberPool(
            backlog, size=settings.live_transcribers, spec=app.get(LIVE_ENGINE, settings.asr_engine), options=options
        )
    yield
    calls: list[LiveCall] = [*app[LIVE_CALLS]]
    await asyncio.gather(*(call.abort() for call in calls), return_exceptions=True)
    if LIVE_POOL in app:
        await app[LIVE_POOL].close()


def setup_media_socket(app: web.Application) -> None:
    """The media socket's route and its transcriber pool (started on the first stream)."""
    app.router.add_get(PATH, media_socket)
    app.cleanup_ctx.append(_live_transcription)
