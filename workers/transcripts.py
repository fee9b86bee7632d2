"""From decoded audio to a stored transcript: per channel, speakers labelled, turns in time order."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telephony.asr import SpeechEngine, Transcript, Word
from telephony.audio import DecodedAudio

SPEAKERS = ("caller", "agent")  # Twilio dual-channel recordings: caller first, agent second
TURN_GAP = 1.2  # seconds of silence that end a speaker's turn


@dataclass(frozen=True)
class Turn:
    speaker: str
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class TranscriptionResult:
    """A call's transcript: the text, the turns and words per speaker, and what made them."""

    text: str
    turns: tuple[Turn, ...]
    words: dict[str, tuple[Word, ...]]
    model: str
    sample_rate: int
    source_rate: int
    duration: float
    seconds: float

    def detail(self, redact: Callable[[str], str]) -> dict[str, Any]:
        """JSON for the record, with every text redacted the same way as the transcript."""
        return {
            "model": self.model,
            "sample_rate": self.sample_rate,
            "source_rate": self.source_rate,
            "duration": round(self.duration, 3),
            "processing_seconds": round(self.seconds, 3),
            "turns": [
                {"speaker": t.speaker, "start": round(t.start, 2), "end": round(t.end, 2), "text": redact(t.text)}
                for t in self.turns
            ],
            "words": {
                speaker: [
                    {
                        "text": redact(w.text),
                        "start": round(w.start, 2),
                        "end": round(w.end, 2),
                        "confidence": None if w.confidence is None else round(w.confidence, 3),
                    }
                    for w in words
                ]
                for speaker, words in self.words.items()
            },
        }


def _turns(speaker: str, transcript: Transcript) -> list[Turn]:
    if not transcript.words:
        return [Turn(speaker, 0.0, transcript.duration, transcript.text)] if transcript.text else []
    turns: list[Turn] = []
    current: list[Word] = [transcript.words[0]]
    for word in transcript.words[1:]:
        if word.start - current[-1].end > TURN_GAP:
            turns.append(Turn(speaker, current[0].start, current[-1].end, " ".join(w.text for w in current)))
            current = []
        current.append(word)
    turns.append(Turn(speaker, current[0].start, current[-1].end, " ".join(w.text for w in current)))
    return turns


def transcribe_audio(engine: SpeechEngine, audio: DecodedAudio) -> TranscriptionResult:
    """Transcribe each channel; one channel is the caller alone, two are caller and agent."""
    started = time.perf_counter()
    speakers = SPEAKERS if len(audio.channels) == 2 else ("caller",)
    channels = audio.channels if len(audio.channels) == 2 else (audio.mono(),)
    transcripts = {
        speaker: engine.transcribe(samples, audio.sample_rate)
        for speaker, samples in zip(speakers, channels, strict=True)
    }
    turns = sorted((turn for speaker, t in transcripts.items() for turn in _turns(speaker, t)), key=lambda t: t.start)
    if len(speakers) == 1:
        text = transcripts["caller"].text.strip()
    else:
        text = "\n".join(f"{'고객' if t.speaker == 'caller' else '상담원'}: {t.text}" for t in turns)
    first = next(iter(transcripts.values()))
    return TranscriptionResult(
        text=text,
        turns=tuple(turns),
        words={speaker: t.words for speaker, t in transcripts.items()},
        model=first.model,
        sample_rate=first.sample_rate,
        source_rate=audio.source_rate,
        duration=audio.duration,
        seconds=time.perf_counter() - started,
    )
