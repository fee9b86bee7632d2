"""A live transcriber process yields the CPU to the gateway that started it."""

from __future__ import annotations

import os

import numpy as np

from gateway.live_pool import TranscriberProcess
from workers.live_transcriber import NICENESS

SCRIPTED = "tests.live_helpers:scripted_engine"


def _niceness(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


def test_a_transcriber_runs_below_the_gateway_and_still_transcribes() -> None:
    process = TranscriberProcess(SCRIPTED, {})
    process.start()
    try:
        assert process.pid is not None
        assert _niceness(process.pid) == min(19, _niceness(0) + NICENESS)
        assert process.transcribe(1, np.zeros(8000, dtype=np.float32), 8000)
    finally:
        process.stop()


def test_the_niceness_is_an_option_and_zero_keeps_the_gateways() -> None:
    process = TranscriberProcess(SCRIPTED, {"niceness": 0})
    process.start()
    try:
        assert process.pid is not None
        assert _niceness(process.pid) == _niceness(0)
    finally:
        process.stop()
