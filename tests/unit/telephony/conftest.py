"""Fixture clips, their reference texts, and speech engines loaded once per test session."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from telephony.asr.vosk import VoskEngine
from telephony.asr.whisper import WhisperEngine

AUDIO_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "audio"


@pytest.fixture(scope="session")
def audio_fixtures() -> Path:
    """Folder of the fixture clips."""
    return AUDIO_FIXTURES


@pytest.fixture(scope="session")
def reference_texts() -> dict[str, str]:
    """Reference transcript per fixture file name."""
    with (AUDIO_FIXTURES / "transcripts.tsv").open(encoding="utf-8", newline="") as handle:
        return {row["file"]: row["text"] for row in csv.DictReader(handle, delimiter="\t")}


@pytest.fixture(scope="session")
def whisper_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WhisperEngine]:
    """The Whisper engine, its model joined into a throwaway cache and loaded once."""
    yield WhisperEngine(cache_dir=tmp_path_factory.mktemp("whisper-cache"), cpu_threads=2)


@pytest.fixture(scope="session")
def vosk_engine() -> VoskEngine:
    """The Vosk engine with the packaged Korean model, loaded once."""
    return VoskEngine()
