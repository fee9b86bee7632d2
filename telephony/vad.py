"""Voice activity detection: where the speech is, so the engines skip silence and hold music.

Silero VAD (the ONNX model bundled with faster-whisper, run by onnxruntime, offline). Measured on the
Korean clips (bench/asr_accuracy.py): on wideband audio its speech probability is near 1 in speech
and near 0 in silence and hold music, so faster-whisper's default threshold (0.5) loses nothing; on
telephone-band audio (8 kHz, 300-3400 Hz, upsampled) the same speech scores around 0.1 to 0.2, and
0.5 loses three quarters of it. So the threshold follows the audio's bandwidth.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from faster_whisper.vad import VadOptions

RATE = 16000
WIDEBAND_THRESHOLD = 0.5
NARROWBAND_THRESHOLD = 0.02
# Telephone audio resampled to 16 kHz has (almost) nothing above 4 kHz; wideband speech has a few percent.
NARROWBAND_CUTOFF_HZ = 3800.0
NARROWBAND_MAX_ENERGY_SHARE = 0.002
MIN_SILENCE_MS = 2000  # a pause shorter than this stays inside the speech around it
SPEECH_PAD_MS = 400  # kept on each side of speech, so no word loses its first or last sound
WINDOW_SECONDS = 30.0  # what Whisper decodes at a time

_SPECTRUM_FRAME = 1024
_SPECTRUM_MAX_FRAMES = 2000


@dataclass(frozen=True)
class SpeechSpan:
    """A stretch of speech, in samples at 16 kHz from the start of the audio."""

    start: int
    end: int

    @property
    def offset(self) -> float:
        """Where the span starts, in seconds."""
        return self.start / RATE


def is_narrowband(samples: np.ndarray) -> bool:
    """True when 16 kHz audio carries (almost) no energy above 3.8 kHz: a telephone line."""
    audio = np.asarray(samples, dtype=np.float32).ravel()
    frames = audio.size // _SPECTRUM_FRAME
    if frames == 0:
        return False
    # Evenly spaced frames bound the cost on a long call.
    step = max(1, frames // _SPECTRUM_MAX_FRAMES)
    blocks = audio[: frames * _SPECTRUM_FRAME].reshape(frames, _SPECTRUM_FRAME)[::step]
    power = np.abs(np.fft.rfft(blocks * np.hanning(_SPECTRUM_FRAME), axis=1)) ** 2
    total = float(power[:, 1:].sum())
    if total <= 1e-9:
        return False
    high = float(power[:, int(NARROWBAND_CUTOFF_HZ * _SPECTRUM_FRAME / RATE) :].sum())
    return high / total < NARROWBAND_MAX_ENERGY_SHARE


def vad_options(samples: np.ndarray) -> VadOptions:
    """Silero settings for this audio: the threshold follows its bandwidth."""
    from faster_whisper.vad import VadOptions

    threshold = NARROWBAND_THRESHOLD if is_narrowband(samples) else WIDEBAND_THRESHOLD
    return VadOptions(threshold=threshold, min_silence_duration_ms=MIN_SILENCE_MS, speech_pad_ms=SPEECH_PAD_MS)


def speech_spans(samples: np.ndarray, options: VadOptions | None = None) -> list[SpeechSpan]:
    """The speech in float32 mono 16 kHz samples, in time order; empty when there is none."""
    from faster_whisper.vad import get_speech_timestamps

    audio = np.ascontiguousarray(np.asarray(samples, dtype=np.float32).ravel())
    if audio.size == 0:
        return []
    found = get_speech_timestamps(audio, options or vad_options(audio), sampling_rate=RATE)
    return [SpeechSpan(int(span["start"]), int(span["end"])) for span in found if span["end"] > span["start"]]


@dataclass(frozen=True)
class SpeechOnly:
    """The speech of a recording joined end to end, and the way back to the recording's time base."""

    samples: np.ndarray
    spans: tuple[SpeechSpan, ...]
    duration: float

    @property
    def speech_seconds(self) -> float:
        """How much audio is left to decode."""
        return self.samples.size / RATE

    def original_times(self, start: float, end: float) -> tuple[float, float]:
        """Map a (start, end) in the joined speech back to the recording, rounded to milliseconds."""
        if not self.spans:
            return start, end
        # The middle picks the span, so a word at a seam is not stretched over the silence that was cut.
        ends = self._joined_ends()
        index = min(bisect.bisect_right(ends, (start + end) / 2 * RATE), len(self.spans) - 1)
        span = self.spans[index]
        shift = span.start - (ends[index] - (span.end - span.start))
        first = min(max(start * RATE + shift, span.start), span.end)
        last = min(max(end * RATE + shift, first), span.end)
        return round(first / RATE, 3), round(last / RATE, 3)

    def _joined_ends(self) -> list[int]:
        ends, total = [], 0
        for span in self.spans:
            total += span.end - span.start
            ends.append(total)
        return ends


def keep_speech(samples: np.ndarray, options: VadOptions | None = None) -> SpeechOnly:
    """Cut silence and hold music out of float32 mono 16 kHz samples (VAD); empty samples when no speech."""
    audio = np.ascontiguousarray(np.asarray(samples, dtype=np.float32).ravel())
    spans = tuple(speech_spans(audio, options))
    joined = (
        np.concatenate([audio[span.start : span.end] for span in spans]) if spans else np.zeros(0, dtype=np.float32)
    )
    return SpeechOnly(samples=joined, spans=spans, duration=audio.size / RATE)


def speech_windows(
    samples: np.ndarray, options: VadOptions | None = None, max_seconds: float = WINDOW_SECONDS
) -> list[SpeechOnly]:
    """The speech of float32 mono 16 kHz samples, packed into decoding windows of whole stretches.

    Whisper decodes 30 s at a time, and its cost is one encoder pass per window plus the words it
    writes. Joining all the speech end to end (`keep_speech`) fills windows that end in the middle of an
    utterance, whose tail Whisper then decodes again in the next window, without the start it heard.
    Here each window holds whole stretches of speech, in order, as many as fit in `max_seconds` (a
    stretch longer than that is a window of its own, which Whisper splits itself). A stretch of
    non-speech shorter than the VAD's minimum silence is never cut, at the edges of the recording
    either, so a recording without a long pause is decoded whole, exactly as without VAD.
    """
    audio = np.ascontiguousarray(np.asarray(samples, dtype=np.float32).ravel())
    options = options or vad_options(audio)
    spans = speech_spans(audio, options)
    if not spans:
        return []
    spans = _keep_short_edges(spans, audio.size, int(options.min_silence_duration_ms * RATE / 1000))
    limit = int(max_seconds * RATE)
    groups: list[list[SpeechSpan]] = [[]]
    size = 0
    for span in spans:
        length = span.end - span.start
        if groups[-1] and size + length > limit:
            groups.append([])
            size = 0
        groups[-1].append(span)
        size += length
    duration = audio.size / RATE
    return [
        SpeechOnly(
            samples=np.concatenate([audio[span.start : span.end] for span in group]),
            spans=tuple(group),
            duration=duration,
        )
        for group in groups
    ]


def _keep_short_edges(spans: list[SpeechSpan], size: int, min_silence: int) -> list[SpeechSpan]:
    """Stretch the first and last span to the recording's edges when what they leave out is short."""
    if spans[0].start < min_silence:
        spans[0] = SpeechSpan(0, spans[0].end)
    if size - spans[-1].end < min_silence:
        spans[-1] = SpeechSpan(spans[-1].start, size)
    return spans
