"""One streamed call on its way to the agent's desk: its tracks cut into utterances, their text as desk frames.

Inbound audio is the customer, outbound the agent. Utterances go to the shared backlog (never waiting); the text
that comes back is redacted as stored transcripts are (`workers.understanding.redact`) before it is framed, and the
frames leave in order through one writer task per call, which finds the agent holding the call
(`desk_agent.call_sid`), publishes on their channel, appends each final utterance to the live transcript and asks
the assistant (`gateway.live_assist`) about the customer's words.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.calls.live import HOLDING, add_live_segment, agent_of_call, live_transcript
from crm_store.db import async_session_scope
from crm_store.desk.agent_tables import DeskAgent
from gateway.live_backlog import BacklogStatus, CallBacklog, LiveBacklog, Recognition
from telephony.audio import mulaw_decode
from telephony.media_stream import Media, Started
from telephony.utterances import CutterTiming, Utterance, UtteranceCutter
from workers.understanding import redact

log = logging.getLogger(__name__)
SPEAKERS = {"inbound": "customer", "outbound": "agent"}
# Frames waiting for the writer; beyond, partial frames are dropped (finals and notices are few).
OUTBOX = 256
# Seconds between look-ups of the agent while nobody holds the call yet.
AGENT_RETRY = 1.0

Publisher = Callable[[int, dict[str, Any]], Awaitable[None]]
Assistant = Callable[["LiveCall", str, float, float], Awaitable[list[dict[str, Any]]]]


class LiveCall:
    """One media stream's call: cutters per track, its backlog, and the writer of its desk frames."""

    def __init__(
        self,
        started: Started,
        *,
        backlog: LiveBacklog,
        sessions: Any,
        publish: Publisher,
        assistant: Assistant | None = None,
        timing: CutterTiming | None = None,
    ) -> None:
        self.call_sid = started.call_sid
        self.stream_sid = started.stream_sid
        self.backlog = backlog
        self.sessions, self.publish, self.assistant = sessions, publish, assistant
        self.cutters = {track: UtteranceCutter(track, timing) for track in started.tracks}
        self.queue: CallBacklog = backlog.open(self.call_sid, self._recognised, self._status)
        self.staff_id: int | None = None
        self.customer_text: list[str] = []
        self.frames_sent = 0
        self._outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=OUTBOX)
        self._agent_checked = 0.0
        self._finalised: dict[str, int] = {}
        self._writer = asyncio.create_task(self._write(), name=f"live-desk-{self.call_sid}")

    def hear(self, media: Media) -> None:
        """A media frame: decode, cut, queue what it completes (never waits)."""
        cutter = self.cutters[media.track]
        for utterance in cutter.feed(mulaw_decode(media.payload), media.timestamp_ms):
            self._queue(utterance)

    def _queue(self, utterance: Utterance) -> None:
        if utterance.final:
            self._finalised[utterance.track] = utterance.number
        self.backlog.put(self.queue, utterance)

    async def finish(self, drain_timeout: float) -> None:
        """The stream ended: the utterances under way are final; wait (bounded) for their text, then stop writing."""
        for cutter in self.cutters.values():
            for utterance in cutter.flush():
                self._queue(utterance)
        drained = self.backlog.close(self.queue)
        try:
            await asyncio.wait_for(drained.wait(), drain_timeout)
        except TimeoutError:
            log.warning("live call %s: %d utterances left undecoded", self.call_sid, len(self.queue.finals))
            self.backlog.abandon(self.queue)
        await self._outbox.put(None)
        await self._writer

    async def abort(self) -> None:
        """Shutdown or a refused stream: forget the waiting utterances and stop writing."""
        self.backlog.abandon(self.queue)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer

    def _recognised(self, job: Recognition, text: str | None) -> None:
        utterance = job.utterance
        if not text or not text.strip():
            return
        if not utterance.final and self._finalised.get(utterance.track, -1) >= utterance.number:
            return  # a partial that comes back after its utterance ended: the final says it all
        frame = transcript_frame(self.call_sid, utterance, redact(text))
        self._send(frame)

    def _status(self, status: BacklogStatus) -> None:
        self._send(
            {
                "type": "transcript_status",
                "call_sid": self.call_sid,
                "behind": status.behind,
                "waiting": status.waiting,
                "skipped": status.skipped,
            }
        )

    def _send(self, frame: dict[str, Any]) -> None:
        try:
            self._outbox.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("live call %s: desk outbox full, %s frame dropped", self.call_sid, frame["type"])

    async def _write(self) -> None:
        while (frame := await self._outbox.get()) is not None:
            try:
                await self._deliver(frame)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live call %s: a %s frame was not delivered", self.call_sid, frame["type"])

    async def _deliver(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "transcript" and frame["final"]:
            async with async_session_scope(self.sessions) as session:
                await add_live_segment(
                    session,
                    call_sid=self.call_sid,
                    speaker=frame["speaker"],
                    start=frame["start"],
                    end=frame["end"],
                    text=frame["text"],
                )
        staff_id = await self._agent()
        if staff_id is not None:
            await self.publish(staff_id, frame)
            self.frames_sent += 1
        if frame["type"] == "transcript" and frame["final"] and frame["speaker"] == "customer":
            self.customer_text.append(frame["text"])
            if self.assistant is not None and staff_id is not None:
                for advice in await self.assistant(self, frame["text"], frame["start"], frame["end"]):
                    await self.publish(staff_id, advice)
                    self.frames_sent += 1

    async def _agent(self) -> int | None:
        if self.staff_id is None and time.monotonic() - self._agent_checked >= AGENT_RETRY:
            self._agent_checked = time.monotonic()
            async with async_session_scope(self.sessions) as session:
                self.staff_id = await agent_of_call(session, call_sid=self.call_sid)
        return self.staff_id


def transcript_frame(call_sid: str, utterance: Utterance, text: str) -> dict[str, Any]:
    """The desk's `transcript` frame of one utterance's (redacted) text."""
    return {
        "type": "transcript",
        "call_sid": call_sid,
        "speaker": SPEAKERS[utterance.track],
        "text": text,
        "final": utterance.final,
        "start": utterance.start,
        "end": utterance.end,
    }


async def stored_transcript_frames(session: AsyncSession, agent: DeskAgent | None) -> list[dict[str, Any]]:
    """The live transcript so far of the call the agent holds, as desk frames (a desk that reconnects mid-call gets
    its earlier lines); stored redacted, as the desk saw them. None for an agent holding no call."""
    if agent is None or agent.call_sid is None or agent.state not in HOLDING:
        return []
    call_sid = agent.call_sid
    return [
        {
            "type": "transcript",
            "call_sid": call_sid,
            "speaker": segment.speaker,
            "text": segment.text,
            "final": True,
            "start": segment.start,
            "end": segment.end,
        }
        for segment in await live_transcript(session, call_sid=call_sid)
    ]
