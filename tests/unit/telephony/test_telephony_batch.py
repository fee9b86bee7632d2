"""Batch transcription: one entry per file, failures reported in line, progress on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from telephony.asr.base import Transcript
from telephony.asr.whisper import WhisperEngine
from telephony.audio import wav_bytes
from telephony.batch import transcribe_files
from telephony.errors import SpeechEngineError


class EchoEngine:
    """A stand-in engine that reports how many samples it got."""

    name = "echo"
    model_name = "echo-1"

    def transcribe(self, samples: np.ndarray, sample_rate: int = 16000) -> Transcript:
        if samples.size == 1600:
            raise SpeechEngineError("engine choked")
        return Transcript(f"{samples.size} samples", (), self.model_name, sample_rate, samples.size / sample_rate)


@pytest.fixture
def recordings(tmp_path: Path) -> list[Path]:
    """A good recording, an HTML error page, a missing file, a clip the engine fails on, another good one."""
    good = tmp_path / "good.wav"
    good.write_bytes(wav_bytes(np.zeros(8000, dtype=np.float32), 8000))
    html = tmp_path / "error.wav"
    html.write_bytes(b"<html><body>Service Unavailable</body></html>")
    choke = tmp_path / "choke.wav"
    choke.write_bytes(wav_bytes(np.zeros(1600, dtype=np.float32), 16000))
    other = tmp_path / "other.wav"
    other.write_bytes(wav_bytes(np.zeros((8820, 2), dtype=np.float32), 44100))
    return [good, html, tmp_path / "missing.wav", choke, other]


def test_each_file_gets_an_entry_and_failures_do_not_stop_the_batch(
    recordings: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    entries = list(transcribe_files(recordings, EchoEngine(), progress=False))
    assert [entry["file"] for entry in entries] == [str(path) for path in recordings]
    good, html, missing, choke, other = entries
    assert good["text"] == "16000 samples" and good["duration"] == 1.0 and good["model"] == "echo-1"
    assert "error" not in good and good["seconds"] >= 0
    assert other["text"] == "3200 samples" and other["duration"] == 0.2
    assert "AudioDecodeError" in html["error"] and "HTML" in html["error"]
    assert "FileNotFoundError" in missing["error"]
    assert "engine choked" in choke["error"] and choke["duration"] == 0.1
    for entry in (html, missing, choke):
        assert entry["text"] == "" and set(entry) == {"file", "text", "model", "duration", "seconds", "error"}
    assert all(json.dumps(entry) for entry in entries)
    assert capsys.readouterr().err == ""


def test_progress_bar_goes_to_stderr_only_for_several_files(
    recordings: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    list(transcribe_files(recordings, EchoEngine(), progress=True))
    captured = capsys.readouterr()
    assert "5/5" in captured.err and captured.out == ""
    list(transcribe_files(recordings[:1], EchoEngine(), progress=True))
    assert capsys.readouterr().err == ""


def test_batch_with_the_real_engine(
    whisper_engine: WhisperEngine, audio_fixtures: Path, reference_texts: dict[str, str]
) -> None:
    (entry,) = transcribe_files([audio_fixtures / "zeroth_0352.ulaw8k.wav"], whisper_engine, progress=True)
    assert "error" not in entry
    assert "발견" in entry["text"] and entry["duration"] == pytest.approx(8.03, abs=0.01)
    assert entry["model"] == whisper_engine.model_name
