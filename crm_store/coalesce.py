"""Group commit for the hot paths: concurrent requests gather while a statement is in flight, then go in one.

Each caller awaits its own answer; one bad request in a batch does not sink the others (the batch is
retried one request at a time, and only the bad one gets the error). A caller that went away (its
task cancelled: Twilio or the agent's browser hung up) is skipped when the answers arrive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Request = TypeVar("Request")
Answer = TypeVar("Answer")


class Coalescer(Generic[Request, Answer]):
    """Runs `run(batch)` (answers in the batch's order) on batches of up to `max_batch` requests.

    `max_in_flight` batches may run side by side: 1 for writes that should commit together, more for
    reads, where one statement occupies one database backend (one core) while the next batch gathers.
    """

    def __init__(
        self,
        run: Callable[[list[Request]], Awaitable[Sequence[Answer]]],
        *,
        name: str,
        max_batch: int,
        max_in_flight: int = 1,
    ) -> None:
        self._run = run
        self._name = name
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._pending: list[tuple[Request, asyncio.Future[Answer]]] = []
        self._flushers: set[asyncio.Task[None]] = set()

    async def submit(self, request: Request) -> Answer:
        """The answer to one request, once the batch it went in has run."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        # A flusher that has just finished is done before its done-callback drops it from the set: count only
        # those still running, or a request submitted in that moment would wait for nobody.
        if sum(not flusher.done() for flusher in self._flushers) < self._max_in_flight:
            flusher = asyncio.create_task(self._flush(), name=self._name)
            self._flushers.add(flusher)
            flusher.add_done_callback(self._flushers.discard)
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                answers = await self._run([request for request, _ in batch])
            except Exception as err:
                if len(batch) == 1:
                    _settle(batch[0][1], error=err)
                    continue
                log.warning("%s: batch of %d failed (%s); running them one by one", self._name, len(batch), err)
                for request, future in batch:
                    try:
                        _settle(future, result=(await self._run([request]))[0])
                    except Exception as single:
                        _settle(future, error=single)
                continue
            for (_, future), answer in zip(batch, answers, strict=True):
                _settle(future, result=answer)

    async def close(self) -> None:
        """Let the requests already handed in finish."""
        if self._flushers:
            await asyncio.shield(asyncio.gather(*self._flushers))


def _settle(
    future: asyncio.Future[Answer], *, result: Answer | None = None, error: BaseException | None = None
) -> None:
    if future.done():  # the caller was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]
