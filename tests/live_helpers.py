"""Stand-in speech engines for the live transcriber processes (loaded by `module:factory` in a spawned process), and
the audio the tests stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from telephony.asr.base import Transcript
from telephony.audio import decode_audio, to_telephone_band

AUDIO = Path(__file__).parent / "fixtures" / "audio"
# What the talking engine hears in every utterance: a phone and a registration number, an accident on the road.
SPOKEN = (
    "경부고속도로에서 사고가 났어요 지금 사람이 다쳤어요 차량번호는 12가 3456 이고 오늘 오후 세시쯤이었어요 "
    "제 번호는 010-2345-6789 이고 주민번호는 900101-1234567 이에요"
)


class ScriptedEngine:
    """Answers every utterance with the same words, after waiting for `gate` (a file) to exist when one is named."""

    name = "scripted"
    model_name = "scripted"

    def __init__(self, text: str = SPOKEN, gate: str | None = None) -> None:
        self.text, self.gate = text, Path(gate) if gate else None

    def transcribe(self, samples: np.ndarray, sample_rate: int = 16000) -> Transcript:
        while self.gate is not None and not self.gate.exists():
            time.sleep(0.02)
        return Transcript(self.text, (), self.model_name, sample_rate, samples.size / sample_rate)


def scripted_engine(**options: Any) -> ScriptedEngine:
    """The factory the live pool calls in its process (`tests.live_helpers:scripted_engine`)."""
    return ScriptedEngine(text=options.get("text", SPOKEN), gate=options.get("gate"))


def telephone_audio(name: str = "zeroth_0294.ulaw8k.wav") -> bytes:
    """A fixture recording as 8 kHz mu-law bytes, as Twilio streams it."""
    return to_telephone_band(decode_audio((AUDIO / name).read_bytes()).mono())


async def until(check: Callable[[], bool], seconds: float = 15.0) -> None:
    """Wait for `check()` to hold, looking every 50 ms for at most `seconds` (then assert it)."""
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    assert check()
