"""Voice activity detection: silence and hold music skipped, word times kept in the recording's time base."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from telephony import vad
from telephony.asr.vosk import VoskEngine
from telephony.asr.whisper import WhisperEngine
from telephony.audio import decode_audio, mulaw_decode, resample, to_telephone_band
from telephony.vad import SpeechOnly, SpeechSpan, is_narrowband, keep_speech, speech_windows, vad_options

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


def test_speech_is_packed_into_windows_of_whole_stretches(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [SpeechSpan(3 * RATE, 13 * RATE), SpeechSpan(20 * RATE, 32 * RATE), SpeechSpan(40 * RATE, 50 * RATE)]
    found += [SpeechSpan(60 * RATE, 95 * RATE)]
    monkeypatch.setattr(vad, "speech_spans", lambda audio, options: list(found))
    audio = np.arange(100 * RATE, dtype=np.float32)  # each sample holds its own index
    windows = speech_windows(audio, vad_options(noise(1.0)), max_seconds=30.0)
    # Whole stretches, in order, never split: 10 + 12 s fit in 30 s, the next 10 s does not; a stretch
    # longer than a window is a window of its own.
    assert [w.spans for w in windows] == [tuple(found[:2]), (found[2],), (found[3],)]
    assert [w.speech_seconds for w in windows] == [22.0, 10.0, 35.0]
    assert all(w.duration == 100.0 for w in windows)
    first = windows[0]
    assert first.samples[0] == 3 * RATE and first.samples[10 * RATE] == 20 * RATE
    # Word times in a window map back to the recording, through the cut between its stretches.
    assert first.original_times(9.5, 9.75) == (12.5, 12.75)
    assert first.original_times(10.5, 11.0) == (20.5, 21.0)
    assert windows[1].original_times(0.0, 2.0) == (40.0, 42.0)
    assert windows[2].original_times(31.0, 34.5) == (91.0, 94.5)


def test_short_silence_at_the_edges_is_not_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    audio = np.zeros(10 * RATE, dtype=np.float32)
    options = vad_options(audio)  # minimum silence 2 s
    monkeypatch.setattr(vad, "speech_spans", lambda samples, opts: [SpeechSpan(RATE, 9 * RATE)])
    (whole,) = speech_windows(audio, options)
    assert whole.spans == (SpeechSpan(0, 10 * RATE),) and whole.samples.size == audio.size
    assert whole.original_times(1.0, 2.0) == (1.0, 2.0)
    monkeypatch.setattr(vad, "speech_spans", lambda samples, opts: [SpeechSpan(3 * RATE, 7 * RATE)])
    (middle,) = speech_windows(audio, options)
    assert middle.spans == (SpeechSpan(3 * RATE, 7 * RATE),)
    monkeypatch.setattr(vad, "speech_spans", lambda samples, opts: [])
    assert speech_windows(audio, options) == []


def test_a_recording_without_long_pauses_is_decoded_whole(clip: np.ndarray) -> None:
    for audio in (clip, phone(clip)):
        (window,) = speech_windows(audio)
        assert np.array_equal(window.samples, audio)


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


def test_whisper_words_keep_the_original_times_across_several_windows(
    whisper_engine: WhisperEngine, clip: np.ndarray, audio_fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two utterances, each after a pause with hold music, decoded in two windows (one each): every word
    # lands inside its own utterance's time in the recording.
    other = decode_audio((audio_fixtures / "zeroth_0352.ulaw8k.wav").read_bytes()).mono()
    pause = np.concatenate([noise(3.0, 3), hold_music(6.0) + noise(6.0, 4), noise(1.0, 5)])
    audio = phone(np.concatenate([pause, clip, pause, other, noise(4.0, 6)]))
    first = (pause.size / RATE, (pause.size + clip.size) / RATE)
    second = (first[1] + pause.size / RATE, first[1] + (pause.size + other.size) / RATE)
    monkeypatch.setattr(whisper_engine, "window_seconds", 10.0)
    assert len(speech_windows(audio, max_seconds=10.0)) >= 2
    transcript = whisper_engine.transcribe(audio)
    assert "소비자" in transcript.text and "지역" in transcript.text
    for word in transcript.words:
        start, end = first if word.start < first[1] + 2.0 else second
        assert start - 0.5 <= word.start <= word.end <= end + 0.5, word
    assert next(w for w in transcript.words if "소비자" in w.text).end <= first[1]
    assert next(w for w in transcript.words if "지역" in w.text).start >= second[0]
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
