"""The boards of one unit share their read: boards asking at once get one computation, a change (a frame, or a step
made in this process) makes the next read anew, and a failed read is not kept."""

from __future__ import annotations

import asyncio

import pytest

from gateway.dispatch_live import SharedReads


async def test_one_read_per_unit_and_change() -> None:
    reads, computed = SharedReads(), []

    async def compute(unit: int) -> tuple[int, int]:
        computed.append(unit)
        await asyncio.sleep(0.01)
        return unit, len(computed)

    together = await asyncio.gather(*(reads.read(7, lambda: compute(7)) for _ in range(5)))
    assert together == [(7, 1)] * 5 and computed == [7]
    assert await reads.read(8, lambda: compute(8)) == (8, 2)  # another unit reads its own
    assert await reads.read(7, lambda: compute(7)) == (7, 1)  # nothing changed
    reads.changed()
    assert await reads.read(7, lambda: compute(7)) == (7, 3)


async def test_a_failed_read_is_not_kept() -> None:
    reads, calls = SharedReads(), []

    async def failing() -> int:
        calls.append(1)
        raise RuntimeError("database away")

    with pytest.raises(RuntimeError):
        await reads.read(7, failing)

    async def fine() -> int:
        return 42

    assert await reads.read(7, fine) == 42 and calls == [1]
