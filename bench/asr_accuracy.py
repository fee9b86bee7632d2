"""Character error rate and speed of each speech engine, through our interface and called directly.

    flock /tmp/hotline-bench.lock python bench/asr_accuracy.py [--engines whisper vosk] [--threads 2]

Files: the seven Zeroth-Korean clips of ../shared/data/ko_speech (CC BY 4.0), in four conditions:
- `clean`: as recorded (16 kHz FLAC);
- `phone`: telephone audio, 8 kHz G.711 mu-law WAV band-limited to 300-3400 Hz
  (telephony.audio.to_telephone_band);
- `clean+pauses` and `phone+pauses`: one call of about 130 s holding the seven clips in turn, each
  after a pause of 6 to 10 s of line noise (-50 dBFS) with hold music (a melody at -26 dBFS) in it; the
  reference is the seven texts in order.

Sides, all in this process, on the same files, each warmed up once before timing:
- `direct`: the engine's own library called directly on the file: faster_whisper.WhisperModel.transcribe(path)
  (it decodes the file itself) with the options our engine uses, no VAD; vosk.KaldiRecognizer at the
  file's own rate, fed 0.5 s chunks.
- `interface`: telephony.audio.decode_audio + SpeechEngine.transcribe, as the transcription job does it,
  with VAD (the default) and without.

CER: edit distance over characters per reference character, summed over files (micro average), after the
same normalisation of both sides: digits written out as Sino-Korean number words (Whisper writes
"2018년" where the corpus spells "이천 십 팔 년"), then spaces and punctuation removed.
Speed: audio seconds per wall second (decode included on both sides).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telephony.asr import load_engine  # noqa: E402
from telephony.asr.vosk import default_model_path  # noqa: E402
from telephony.asr.whisper import ensure_whisper_model  # noqa: E402
from telephony.audio import TARGET_RATE, decode_audio, mulaw_decode, to_telephone_band, wav_bytes  # noqa: E402

SPEECH = ROOT.parent / "shared" / "data" / "ko_speech"
CONDITIONS = ("clean", "phone", "clean+pauses", "phone+pauses")
_DIGITS = "영일이삼사오육칠팔구"


# -- normalisation and CER -----------------------------------------------------------------------


def sino_korean(number: int) -> str:
    """Write a non-negative integer as Sino-Korean number words, the way the corpus spells numbers."""
    if number == 0:
        return "영"
    words = []
    for value, unit in ((10**12, "조"), (10**8, "억"), (10**4, "만")):
        if number >= value:
            head = number // value
            words.append(("" if head == 1 and unit == "만" else _small(head)) + unit)
            number %= value
    return "".join(words) + _small(number)


def _small(number: int) -> str:
    words = []
    for value, unit in ((1000, "천"), (100, "백"), (10, "십")):
        if number >= value:
            head = number // value
            words.append(("" if head == 1 else _DIGITS[head]) + unit)
            number %= value
    if number:
        words.append(_DIGITS[number])
    return "".join(words)


def normalise(text: str) -> str:
    """Digits as Korean number words, then only letters (no spaces, no punctuation)."""
    text = re.sub(r"(?<=\d)[,.](?=\d{3}(?!\d))", "", text)
    text = re.sub(r"\d+", lambda match: sino_korean(int(match.group())), text)
    return re.sub(r"[\W_]", "", text)


def edit_distance(reference: str, hypothesis: str) -> int:
    """Levenshtein distance over characters."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_char in enumerate(reference, 1):
        current = [i]
        for j, hyp_char in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_char != hyp_char)))
        previous = current
    return previous[-1]


# -- test audio ----------------------------------------------------------------------------------


def hold_music(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A looping melody with harmonics and a note envelope, like a hold-music loop, at about -26 dBFS."""
    t = np.arange(int(seconds * TARGET_RATE)) / TARGET_RATE
    notes = np.array([261.6, 329.6, 392.0, 523.3, 440.0, 392.0, 329.6, 293.7])
    start = int(rng.integers(len(notes)))
    pitch = notes[(start + (t / 0.45).astype(int)) % len(notes)]
    phase = 2 * np.pi * np.cumsum(pitch) / TARGET_RATE
    tone = 0.55 * np.sin(phase) + 0.25 * np.sin(2 * phase) + 0.12 * np.sin(3 * phase)
    envelope = 0.55 + 0.45 * np.cos(2 * np.pi * (t % 0.45) / 0.45)
    return (0.05 * tone * envelope).astype(np.float32)


def line_noise(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """White noise at about -50 dBFS, the floor of a quiet line."""
    return (0.003 * rng.standard_normal(int(seconds * TARGET_RATE))).astype(np.float32)


def pause(index: int, rng: np.random.Generator) -> np.ndarray:
    """6 to 10 s between two utterances: line noise, hold music over the noise, line noise."""
    music = 3.0 + index % 3
    return np.concatenate(
        [line_noise(2.0 + index % 2, rng), hold_music(music, rng) + line_noise(music, rng), line_noise(1.0, rng)]
    )


def call_with_pauses(clips: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """The clips in turn, as one call, each after a pause with hold music, and a pause at the end."""
    parts = [piece for index, clip in enumerate(clips) for piece in (pause(index, rng), clip)]
    return np.concatenate([*parts, line_noise(4.0, rng)])


@dataclass(frozen=True)
class Clip:
    name: str
    path: Path
    reference: str
    duration: float


def build_files(folder: Path) -> dict[str, list[Clip]]:
    """Write every condition's files into folder; the reference text per file."""
    with (SPEECH / "transcripts.tsv").open(encoding="utf-8", newline="") as handle:
        references = {row["file"]: row["text"] for row in csv.DictReader(handle, delimiter="\t")}
    rng = np.random.default_rng(20240611)
    files: dict[str, list[Clip]] = {condition: [] for condition in CONDITIONS}
    sources = sorted(SPEECH.glob("*.flac"))
    clean_clips = [decode_audio(source.read_bytes()).mono() for source in sources]
    call = call_with_pauses(clean_clips, rng)
    call_reference = " ".join(references[source.name] for source in sources)
    items = [
        (source.stem, source.name, references[source.name], clip)
        for source, clip in zip(sources, clean_clips, strict=True)
    ]
    for stem, name, reference, samples in [*items, ("call", "call-of-7-clips", call_reference, call)]:
        clean_condition, phone_condition = ("clean", "phone") if stem != "call" else ("clean+pauses", "phone+pauses")
        path = folder / f"{stem}.{clean_condition}.flac"
        sf.write(path, samples, TARGET_RATE, format="FLAC", subtype="PCM_16")
        files[clean_condition].append(Clip(name, path, reference, samples.size / TARGET_RATE))
        phone = mulaw_decode(to_telephone_band(samples))
        path = folder / f"{stem}.{phone_condition}.wav"
        path.write_bytes(wav_bytes(phone, 8000, "ULAW"))
        files[phone_condition].append(Clip(name, path, reference, phone.size / 8000))
    return files


# -- the sides -----------------------------------------------------------------------------------


def whisper_direct(threads: int) -> Callable[[Path], str]:
    """faster-whisper's WhisperModel on the file, with the options our engine passes, no VAD."""
    from faster_whisper import WhisperModel

    model = WhisperModel(str(ensure_whisper_model()), device="cpu", compute_type="int8", cpu_threads=threads)

    def transcribe(path: Path) -> str:
        segments, _info = model.transcribe(
            str(path), language="ko", beam_size=5, word_timestamps=True, condition_on_previous_text=False
        )
        return " ".join(segment.text.strip() for segment in segments)

    return transcribe


def vosk_direct() -> Callable[[Path], str]:
    """Vosk's KaldiRecognizer on the file's 16-bit samples at the file's own rate."""
    import vosk

    vosk.SetLogLevel(-1)
    model = vosk.Model(str(default_model_path()))

    def transcribe(path: Path) -> str:
        pcm, rate = sf.read(path, dtype="int16")
        recognizer = vosk.KaldiRecognizer(model, float(rate))
        recognizer.SetWords(True)
        texts = []
        step = rate // 2
        for start in range(0, len(pcm), step):
            if recognizer.AcceptWaveform(pcm[start : start + step].tobytes()):
                texts.append(json.loads(recognizer.Result()).get("text", ""))
        texts.append(json.loads(recognizer.FinalResult()).get("text", ""))
        return " ".join(t for t in texts if t)

    return transcribe


def interface(engine_name: str, threads: int, *, vad: bool) -> Callable[[Path], str]:
    """Our path: decode_audio, then SpeechEngine.transcribe."""
    engine = load_engine(engine_name, cpu_threads=threads, vad=vad)

    def transcribe(path: Path) -> str:
        audio = decode_audio(path.read_bytes())
        return engine.transcribe(audio.mono(), audio.sample_rate).text

    return transcribe


def measure(transcribe: Callable[[Path], str], clips: list[Clip], warm_up: Path) -> dict[str, Any]:
    """Run one side over one condition's files: CER, speed, per-file detail."""
    transcribe(warm_up)
    edits = characters = 0
    wall = 0.0
    per_file = []
    for clip in clips:
        started = time.perf_counter()
        text = transcribe(clip.path)
        seconds = time.perf_counter() - started
        wall += seconds
        reference, hypothesis = normalise(clip.reference), normalise(text)
        distance = edit_distance(reference, hypothesis)
        edits += distance
        characters += len(reference)
        per_file.append(
            {"file": clip.name, "cer": round(distance / len(reference), 4), "seconds": round(seconds, 3), "text": text}
        )
    audio = sum(clip.duration for clip in clips)
    return {
        "cer": round(edits / characters, 4),
        "audio_seconds": round(audio, 2),
        "wall_seconds": round(wall, 3),
        "audio_s_per_wall_s": round(audio / wall, 2),
        "files": per_file,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", nargs="+", default=["whisper", "vosk"], choices=["whisper", "vosk"])
    parser.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=CONDITIONS)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of Whisper, both sides")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "asr_accuracy.json")
    args = parser.parse_args()

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="hotline-asr-bench-") as folder:
        files = build_files(Path(folder))
        for engine_name in args.engines:
            sides = {
                "direct": whisper_direct(args.threads) if engine_name == "whisper" else vosk_direct(),
                "interface, VAD": interface(engine_name, args.threads, vad=True),
                "interface, no VAD": interface(engine_name, args.threads, vad=False),
            }
            for condition in args.conditions:
                for side, transcribe in sides.items():
                    warm_up = files["phone" if condition.startswith("phone") else "clean"][0].path
                    result = measure(transcribe, files[condition], warm_up)
                    rows.append({"engine": engine_name, "condition": condition, "side": side, **result})
                    print(
                        f"{engine_name:8} {condition:13} {side:18} CER {result['cer']:.3f}  "
                        f"{result['audio_s_per_wall_s']:6.2f} audio s/wall s",
                        file=sys.stderr,
                        flush=True,
                    )
            del sides
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(markdown(rows, machine))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps({"machine": machine, "threads": args.threads, "rows": rows}, ensure_ascii=False, indent=2)
    )


def markdown(rows: list[dict[str, Any]], machine: str) -> str:
    """The summary table: per engine and condition, each side's CER and speed, and VAD against direct."""
    lines = [
        f"Machine: {machine}. CER after normalising digits to Korean number words; speed in audio s per wall s.",
        "",
        "| engine | audio | direct CER | direct speed | interface+VAD CER | interface+VAD speed "
        "| interface no VAD CER | interface no VAD speed | VAD speed / direct | VAD CER - direct (points) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    index = {(row["engine"], row["condition"], row["side"]): row for row in rows}
    for engine, condition in dict.fromkeys((row["engine"], row["condition"]) for row in rows):
        direct, vad, plain = (
            index[(engine, condition, side)] for side in ("direct", "interface, VAD", "interface, no VAD")
        )
        lines.append(
            f"| {engine} | {condition} | {direct['cer']:.1%} | {direct['audio_s_per_wall_s']:.2f} "
            f"| {vad['cer']:.1%} | {vad['audio_s_per_wall_s']:.2f} | {plain['cer']:.1%} "
            f"| {plain['audio_s_per_wall_s']:.2f} "
            f"| {vad['audio_s_per_wall_s'] / direct['audio_s_per_wall_s']:.2f}x "
            f"| {100 * (vad['cer'] - direct['cer']):+.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
