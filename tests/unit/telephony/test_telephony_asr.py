"""Both speech engines run for real on the fixture clips (models loaded once per session)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from bench.asr_accuracy import edit_distance
from telephony.asr import SpeechEngine, Transcript, Word, load_engine
from telephony.asr.vosk import VoskEngine
from telephony.asr.whisper import WhisperEngine
from telephony.audio import decode_audio, mulaw_decode, to_telephone_band
from telephony.errors import SpeechEngineError

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over characters (the benchmark's), spaces and punctuation removed, per reference
    character."""
    # Whisper writes numbers as digits where the corpus spells them in Hangul: digits are not counted.
    ref = re.sub(r"[\W_]", "", reference)
    hyp = re.sub(r"[\W_\d]", "", hypothesis)
    return edit_distance(ref, hyp) / max(len(ref), 1)


def test_character_error_rate() -> None:
    assert character_error_rate("한 잔 의 커피", "한잔의 커피.") == 0
    assert character_error_rate("가나다라", "가나다") == 0.25
    assert character_error_rate("이천 십 팔 년", "2018년") == 0.8


def check_transcript(transcript: Transcript, reference: str, duration: float) -> float:
    """Assert the transcript is plausible Korean for the clip and return its character error rate."""
    assert isinstance(transcript, Transcript)
    assert HANGUL.search(transcript.text)
    assert transcript.sample_rate == 16000 and transcript.language == "ko"
    assert transcript.duration == pytest.approx(duration, abs=0.01)
    assert transcript.words
    for word in transcript.words:
        assert isinstance(word, Word) and word.text
        assert 0 <= word.start <= word.end <= duration + 0.5
        assert word.confidence is None or 0.0 <= word.confidence <= 1.0
    as_json = json.loads(json.dumps(transcript.to_dict(), ensure_ascii=False))
    assert as_json["text"] == transcript.text and len(as_json["words"]) == len(transcript.words)
    error_rate = character_error_rate(reference, transcript.text)
    assert error_rate < 0.5, f"CER {error_rate:.2f}: {transcript.text!r} vs {reference!r}"
    return error_rate


@pytest.mark.parametrize("name", ["zeroth_0294.ulaw8k.wav", "zeroth_0352.ulaw8k.wav"])
def test_whisper_transcribes_telephone_audio(
    whisper_engine: WhisperEngine, audio_fixtures: Path, reference_texts: dict[str, str], name: str
) -> None:
    decoded = decode_audio((audio_fixtures / name).read_bytes())
    transcript = whisper_engine.transcribe(decoded.mono())
    check_transcript(transcript, reference_texts[name], decoded.duration)
    assert transcript.model == "faster-whisper-base-int8"


def test_whisper_on_live_style_8k_mulaw_frames(
    whisper_engine: WhisperEngine, audio_fixtures: Path, reference_texts: dict[str, str]
) -> None:
    name = "zeroth_0294.16k.flac"
    clean = decode_audio((audio_fixtures / name).read_bytes()).mono()
    # The path of a Media Streams call: our own telephone band, raw mu-law, 8 kHz into the engine.
    phone = mulaw_decode(to_telephone_band(clean))
    transcript = whisper_engine.transcribe(phone, sample_rate=8000)
    check_transcript(transcript, reference_texts[name], phone.size / 8000)


def test_whisper_handles_empty_and_rejects_stereo(whisper_engine: WhisperEngine) -> None:
    empty = whisper_engine.transcribe(np.zeros(0, dtype=np.float32))
    assert (empty.text, empty.words, empty.duration) == ("", (), 0.0)
    with pytest.raises(ValueError):
        whisper_engine.transcribe(np.zeros((1600, 2), dtype=np.float32))


def test_vosk_transcribes_wideband_audio(
    vosk_engine: VoskEngine, audio_fixtures: Path, reference_texts: dict[str, str]
) -> None:
    name = "zeroth_0294.16k.flac"
    decoded = decode_audio((audio_fixtures / name).read_bytes())
    transcript = vosk_engine.transcribe(decoded.mono())
    check_transcript(transcript, reference_texts[name], decoded.duration)
    assert transcript.model == "vosk-model-small-ko"
    assert all(word.confidence is not None for word in transcript.words)


def test_vosk_on_silence_is_empty(vosk_engine: VoskEngine) -> None:
    transcript = vosk_engine.transcribe(np.zeros(8000, dtype=np.float32), sample_rate=8000)
    assert transcript.text == "" and transcript.words == ()
    assert transcript.duration == pytest.approx(1.0)


def test_engines_satisfy_the_protocol(whisper_engine: WhisperEngine, vosk_engine: VoskEngine) -> None:
    for engine, name in ((whisper_engine, "whisper"), (vosk_engine, "vosk")):
        assert isinstance(engine, SpeechEngine)
        assert engine.name == name and engine.model_name


def test_load_engine_rejects_unknown_names_and_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(SpeechEngineError, match="unknown speech engine 'google'"):
        load_engine("google")
    with pytest.raises(SpeechEngineError, match="not found"):
        load_engine("vosk", vosk_model_path=str(tmp_path / "missing"))
    with pytest.raises(SpeechEngineError, match="cannot load the Vosk model"):
        load_engine("vosk", vosk_model_path=str(tmp_path))


def test_the_live_engine_decodes_a_short_window(audio_fixtures: Path, reference_texts: dict[str, str]) -> None:
    from workers.live_transcriber import load_live_engine

    engine = load_live_engine("whisper", {"cpu_threads": 2})
    assert isinstance(engine, WhisperEngine)
    assert engine.beam_size == 5 and not engine.vad and engine.context_margin == 5.0
    name = "zeroth_0294.16k.flac"
    phone = mulaw_decode(to_telephone_band(decode_audio((audio_fixtures / name).read_bytes()).mono()))
    seconds = phone.size / 8000
    # The encoder sees the clip and 5 s after it, not 30 s; the text is as good as the full window's, bar a little.
    assert engine._frames(phone.size * 2) == min(3000, int((seconds + 5.0) * 100))
    transcript = engine.transcribe(phone, sample_rate=8000)
    assert HANGUL.search(transcript.text) and not transcript.words
    assert character_error_rate(reference_texts[name], transcript.text) < 0.5
