"""What the live transcribers decode next, and what gives when they cannot keep up.

Per call a bounded queue: final utterances wait in order (at most `max_finals`; beyond, the oldest is given up,
the post-call transcript still has it), and at most one partial per track, the newest (an older one is replaced,
and a final of the track drops its partial). The pool takes finals first, oldest first over every call, and
partials only when no final waits (and, with `partials_beside_finals` off, none is being decoded: a final then has
the machine's cores to itself): so partials are dropped first, then finals wait. When a call has `behind_after`
finals waiting its desk is told the transcript is behind, and told again once it has caught up. Putting never
waits: the media socket is never held up by recognition.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from telephony.utterances import RATE, Utterance

# A final whose process died under it is tried once more.
RETRIES = 1


@dataclass(eq=False)
class Recognition:
    """One utterance to decode for a call (`stream`: the backlog it came from, one per media stream)."""

    key: int
    call_sid: str
    utterance: Utterance
    queued_at: float
    stream: int = 0
    attempts: int = 0
    rate: int = RATE

    @property
    def samples(self) -> np.ndarray:
        return self.utterance.samples


@dataclass(frozen=True)
class BacklogStatus:
    """How far behind a call's transcript is."""

    behind: bool
    waiting: int
    skipped: int


ResultHandler = Callable[[Recognition, str | None], None]
StatusHandler = Callable[[BacklogStatus], None]


@dataclass(eq=False)
class CallBacklog:
    """One media stream's waiting utterances (a call whose stream starts again, as after a transfer, gets a second
    one while the first drains)."""

    call_sid: str
    on_result: ResultHandler
    on_status: StatusHandler
    stream: int = 0
    finals: deque[Recognition] = field(default_factory=deque)
    partials: dict[str, Recognition] = field(default_factory=dict)
    running: int = 0
    skipped: int = 0
    dropped_partials: int = 0
    behind: bool = False
    told_skipped: int = 0
    closing: bool = False
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def idle(self) -> bool:
        return not self.finals and not self.partials and not self.running


class LiveBacklog:
    """Every live call's waiting utterances, and the order the transcriber pool takes them in."""

    def __init__(
        self,
        *,
        max_finals: int = 12,
        behind_after: int = 2,
        partial_slots: int | None = None,
        partials_beside_finals: bool = True,
    ) -> None:
        self.max_finals, self.behind_after = max_finals, behind_after
        # At most this many partials decoded at once (None: no limit): the pool keeps a process free for finals.
        self.partial_slots = partial_slots
        self.partials_beside_finals = partials_beside_finals
        self.partials_running = 0
        self.finals_running = 0
        self._calls: dict[int, CallBacklog] = {}
        self._keys = itertools.count(1)
        self._streams = itertools.count(1)
        self._ready = asyncio.Event()

    def open(self, call_sid: str, on_result: ResultHandler, on_status: StatusHandler) -> CallBacklog:
        """Start a stream's queue (a stream started again for the same call gets its own, the first one's finals
        still decoded and handed to the first one's handler)."""
        call = CallBacklog(call_sid, on_result, on_status, stream=next(self._streams))
        self._calls[call.stream] = call
        return call

    def close(self, call: CallBacklog) -> asyncio.Event:
        """The stream ended: partials are dropped, finals still decoded; the event is set once it is drained."""
        call.closing = True
        call.dropped_partials += len(call.partials)
        call.partials.clear()
        self._forget_if_drained(call)
        return call.drained

    def abandon(self, call: CallBacklog) -> None:
        """Forget a call's waiting utterances at once (shutdown)."""
        call.finals.clear()
        call.partials.clear()
        call.closing = True
        self._forget_if_drained(call)

    def put(self, call: CallBacklog, utterance: Utterance) -> None:
        """Queue an utterance of the call, never waiting; see the module's docstring for what gives."""
        job = Recognition(next(self._keys), call.call_sid, utterance, time.monotonic(), stream=call.stream)
        if call.partials.pop(utterance.track, None) is not None:
            call.dropped_partials += 1
        if utterance.final:
            call.finals.append(job)
            if len(call.finals) > self.max_finals:
                call.finals.popleft()
                call.skipped += 1
            self._tell(call)
        elif not call.closing:
            call.partials[utterance.track] = job
        self._ready.set()

    def retry(self, job: Recognition) -> None:
        """The process decoding `job` died: a final goes back to the front once; a partial is dropped."""
        call = self._calls.get(job.stream)
        if call is None:
            return
        self._release(call, job)
        job.attempts += 1
        if job.utterance.final and job.attempts <= RETRIES:
            call.finals.appendleft(job)
            self._ready.set()
            return
        self._finish(call, job, None)

    def done(self, job: Recognition, text: str | None) -> None:
        """The text of `job` (None: it could not be decoded)."""
        call = self._calls.get(job.stream)
        if call is None:
            return
        self._release(call, job)
        self._finish(call, job, text)

    async def next(self) -> Recognition:
        """The next utterance to decode: the oldest final of any call, else a partial; waits for one."""
        while True:
            job = self._take()
            if job is not None:
                return job
            self._ready.clear()
            await self._ready.wait()

    def waiting(self) -> int:
        """Finals waiting over every call."""
        return sum(len(call.finals) for call in self._calls.values())

    def _take(self) -> Recognition | None:
        finals = [call for call in self._calls.values() if call.finals]
        if finals:
            call = min(finals, key=lambda c: c.finals[0].queued_at)
            job = call.finals.popleft()
            call.running += 1
            self.finals_running += 1
            self._tell(call)
            return job
        if self.partial_slots is not None and self.partials_running >= self.partial_slots:
            return None
        if not self.partials_beside_finals and self.finals_running:
            return None
        partials = [(job, call) for call in self._calls.values() for job in call.partials.values()]
        if partials:
            job, call = min(partials, key=lambda pair: pair[0].queued_at)
            del call.partials[job.utterance.track]
            call.running += 1
            self.partials_running += 1
            return job
        return None

    def _release(self, call: CallBacklog, job: Recognition) -> None:
        call.running -= 1
        if job.utterance.final:
            self.finals_running -= 1
        else:
            self.partials_running -= 1
        self._ready.set()  # a slot held back from partials may take one now

    def _finish(self, call: CallBacklog, job: Recognition, text: str | None) -> None:
        try:
            call.on_result(job, text)
        finally:
            self._forget_if_drained(call)

    def _tell(self, call: CallBacklog) -> None:
        waiting = len(call.finals)
        behind = waiting >= self.behind_after or (call.behind and waiting > 0)
        if behind != call.behind or call.skipped != call.told_skipped:
            call.behind, call.told_skipped = behind, call.skipped
            call.on_status(BacklogStatus(behind=behind, waiting=waiting, skipped=call.skipped))

    def _forget_if_drained(self, call: CallBacklog) -> None:
        if call.closing and call.idle:
            self._calls.pop(call.stream, None)
            call.drained.set()
