"""`hotline transcribe` as other tools call it: text lines, or one JSON object per file, progress on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def hotline(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOTLINE_ASR_THREADS": "2"}
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_json_lines_one_per_file_in_order_with_errors_in_line(audio_fixtures: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "page.wav"
    bogus.write_text("<html>Service Unavailable</html>")
    files = [audio_fixtures / "zeroth_0352.ulaw8k.wav", bogus, audio_fixtures / "zeroth_0294.16k.flac"]
    done = hotline("transcribe", "--json", "--engine", "whisper", *map(str, files))
    assert done.returncode == 1  # one file failed
    entries = [json.loads(line) for line in done.stdout.splitlines()]
    assert [entry["file"] for entry in entries] == [str(path) for path in files]
    assert "발견" in entries[0]["text"] and ("커피" in entries[2]["text"] or "소비자" in entries[2]["text"])
    assert entries[1]["text"] == "" and "HTML" in entries[1]["error"]
    assert "3/3" in done.stderr  # the progress bar, on stderr only


def test_plain_output_is_file_tab_text(audio_fixtures: Path) -> None:
    path = audio_fixtures / "zeroth_0352.ulaw8k.wav"
    done = hotline("transcribe", "--no-vad", str(path))
    assert done.returncode == 0, done.stderr
    name, text = done.stdout.rstrip("\n").split("\t")
    assert name == str(path) and "발견" in text
