"""Call classification on the default engine's transcripts of speech, next to the same utterances as text.

    flock /tmp/hotline-bench.lock python bench/classify_speech.py [--engine whisper] [--threads 2]

There is no labelled Korean call-centre speech, so the speech here is SYNTHETIC: each hand-written
held-out utterance of data/understanding/heldout.tsv (the split the model never saw) is read aloud by
espeak-ng's Korean voice (`apt-get install espeak-ng`; offline, formant synthesis, robotic), turned
into a Twilio-like telephone recording (16 kHz, then 8 kHz G.711 mu-law band-limited to 300-3400 Hz,
telephony.audio.to_telephone_band, as a mu-law WAV), decoded and transcribed exactly as the
transcription job does it (telephony.audio.decode_audio + SpeechEngine.transcribe, VAD on), and the
transcript classified with workers.understanding.understand. The same utterances' text is classified
too, so the two scores compare the same calls. The character error rate of the transcripts against
the written text (bench/asr_accuracy.py's normalisation) says how well the engine heard the synthetic
voice: a human caller on a real line is a different test, and this one does not replace it.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from asr_accuracy import edit_distance, normalise  # noqa: E402

from telephony.asr import load_engine  # noqa: E402
from telephony.audio import TARGET_RATE, decode_audio, mulaw_decode, resample, to_telephone_band, wav_bytes  # noqa: E402
from workers.understanding import understand  # noqa: E402
from workers.understanding.train import confusion, macro_f1  # noqa: E402

HELDOUT = ROOT / "data" / "understanding" / "heldout.tsv"


def read_heldout(path: Path = HELDOUT) -> list[dict[str, str]]:
    """The hand-written held-out utterances with their type and topic."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"))


def synthesize(text: str, words_per_minute: int) -> np.ndarray:
    """espeak-ng's Korean voice reading text, as float32 mono at 16 kHz."""
    result = subprocess.run(
        ["espeak-ng", "-v", "ko", "-s", str(words_per_minute), "--stdout", text],
        check=True,
        capture_output=True,
    )
    samples, rate = sf.read(io.BytesIO(result.stdout), dtype="float32")
    return resample(np.asarray(samples, dtype=np.float32).ravel(), int(rate), TARGET_RATE)


def telephone_recording(samples16k: np.ndarray) -> bytes:
    """The recording a phone line and Twilio would give: 8 kHz mu-law WAV, 300-3400 Hz."""
    return wav_bytes(mulaw_decode(to_telephone_band(samples16k)), 8000, "ULAW")


def scores(rows: list[dict[str, str]], guesses: list[tuple[str | None, str | None]]) -> dict[str, Any]:
    """Type and topic macro-F1 and accuracy (an unclassified call is a miss), the share left unclassified, and the
    type confusion matrix."""
    truth_types, truth_topics = [r["type"] for r in rows], [r["topic"] for r in rows]
    types, topics = [g[0] for g in guesses], [g[1] for g in guesses]
    return {
        "type_macro_f1": round(macro_f1(truth_types, types), 4),
        "type_accuracy": round(sum(t == g for t, g in zip(truth_types, types, strict=True)) / len(rows), 4),
        "topic_macro_f1": round(macro_f1(truth_topics, topics), 4),
        "topic_accuracy": round(sum(t == g for t, g in zip(truth_topics, topics, strict=True)) / len(rows), 4),
        "unclassified": round(sum(t is None for t in types) / len(rows), 4),
        "confusion": confusion(truth_types, types, sorted(set(truth_types) | {t for t in types if t})),
    }


def classify(text: str) -> tuple[str | None, str | None]:
    """(type, topic) of one transcript; (None, None) when it is left unclassified."""
    result = understand(text)
    return result.type, result.topic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", default="whisper", choices=["whisper", "vosk"])
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of Whisper")
    parser.add_argument("--wpm", type=int, default=150, help="espeak-ng speaking rate, words per minute")
    parser.add_argument("--limit", type=int, default=0, help="only the first N utterances (0: all)")
    parser.add_argument(
        "--every", type=int, default=1, help="only every N-th utterance (the synthetic voice makes Whisper slow)"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "classify_speech.json")
    args = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is not installed: apt-get install espeak-ng")

    rows = read_heldout()[:: args.every]
    if args.limit:
        rows = rows[: args.limit]
    engine = load_engine(args.engine, cpu_threads=args.threads)
    details: list[dict[str, Any]] = []
    edits = characters = 0
    audio_seconds = wall = 0.0
    for index, row in enumerate(rows, 1):
        recording = telephone_recording(synthesize(row["text"], args.wpm))
        started = time.perf_counter()
        audio = decode_audio(recording)
        transcript = engine.transcribe(audio.mono(), audio.sample_rate).text
        wall += time.perf_counter() - started
        audio_seconds += audio.duration
        reference, hypothesis = normalise(row["text"]), normalise(transcript)
        distance = edit_distance(reference, hypothesis)
        edits += distance
        characters += len(reference)
        details.append(
            {
                "id": row["id"],
                "type": row["type"],
                "topic": row["topic"],
                "text": row["text"],
                "transcript": transcript,
                "cer": round(distance / max(1, len(reference)), 4),
                "from_text": classify(row["text"]),
                "from_speech": classify(transcript),
            }
        )
        print(f"{index:4}/{len(rows)} CER {distance / max(1, len(reference)):.2f} {transcript[:60]}", file=sys.stderr)

    text_scores = scores(rows, [d["from_text"] for d in details])
    speech_scores = scores(rows, [d["from_speech"] for d in details])
    cer = edits / characters
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(report(len(rows), args, cer, audio_seconds, wall, text_scores, speech_scores, machine))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "machine": machine,
                "engine": engine.model_name,
                "synthetic_speech": f"espeak-ng -v ko -s {args.wpm}",
                "cer": round(cer, 4),
                "text": text_scores,
                "speech": speech_scores,
                "utterances": details,
            },
            ensure_ascii=False,
            indent=2,
        )
    )


def report(
    count: int,
    args: argparse.Namespace,
    cer: float,
    audio_seconds: float,
    wall: float,
    text_scores: dict[str, Any],
    speech_scores: dict[str, Any],
    machine: str,
) -> str:
    """The printed summary, saying plainly that the speech is synthetic."""
    verdict = (
        "UNINTELLIGIBLE to the engine (CER above 50%): the speech scores below measure the synthetic voice more "
        "than the classifier"
        if cer > 0.5
        else "intelligible to the engine"
    )
    lines = [
        f"Machine: {machine}.",
        f"SYNTHETIC SPEECH: {count} hand-written held-out utterances (every {args.every}) read by espeak-ng's "
        f"Korean voice (-s {args.wpm}), as 8 kHz mu-law telephone recordings, transcribed by {args.engine} (VAD on). "
        "Not real callers.",
        f"Transcript CER against the written text: {cer:.1%} ({verdict}); "
        f"{audio_seconds:.0f} s of audio at {audio_seconds / wall:.2f} audio s per wall s.",
        "",
        "| input | type macro-F1 | type accuracy | topic macro-F1 | topic accuracy |",
        "| --- | --- | --- | --- | --- |",
    ]
    sides = (("written text", text_scores), (f"{args.engine} transcript of espeak-ng speech", speech_scores))
    for name, result in sides:
        lines.append(
            f"| {name} | {result['type_macro_f1']:.3f} | {result['type_accuracy']:.3f} "
            f"| {result['topic_macro_f1']:.3f} | {result['topic_accuracy']:.3f} |"
        )
    lines += ["", "Type confusion, written text:", text_scores["confusion"], ""]
    lines += ["Type confusion, transcripts of synthetic speech:", speech_scores["confusion"]]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
