"""Cutting one track of a live call into utterances as its audio arrives, 20 ms at a time.

The live path needs a decision per 20 ms frame on the gateway's event loop, for every track of every call, so it
uses frame energy against a noise floor that follows the line (NumPy, microseconds a frame), not Silero
(`telephony.vad`, which the recorded path runs over a whole recording in the transcriber processes, and which
scores telephone-band speech low anyway). The Whisper decode of each utterance still runs Silero over it.

An utterance starts after a few voiced frames (with a little audio before them, so no first sound is lost), is
offered as a partial every `partial_every` seconds while it goes on, and ends after `hangover` seconds without
voice (or at `max_seconds`, where the next one starts at once). Once it has gone on for `cut_after` seconds, a
shorter pause (`pause` seconds, a breath between phrases) ends it too: a long turn is cut into phrases of a few
seconds, each final soon after it is said and quick to decode, instead of one final decoded whole after the
turn. Times are seconds from the stream's start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

RATE = 8000
FRAME = 160  # 20 ms at 8 kHz


@dataclass(frozen=True)
class CutterTiming:
    """The cutter's thresholds: seconds, and decibels relative to full scale."""

    hangover: float = 0.5
    start_frames: int = 3
    preroll: float = 0.2
    tail: float = 0.15
    partial_every: float = 1.5
    max_seconds: float = 20.0
    pause: float | None = 0.3
    cut_after: float = 3.0
    above_floor_db: float = 12.0
    min_speech_db: float = -45.0


@dataclass(frozen=True)
class Utterance:
    """A stretch of one track's speech: float32 samples at 8 kHz, and where it lies in the stream."""

    track: str
    number: int
    start: float
    end: float
    samples: np.ndarray = field(repr=False)
    final: bool


class UtteranceCutter:
    """One track's voice activity detection and utterance cutting (state kept between frames)."""

    def __init__(self, track: str, timing: CutterTiming | None = None) -> None:
        self.track = track
        self.timing = timing or CutterTiming()
        self.floor_db = -60.0
        self._pending = np.zeros(0, dtype=np.float32)
        self._clock = 0  # samples of this track seen, placed by the frames' timestamps
        self._history: list[np.ndarray] = []  # recent unvoiced frames, for the pre-roll
        self._speech: list[np.ndarray] = []
        self._start = 0
        self._last_voiced_end = 0
        self._voiced_run = 0
        self._silent_run = 0
        self._in_speech = False
        self._partial_at = 0
        self._number = 0

    def feed(self, samples: np.ndarray, timestamp_ms: int | None = None) -> list[Utterance]:
        """Take the next audio of the track (float32, 8 kHz); the partials and finals it completes."""
        if timestamp_ms is not None:
            # Twilio's timestamps place the audio; a gap (lost frames) is silence.
            at = timestamp_ms * RATE // 1000
            gap = at - self._clock - self._pending.size
            if gap > FRAME:
                self._pending = np.concatenate([self._pending, np.zeros(gap, np.float32)])
        audio = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        out: list[Utterance] = []
        whole = audio.size // FRAME * FRAME
        for offset in range(0, whole, FRAME):
            out.extend(self._frame(audio[offset : offset + FRAME]))
        self._pending = audio[whole:]
        return out

    def flush(self) -> list[Utterance]:
        """The stream ended: the utterance under way, final."""
        return [self._final(self._clock)] if self._in_speech else []

    @property
    def in_speech(self) -> bool:
        """Whether an utterance is under way."""
        return self._in_speech

    def _frame(self, frame: np.ndarray) -> list[Utterance]:
        timing = self.timing
        level = 10.0 * float(np.log10(float(np.mean(frame * frame)) + 1e-10))
        voiced = level > max(self.floor_db + timing.above_floor_db, timing.min_speech_db)
        if not voiced:
            # The floor follows the line's noise: quickly down, slowly up.
            self.floor_db += (level - self.floor_db) * (0.2 if level < self.floor_db else 0.02)
        begin = self._clock
        self._clock += FRAME
        out: list[Utterance] = []
        if not self._in_speech:
            self._history.append(frame)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            keep = int((timing.preroll * RATE) // FRAME) + timing.start_frames
            del self._history[:-keep]
            if self._voiced_run >= timing.start_frames:
                self._in_speech = True
                self._speech = list(self._history)
                self._start = self._clock - FRAME * len(self._speech)
                self._partial_at = self._clock
                self._silent_run = 0
                self._last_voiced_end = self._clock
                self._history = []
            return out
        self._speech.append(frame)
        if voiced:
            self._silent_run = 0
            self._last_voiced_end = begin + FRAME
        else:
            self._silent_run += 1
        if self._silent_run * FRAME >= timing.hangover * RATE or self._pause_ends_it():
            out.append(self._final(self._last_voiced_end))
        elif self._clock - self._start >= timing.max_seconds * RATE:
            out.append(self._final(self._clock))
            if voiced:  # the speech goes on: the next utterance starts here
                self._in_speech, self._speech, self._start = True, [], self._clock
                self._partial_at = self._clock
        elif self._clock - self._partial_at >= timing.partial_every * RATE:
            self._partial_at = self._clock
            out.append(self._utterance(self._clock, final=False))
        return out

    def _pause_ends_it(self) -> bool:
        timing = self.timing
        return (
            timing.pause is not None
            and self._silent_run * FRAME >= timing.pause * RATE
            and self._last_voiced_end - self._start >= timing.cut_after * RATE
        )

    def _final(self, end: int) -> Utterance:
        utterance = self._utterance(end, final=True)
        self._number += 1
        self._in_speech, self._speech, self._voiced_run, self._silent_run = False, [], 0, 0
        return utterance

    def _utterance(self, end: int, *, final: bool) -> Utterance:
        audio = np.concatenate(self._speech) if self._speech else np.zeros(0, np.float32)
        keep = min(audio.size, end - self._start + int(self.timing.tail * RATE))
        return Utterance(
            track=self.track,
            number=self._number,
            start=round(self._start / RATE, 3),
            end=round(end / RATE, 3),
            samples=audio[:keep],
            final=final,
        )
