"""Group commit: requests gather while a batch runs; a bad request fails alone; cancelled callers are skipped."""

from __future__ import annotations

import asyncio

import pytest

from crm_store.coalesce import Coalescer


class Store:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()

    async def run(self, batch: list[int]) -> list[int]:
        self.batches.append(list(batch))
        await self.gate.wait()
        if any(n < 0 for n in batch):
            raise ValueError(f"negative in {batch}")
        return [n * 10 for n in batch]


async def test_requests_arriving_during_a_batch_go_together_in_the_next() -> None:
    store = Store()
    coalescer = Coalescer(store.run, name="test", max_batch=3)
    first = asyncio.ensure_future(coalescer.submit(1))
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(coalescer.submit(n)) for n in (2, 3, 4, 5)]
    await asyncio.sleep(0)
    store.gate.set()
    assert await first == 10
    assert [await f for f in later] == [20, 30, 40, 50]
    assert store.batches == [[1], [2, 3, 4], [5]]


async def test_one_bad_request_fails_alone() -> None:
    store = Store()
    store.gate.set()
    coalescer = Coalescer(store.run, name="test", max_batch=10)
    answers = await asyncio.gather(*(coalescer.submit(n) for n in (1, -2, 3)), return_exceptions=True)
    assert answers[0] == 10 and answers[2] == 30
    assert isinstance(answers[1], ValueError)
    assert store.batches[0] == [1, -2, 3] and [-2] in store.batches


async def test_a_cancelled_caller_does_not_break_the_batch() -> None:
    store = Store()
    coalescer = Coalescer(store.run, name="test", max_batch=10)
    gone = asyncio.ensure_future(coalescer.submit(1))
    stays = asyncio.ensure_future(coalescer.submit(2))
    await asyncio.sleep(0)
    gone.cancel()
    store.gate.set()
    assert await stays == 20
    with pytest.raises(asyncio.CancelledError):
        await gone
    await coalescer.close()


async def test_reads_may_run_side_by_side() -> None:
    store = Store()
    coalescer = Coalescer(store.run, name="test", max_batch=1, max_in_flight=2)
    futures = [asyncio.ensure_future(coalescer.submit(n)) for n in (1, 2, 3)]
    await asyncio.sleep(0.01)
    assert len(store.batches) == 2  # two statements in flight, the third waits
    store.gate.set()
    assert [await f for f in futures] == [10, 20, 30]


async def test_a_request_right_after_a_batch_finishes_is_not_stranded() -> None:
    # The caller of a finished batch wakes before the finished flusher's done-callbacks run: a request it
    # submits at once (same task, no hop through another task) must start a new flusher, not wait for one
    # that is already over.
    store = Store()
    store.gate.set()
    coalescer = Coalescer(store.run, name="test", max_batch=10)
    watchdog = asyncio.get_running_loop().call_later(2, asyncio.current_task().cancel)  # type: ignore[union-attr]
    try:
        for n in range(1, 6):
            assert await coalescer.submit(n) == n * 10
    except asyncio.CancelledError:
        pytest.fail("a request was stranded: no flusher ran it")
    finally:
        watchdog.cancel()
