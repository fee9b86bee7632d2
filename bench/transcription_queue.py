"""Transcription through the queue against the same engine called directly, same files, same run.

    flock /tmp/hotline-bench.lock python bench/transcription_queue.py [--engine whisper|vosk] [--rounds 3] \
        [--workers N] [--threads T] [--database-url postgresql://...] [--redis-url redis://...]

Direct: one process loads the engine and transcribes every file (decode included).
Queue: the same files stored as recordings of calls, `transcribe` jobs enqueued through the outbox, and
N `hotline worker --queues hotline-transcription` processes (rq SimpleWorker, model loaded once each,
T engine threads each) doing them; timed from the first enqueue to the last transcript written to PostgreSQL.
Figure: audio seconds per wall second, and queue / direct.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, func, select  # noqa: E402

from crm_store.calls.outbox import promise_job  # noqa: E402
from crm_store.calls.tables import Call, Recording  # noqa: E402
from crm_store.db import make_engine, session_scope  # noqa: E402
from telephony.asr import load_engine  # noqa: E402
from telephony.audio import decode_audio, mulaw_decode, to_telephone_band, wav_bytes  # noqa: E402
from workers.queueing import TRANSCRIBE, connect_redis, relay_outbox  # noqa: E402
from workers.settings import Settings  # noqa: E402

SPEECH = ROOT.parent / "shared" / "data" / "ko_speech"


def telephone_files() -> list[tuple[str, bytes]]:
    """Every Korean clip as Twilio would serve it: 8 kHz telephone-band 16-bit WAV."""
    files = []
    for path in sorted(SPEECH.glob("*.flac")) or sorted((ROOT / "tests/fixtures/audio").glob("*.wav")):
        mono = decode_audio(path.read_bytes()).mono()
        files.append((path.name, wav_bytes(mulaw_decode(to_telephone_band(mono)), 8000)))
    return files


def worker_env(args: argparse.Namespace, engine: str) -> dict[str, str]:
    """The environment of a transcription worker of the bench."""
    return {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "HOTLINE_ASR_ENGINE": engine,
        "HOTLINE_ASR_THREADS": str(args.threads),
        "PYTHONUNBUFFERED": "1",
    }


def store_recordings(db: Any, files: list[tuple[str, bytes]]) -> list[str]:
    """One call per file, its recording fetched and waiting for transcription; their CallSids."""
    sids = []
    with session_scope(db) as session:
        for _, data in files:
            sid = "CA" + uuid.uuid4().hex
            sids.append(sid)
            session.add(Call(call_sid=sid, pipeline_state="recording_fetched", recording_sid="RE" + sid[2:]))
            session.add(
                Recording(
                    call_sid=sid, recording_sid="RE" + sid[2:], content_type="audio/x-wav", audio=data, size=len(data)
                )
            )
    return sids


def transcribe_all(
    db: Any, redis: Any, settings: Settings, sids: list[str], workers: list[subprocess.Popen[str]], *, poll: float
) -> None:
    """Enqueue the transcription of every call and wait until each has its transcript (or a worker dies)."""
    with session_scope(db) as session:
        for sid in sids:
            promise_job(session, TRANSCRIBE.promise(sid))
    relay_outbox(db, redis, settings, limit=len(sids) + 10)
    while True:
        with Session(db) as session:
            done = session.exec(
                select(func.count()).select_from(Call).where(Call.transcript.is_not(None))  # type: ignore[union-attr]
            ).one()
        if done >= len(sids):
            return
        for worker in workers:
            if worker.poll() is not None:
                raise SystemExit(f"worker died: {worker.stderr.read()[-3000:] if worker.stderr else ''}")
        time.sleep(poll)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/hotline_bench_asr")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--rounds", type=int, default=3, help="each file is transcribed this many times")
    parser.add_argument("--engine", default="whisper")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of the engine, both sides")
    parser.add_argument("--workers", type=int, default=1, help="transcription worker processes")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "transcription_queue.json")
    args = parser.parse_args()

    files = telephone_files() * args.rounds
    audio_seconds = sum(decode_audio(data).duration for _, data in files)

    # Direct: the engine called in this process.
    engine = load_engine(args.engine, cpu_threads=args.threads)
    engine.transcribe(decode_audio(files[0][1]).mono())  # warm-up, as the worker's first job is not timed either
    started = time.perf_counter()
    for _, data in files:
        engine.transcribe(decode_audio(data).mono())
    direct_wall = time.perf_counter() - started
    del engine

    # Queue: PostgreSQL + Redis + one SimpleWorker process.
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-qc",
            f"DROP DATABASE IF EXISTS {args.database_url.rsplit('/', 1)[1]}",
        ],
        check=True,
    )
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {args.database_url.rsplit('/', 1)[1]}"],
        check=True,
    )
    from crm_store.migrate import upgrade

    upgrade(args.database_url)
    env = worker_env(args, args.engine)
    settings = Settings.from_env(env)
    redis = connect_redis(settings)
    redis.flushdb()
    db = make_engine(settings.sync_db_url)
    sids = store_recordings(db, files)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "worker", "--queues", "hotline-transcription"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(args.workers)
    ]
    try:
        # Wait until every worker has loaded its model and listens.
        from rq import Worker

        deadline = time.monotonic() + 180
        while len(Worker.all(connection=redis)) < args.workers and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
        started = time.perf_counter()
        transcribe_all(db, redis, settings, sids, workers, poll=0.05)
        queue_wall = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
        db.dispose()
    result = {
        "engine": args.engine,
        "workers": args.workers,
        "threads_per_worker": args.threads,
        "files": len(files),
        "audio_seconds": round(audio_seconds, 2),
        "direct_audio_s_per_wall_s": round(audio_seconds / direct_wall, 2),
        "queue_audio_s_per_wall_s": round(audio_seconds / queue_wall, 2),
        "queue_vs_direct": round(direct_wall / queue_wall, 3),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
