"""Resident memory of one transcription worker per engine: model loaded, and after transcribing calls.

    flock /tmp/hotline-bench.lock python bench/worker_memory.py [--engines whisper vosk] [--rounds 2]

For each engine: a fresh database with the seven Korean clips stored as telephone recordings of calls
(x rounds), one `python -m gateway.cli worker --queues hotline-transcription` process with that engine
(rq SimpleWorker, model loaded at start), RSS from /proc/PID/status once it listens, then after it
transcribed every call (VmRSS now, VmHWM the peak). How many such workers fit: (MemTotal - reserve) / peak.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from crm_store.db import make_engine  # noqa: E402
from workers.queueing import connect_redis  # noqa: E402
from workers.settings import Settings  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from transcription_queue import store_recordings, telephone_files, transcribe_all, worker_env  # noqa: E402

MIB = 1024 * 1024


def proc_memory(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon and RssFile of a process, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def mem_total() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


def recreate(database_url: str) -> None:
    name = database_url.rsplit("/", 1)[1]
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    from crm_store.migrate import upgrade

    upgrade(database_url)


def measure(engine_name: str, args: argparse.Namespace, files: list[tuple[str, bytes]]) -> dict[str, Any]:
    recreate(args.database_url)
    env = worker_env(args, engine_name)
    settings = Settings.from_env(env)
    redis = connect_redis(settings)
    redis.flushdb()
    db = make_engine(settings.sync_db_url)
    sids = store_recordings(db, files)
    command = [sys.executable, "-m", "gateway.cli", "worker", "--queues", "hotline-transcription"]
    worker = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        from rq import Worker

        deadline = time.monotonic() + 180
        while not Worker.all(connection=redis) and time.monotonic() < deadline:
            if worker.poll() is not None:
                raise SystemExit(f"worker died: {worker.stderr.read()[-3000:] if worker.stderr else ''}")
            time.sleep(0.2)
        time.sleep(2.0)
        loaded = proc_memory(worker.pid)
        transcribe_all(db, redis, settings, sids, [worker], poll=0.2)
        after = proc_memory(worker.pid)
    finally:
        worker.terminate()
        worker.wait(30)
        db.dispose()
    return {
        "engine": engine_name,
        "calls_transcribed": len(sids),
        "rss_loaded_mib": round(loaded["VmRSS"] / MIB, 1),
        "rss_after_mib": round(after["VmRSS"] / MIB, 1),
        "rss_peak_mib": round(after["VmHWM"] / MIB, 1),
        "rss_anon_after_mib": round(after["RssAnon"] / MIB, 1),
        "rss_file_after_mib": round(after["RssFile"] / MIB, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", nargs="+", default=["whisper", "vosk"], choices=["whisper", "vosk"])
    parser.add_argument("--rounds", type=int, default=2, help="each clip is stored this many times")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reserve-gib", type=float, default=4.0, help="kept for the OS, PostgreSQL, Redis, gateway")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/hotline_bench_asr_mem")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "worker_memory.json")
    args = parser.parse_args()

    files = telephone_files() * args.rounds
    total = mem_total()
    budget = total - int(args.reserve_gib * 1024 * MIB)
    rows = []
    for engine_name in args.engines:
        row = measure(engine_name, args, files)
        row["workers_that_fit"] = int(budget // (row["rss_peak_mib"] * MIB))
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, {total / 1024**3:.1f} GiB, Python {platform.python_version()}"
    )
    print(f"Machine: {machine}; workers that fit = (MemTotal - {args.reserve_gib:g} GiB) / peak RSS.\n")
    print("| engine | RSS, model loaded (MiB) | RSS after transcribing (MiB) | peak RSS (MiB) | workers that fit |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['engine']} | {row['rss_loaded_mib']} | {row['rss_after_mib']} | {row['rss_peak_mib']} "
            f"| {row['workers_that_fit']} |"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"machine": machine, "reserve_gib": args.reserve_gib, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
