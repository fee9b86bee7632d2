"""Transcribe a list of audio files with one loaded engine, one result dict per file."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from telephony.asr.base import SpeechEngine
from telephony.audio import decode_audio
from telephony.errors import TelephonyError


def transcribe_files(paths: list[Path], engine: SpeechEngine, *, progress: bool) -> Iterator[dict[str, Any]]:
    """Yield {file, text, model, duration, seconds} per file, with `error` instead of text on failure."""
    with tqdm(
        total=len(paths),
        file=sys.stderr,
        unit="file",
        disable=not (progress and len(paths) > 1),
    ) as bar:
        for path in paths:
            yield _transcribe_one(Path(path), engine)
            bar.update(1)


def _transcribe_one(path: Path, engine: SpeechEngine) -> dict[str, Any]:
    started = time.perf_counter()
    entry: dict[str, Any] = {"file": str(path), "text": "", "model": engine.model_name, "duration": None}
    try:
        audio = decode_audio(path.read_bytes())
        entry["duration"] = round(audio.duration, 3)
        entry["text"] = engine.transcribe(audio.mono(), audio.sample_rate).text
    except (TelephonyError, OSError) as err:
        entry["error"] = f"{type(err).__name__}: {err}"
    entry["seconds"] = round(time.perf_counter() - started, 3)
    return entry
