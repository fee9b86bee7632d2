"""Voice activity detection: silence and hold music skipped, word times kept in the recording's time base."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from telephony.asr.vosk import VoskEngine
from telephony.asr.whisper import WhisperEngine
from telephony.audio import decode_audio, mulaw_decode, resample, to_telephone_band
from telephony.vad import SpeechOnly, SpeechSpan, is_narrowband, keep_speech, vad_options

RATE = 16000
LEAD = 9.0  # seconds of line noise and hold music before the caller speaks


def hold_music(seconds: float) -> np.ndarray:
    """A melody with harmonics and a note envelope, like a hold-music loop, at about -26 dBFS."""
    t = np.arange(int(seconds * RATE)) / RATE
    pitch = np.array([261.6, 329.6, 392.0, 523.3, 440.0, 392.0, 329.6, 293.7])[(t / 0.45).astype(int) % 8]
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    tone = 0.55 * np.sin(phase) + 0.25 * np.sin(2 * phase) + 0.12 * np.sin(3 * phase)
    return (0.05 * tone * (0.55 + 0.45 * np.cos(2 * np.pi * (t % 0.45) / 0.45))).astype(np.float32)


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (0.003 * np.random.default_rng(seed).standard_normal(int(seconds * RATE))).astype(np.float32)


@pytest.fixture(scope="module")
def clip(audio_fixtures: Path) -> np.ndarray:
    return decode_audio((audio_fixtures / "zeroth_0294.16k.flac").read_bytes()).mono()


@pytest.fixture(scope="module")
def on_hold(clip: np.ndarray) -> np.ndarray:
    """The clip after 3 s of line noise and 6 s of hold music, followed by 6 s of noise."""
    return np.concatenate([noise(3.0), hold_music(6.0) + noise(6.0, 1), clip, noise(6.0, 2)])


def phone(samples: np.ndarray) -> np.ndarray:
    """The telephone line: 8 kHz mu-law, 300-3400 Hz, back at 16 kHz as the engines get it."""
    return resample(mulaw_decode(to_telephone_band(samples)), 8000, RATE)


def test_joined_speech_maps_back_to_the_recordings_time_base() -> None:
    speech = SpeechOnly(
        samples=np.zeros(3 * RATE, dtype=np.float32),
        spans=(SpeechSpan(RATE, 2 * RATE), SpeechSpan(10 * RATE, 12 * RATE)),
        duration=20.0,
    )
    assert speech.speech_seconds == 3.0
    assert speech.original_times(0.25, 0.5) == (1.25, 1.5)
    assert speech.original_times(1.5, 2.0) == (10.5, 11.0)
    # A word across the seam belongs to the span holding its middle, never stretched over the cut.
    assert speech.original_times(0.9, 1.3) == (10.0, 10.3)
    assert speech.original_times(0.7, 1.1) == (1.7, 2.0)
    assert SpeechOnly(np.zeros(0, np.float32), (), 1.0).original_times(0.1, 0.2) == (0.1, 0.2)


def test_telephone_audio_is_recognised_as_narrowband(clip: np.ndarray) -> None:
    assert not is_narrowband(clip)
    assert is_narrowband(phone(clip))
    assert not is_narrowband(np.zeros(RATE, np.float32)) and not is_narrowband(np.zeros(10, np.float32))
    # Silero scores telephone speech far lower than wideband speech: the threshold follows.
    assert vad_options(phone(clip)).threshold < vad_options(clip).threshold


@pytest.mark.parametrize("line", ["wideband", "telephone"])
def test_hold_music_and_silence_are_cut_and_the_speech_kept(on_hold: np.ndarray, clip: np.ndarray, line: str) -> None:
    audio = on_hold if line == "wideband" else phone(on_hold)
    speech = keep_speech(audio)
    assert speech.duration == pytest.approx(on_hold.size / RATE, abs=0.01)
    # Wideband, Silero tells music from speech; on the telephone band its low threshold lets part of the
    # music through (measured in bench/asr_accuracy.py), but the line noise still goes.
    assert speech.speech_seconds < (0.6 if line == "wideband" else 0.9) * speech.duration
    assert speech.speech_seconds >= 0.7 * clip.size / RATE
    start, end = LEAD * RATE, LEAD * RATE + clip.size
    covered = sum(max(0, min(s.end, end) - max(s.start, start)) for s in speech.spans)
    assert covered >= 0.7 * clip.size
    assert keep_speech(np.zeros(0, np.float32)).samples.size == 0


def test_wideband_hold_music_alone_is_no_speech() -> None:
    assert keep_speech(hold_music(8.0) + noise(8.0)).speech_seconds < 1.0  # at most the onset click
    assert keep_speech(noise(5.0)).spans == ()


def test_whisper_words_keep_the_original_times_after_the_pause_is_skipped(
    whisper_engine: WhisperEngine, on_hold: np.ndarray
) -> None:
    assert whisper_engine.vad
    transcript = whisper_engine.transcribe(phone(on_hold))
    assert "소비자" in transcript.text and transcript.duration == pytest.approx(on_hold.size / RATE, abs=0.01)
    assert transcript.words[0].start >= LEAD - 0.5
    assert transcript.words[-1].end <= transcript.duration
    assert all(a.start <= b.start for a, b in zip(transcript.words, transcript.words[1:], strict=False))


def test_whisper_decodes_nothing_without_speech(whisper_engine: WhisperEngine) -> None:
    transcript = whisper_engine.transcribe(noise(8.0))
    assert (transcript.text, transcript.words) == ("", ())
    assert transcript.duration == pytest.approx(8.0)


def test_vosk_words_keep_the_original_times_after_the_pause_is_skipped(
    vosk_engine: VoskEngine, on_hold: np.ndarray, clip: np.ndarray
) -> None:
    assert vosk_engine.vad
    alone = {w.text: w for w in vosk_engine.transcribe(clip).words}
    padded = {w.text: w for w in vosk_engine.transcribe(on_hold).words}
    shared = [text for text in ("전해지기", "거쳐야", "한다") if text in alone and text in padded]
    assert len(shared) >= 2
    for text in shared:
        assert padded[text].start == pytest.approx(alone[text].start + LEAD, abs=0.15)
        assert padded[text].end == pytest.approx(alone[text].end + LEAD, abs=0.15)
    assert vosk_engine.transcribe(noise(8.0)).words == ()


def test_vad_is_on_by_default_and_a_setting_turns_it_off() -> None:
    from telephony.asr import load_engine
    from workers.settings import Settings, SettingsError

    assert Settings.from_env({}).asr_vad is True
    assert Settings.from_env({"HOTLINE_ASR_VAD": "false"}).asr_vad is False
    with pytest.raises(SettingsError):
        Settings.from_env({"HOTLINE_ASR_VAD": "maybe"})
    engine = load_engine("vosk", vad=False)
    assert isinstance(engine, VoskEngine) and engine.vad is False
