"""What every speech engine returns and the interface it offers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Word:
    """One recognised word with its time span in seconds and the engine's confidence (0 to 1)."""

    text: str
    start: float
    end: float
    confidence: float | None


@dataclass(frozen=True)
class Transcript:
    """The text an engine heard in one stretch of audio, with word timings."""

    text: str
    words: tuple[Word, ...]
    model: str
    sample_rate: int
    duration: float
    language: str = "ko"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the transcript and its words."""
        return {
            "text": self.text,
            "words": [{"text": w.text, "start": w.start, "end": w.end, "confidence": w.confidence} for w in self.words],
            "model": self.model,
            "sample_rate": self.sample_rate,
            "duration": self.duration,
            "language": self.language,
        }


@runtime_checkable
class SpeechEngine(Protocol):
    """A loaded speech recogniser; build one per process and reuse it."""

    name: str
    model_name: str

    def transcribe(self, samples: np.ndarray, sample_rate: int = 16000) -> Transcript:
        """Transcribe float32 mono samples."""
        ...


def as_mono_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Return samples as a contiguous float32 mono array at 16 kHz, resampling if needed."""
    from telephony.audio import TARGET_RATE, resample

    array = np.asarray(samples, dtype=np.float32)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"expected mono samples (one dimension), got shape {array.shape}")
    if sample_rate != TARGET_RATE:
        array = resample(array, sample_rate, TARGET_RATE)
    return np.ascontiguousarray(array)
