"""Where a gateway's time goes during a benchmark: put this directory first on PYTHONPATH with HOTLINE_PROBE=1, e.g.

    flock /tmp/hotline-bench.lock env HOTLINE_PROBE=1 PYTHONPATH=bench/probe .venv/bin/python bench/screen_pop.py

and every `hotline serve` process started by the bench writes /tmp/hotline-probe-<pid>.json every 3 s: count, p50,
p99, max and sum in ms of the collector's passes by generation, the event loop's lag (a 5 ms sleep's overshoot), the
distributor's offer passes (`offer_pass`: the decision), offers' publication (`publish_offer`: picture and frames),
sweeps, agents' answers and the heartbeat statements. Nothing of it runs without HOTLINE_PROBE."""

from __future__ import annotations

import collections
import functools
import gc
import json
import os
import sys
import time
from typing import Any

STATS: dict[str, list[float]] = collections.defaultdict(list)
TASKS: list[Any] = []


def _dump() -> None:
    out = {}
    for key, values in STATS.items():
        ordered = sorted(values)
        if ordered:
            out[key] = {"n": len(ordered), "p50": round(ordered[len(ordered) // 2], 2),
                        "p99": round(ordered[int(len(ordered) * 0.99)], 2), "max": round(ordered[-1], 2),
                        "sum": round(sum(ordered), 1)}  # fmt: skip
    with open(f"/tmp/hotline-probe-{os.getpid()}.json", "w") as file:
        json.dump(out, file, indent=1)


def _timed(owner: Any, name: str, key: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            STATS[key].append((time.perf_counter() - started) * 1000)

    setattr(owner, name, timed)


def _install() -> None:
    collecting = [0.0]

    def collector(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting[0] = time.perf_counter()
        else:
            STATS[f"gc{info['generation']}"].append((time.perf_counter() - collecting[0]) * 1000)

    gc.callbacks.append(collector)
    import aiohttp.web

    original_init = aiohttp.web.Application.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if getattr(aiohttp.web, "_hotline_probe", False):
            return
        aiohttp.web._hotline_probe = True  # type: ignore[attr-defined]  # the root application only
        self.on_startup.append(_start)

    aiohttp.web.Application.__init__ = init  # type: ignore[method-assign]


async def _start(_app: Any) -> None:
    import asyncio

    from gateway import desk_distributor, desk_socket

    for name, key in [("_offer_pass", "offer_pass"), ("_publish_offer", "publish_offer"), ("sweep", "sweep"),
                      ("answer", "answer")]:  # fmt: skip
        _timed(desk_distributor.Distributor, name, key)
    _timed(desk_socket, "beat_open_desks", "heartbeats")

    async def lag() -> None:
        dumped = time.monotonic()
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            STATS["loop_lag"].append((time.perf_counter() - started) * 1000 - 5)
            if time.monotonic() - dumped > 3:
                dumped = time.monotonic()
                _dump()

    TASKS.append(asyncio.get_running_loop().create_task(lag()))


if os.environ.get("HOTLINE_PROBE") and "serve" in sys.argv:
    _install()
