"""A job for worker-process tests: it naps, and leaves a trace of each run in files (the worker's own process)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def nap(name: str) -> str:
    """Sleep HOTLINE_TEST_NAP_SECONDS; note the run's start and end in HOTLINE_TEST_NAPS (one line per run)."""
    folder = Path(os.environ["HOTLINE_TEST_NAPS"])
    with (folder / f"{name}.started").open("a") as started:
        started.write(f"{os.getpid()}\n")
    time.sleep(float(os.environ.get("HOTLINE_TEST_NAP_SECONDS", "5")))
    with (folder / f"{name}.done").open("a") as done:
        done.write(f"{os.getpid()}\n")
    return f"{name} done"
