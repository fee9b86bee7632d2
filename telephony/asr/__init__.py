"""Speech recognition behind one interface: `load_engine("whisper" | "vosk")`."""

from __future__ import annotations

from pathlib import Path

from telephony.asr.base import SpeechEngine, Transcript, Word
from telephony.errors import SpeechEngineError

ENGINE_NAMES = ("whisper", "vosk")

__all__ = ["ENGINE_NAMES", "SpeechEngine", "Transcript", "Word", "load_engine"]


def load_engine(
    name: str,
    *,
    vosk_model_path: str | None = None,
    cache_dir: Path | None = None,
    cpu_threads: int = 0,
    vad: bool = True,
) -> SpeechEngine:
    """Load the named speech engine and its model (slow: keep one per process); `vad` skips non-speech."""
    # Engine modules are imported here so that importing telephony.asr stays cheap.
    key = name.strip().lower()
    if key == "whisper":
        from telephony.asr.whisper import WhisperEngine

        return WhisperEngine(cache_dir=cache_dir, cpu_threads=cpu_threads, vad=vad)
    if key == "vosk":
        from telephony.asr.vosk import VoskEngine

        return VoskEngine(model_path=vosk_model_path, vad=vad)
    raise SpeechEngineError(f"unknown speech engine {name!r}; expected one of: {', '.join(ENGINE_NAMES)}")
