"""The gateway's pool of live transcriber processes (`workers.live_transcriber`), started with `spawn`.

Each process loads the speech engine once. One slot per process: an asyncio task takes the next utterance from
the backlog (`gateway.live_backlog`, which decides what goes first), hands it to its process over a pipe from a
thread of the pool's own (the event loop never waits on a pipe) and gives the text back. A process that dies (killed,
out of memory) is replaced by a new one, and the utterance it held goes back to the front of the backlog once: the
call goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from typing import Any

import numpy as np

from gateway.live_backlog import LiveBacklog, Recognition
from workers.live_transcriber import serve

log = logging.getLogger(__name__)
# A process that does not say ready within this long (model load) is given up and started again.
READY_TIMEOUT = 300.0
# Finals whose waiting and decoding times are kept (for the benchmark's account of where the latency goes).
TIMINGS_KEPT = 1000


class TranscriberLost(RuntimeError):
    """The process died while it held an utterance."""


@dataclass
class TranscriberProcess:
    """One transcriber process and the parent's end of its pipe (used from one thread at a time)."""

    spec: str
    options: dict[str, Any]
    start_method: str = "spawn"
    process: SpawnProcess | None = None
    conn: Connection | None = None
    pid: int | None = None
    jobs: int = field(default=0)

    def start(self) -> None:
        """Start the process and wait until its engine is loaded (blocking: run in a thread)."""
        context: Any = multiprocessing.get_context(self.start_method)
        parent, child = context.Pipe()
        process = context.Process(target=serve, args=(child, self.spec, self.options), daemon=True)
        process.start()  # type: ignore[no-untyped-call]
        child.close()
        if not parent.poll(READY_TIMEOUT):
            process.kill()
            raise TranscriberLost("transcriber did not load its engine in time")
        try:
            kind, pid = parent.recv()
        except (EOFError, OSError) as err:
            raise TranscriberLost("transcriber died while loading its engine") from err
        self.process, self.conn, self.pid = process, parent, pid  # type: ignore[assignment]
        log.info("live transcriber %d ready (%s)", pid, self.spec)

    def transcribe(self, key: int, samples: np.ndarray, rate: int) -> str:
        """Text of one utterance (blocking); TranscriberLost when the process dies on it."""
        if self.conn is None:
            raise TranscriberLost("transcriber not running")
        try:
            self.conn.send((key, np.ascontiguousarray(samples, dtype=np.float32).tobytes(), rate))
            kind, _key, text = self.conn.recv()
        except (EOFError, OSError) as err:
            self.stop()
            raise TranscriberLost(f"transcriber {self.pid} died") from err
        self.jobs += 1
        if kind != "done":
            raise RuntimeError(text)
        return str(text)

    def stop(self) -> None:
        """End the process (politely, then by force; a process busy on an utterance at once)."""
        process, conn = self.process, self.conn
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
        if process is not None:
            process.join(0.5)
            if process.is_alive():
                process.kill()
            process.join(2.0)
        self.process, self.conn = None, None
        if conn is not None:
            conn.close()


class TranscriberPool:
    """`size` transcriber processes fed from the backlog; started lazily, on the first live call."""

    def __init__(self, backlog: LiveBacklog, *, size: int, spec: str, options: dict[str, Any]) -> None:
        self.backlog = backlog
        self.size, self.spec, self.options = size, spec, options
        self.processes = [TranscriberProcess(spec, options) for _ in range(size)]
        self.replaced = 0
        # (seconds queued, seconds decoding, seconds of audio) of the latest finals.
        self.final_timings: deque[tuple[float, float, float]] = deque(maxlen=TIMINGS_KEPT)
        self._threads = ThreadPoolExecutor(max_workers=max(1, size), thread_name_prefix="hotline-live")
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def started(self) -> bool:
        """Whether the slots run."""
        return bool(self._tasks)

    def ensure_started(self) -> None:
        """Start the slots (each starts its process) unless they run."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._slot(process), name=f"live-transcriber-{n}")
                for n, process in enumerate(self.processes)
            ]

    async def close(self) -> None:
        """Stop the slots and their processes."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # A slot's thread may be waiting on its process: stop the processes from threads of their own.
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in self.processes))
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def _slot(self, process: TranscriberProcess) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if process.conn is None:
                try:
                    await loop.run_in_executor(self._threads, process.start)
                except TranscriberLost:
                    log.exception("live transcriber did not start; trying again in 5 s")
                    await asyncio.sleep(5.0)
                    continue
            job = await self.backlog.next()
            await self._run(process, job)

    async def _run(self, process: TranscriberProcess, job: Recognition) -> None:
        loop = asyncio.get_running_loop()
        began = time.monotonic()
        try:
            text = await loop.run_in_executor(self._threads, process.transcribe, job.key, job.samples, job.rate)
        except TranscriberLost:
            self.replaced += 1
            log.warning("live transcriber died on an utterance of %s; replacing it", job.call_sid)
            self.backlog.retry(job)
            return
        except RuntimeError as err:
            log.warning("live transcription of an utterance of %s failed: %s", job.call_sid, err)
            self.backlog.done(job, None)
            return
        if job.utterance.final:
            seconds = job.utterance.samples.size / job.rate
            self.final_timings.append((began - job.queued_at, time.monotonic() - began, seconds))
        self.backlog.done(job, text)
