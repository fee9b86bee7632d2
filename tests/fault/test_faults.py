"""Faults on real parts: Redis stopped during a call, a transcription worker killed mid-job.

Each test starts its own throwaway redis-server on a free port, never touching the machine's shared one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from redis import Redis
from rq import Worker
from rq.registry import StartedJobRegistry
from sqlmodel import Session, select

from crm_store.calls.tables import Call, OutboxJob
from crm_store.db import make_engine
from telephony.audio import decode_audio, wav_bytes
from tests.processes import (
    HOTLINE,
    ROOT,
    Process,
    RedisServer,
    free_port,
    processes,
    service_env,
    wait_http,
)
from tests.store_helpers import add_admin, add_customer

AUDIO_DIR = ROOT / "tests" / "fixtures" / "audio"


def start_simulation(env: dict[str, str], audio: Path, log_dir: Path, timeout: float) -> Process:
    return Process(
        "simulate-call",
        [*HOTLINE, "simulate-call", "--audio", str(audio), "--from", "+821012345678", "--timeout", str(timeout)],
        env,
        log_dir,
    )


def calls(database_url: str) -> list[Call]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(Call)).all())
    finally:
        engine.dispose()


def pending_outbox(database_url: str) -> list[OutboxJob]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(OutboxJob).where(OutboxJob.enqueued_at.is_(None))).all())  # type: ignore[union-attr]
    finally:
        engine.dispose()


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise TimeoutError(f"waited {timeout} s for {what}")


def record_of(proc: Process) -> dict:
    assert proc.popen.wait(400) == 0, proc.output()[-4000:]
    out = proc.output()
    return json.loads(out[out.index("\n{") + 1 :] if not out.startswith("{") else out)


@pytest.mark.fault
@pytest.mark.integration
def test_redis_stopped_during_an_incoming_call_and_restarted(
    postgres_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    customer_id = add_customer(postgres_url)
    add_admin(postgres_url)
    port = free_port()
    env = service_env(postgres_url, redis_server.url, port, tmp_path, HOTLINE_WORKER_MAINTENANCE_INTERVAL="10")
    with processes(tmp_path) as started:
        web = Process("serve", [*HOTLINE, "serve"], env, tmp_path)
        started.append(web)
        transcriber = Process("transcriber", [*HOTLINE, "worker", "--queues", "hotline-transcription"], env, tmp_path)
        worker = Process("worker", [*HOTLINE, "worker", "--queues", "hotline"], env, tmp_path)
        started += [transcriber, worker]
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=web)
        with Redis.from_url(redis_server.url) as redis:  # both workers listening (models loaded) before the outage
            wait_until(lambda: len(Worker.all(connection=redis)) == 2, 180, "both workers to listen")
        redis_server.stop()  # Redis goes down under running workers, before the call comes in
        sim = start_simulation(env, AUDIO_DIR / "zeroth_0294.ulaw8k.wav", tmp_path, timeout=300)
        started.append(sim)
        wait_until(lambda: bool(pending_outbox(postgres_url)), 60, "the recording's work to wait in the outbox")
        assert "<Record" in sim.output(), "the caller must still get TwiML"
        [call] = calls(postgres_url)
        assert call.pipeline_state == "recording_ready" and call.customer_id == customer_id
        # Down longer than the workers' maintenance interval (10 s): their maintenance, heartbeat and scheduler
        # all fail against the dead server in the meantime, and they must still be serving when it is back.
        time.sleep(12)
        assert worker.popen.poll() is None and transcriber.popen.poll() is None, "a worker exited during the outage"
        redis_server.start()  # back on the same port; nobody re-sends anything, nobody restarts the workers
        record = record_of(sim)
        assert record["processing"]["state"] == "classified", record["processing"]
        assert "소비자" in record["transcript"]
        assert record["_simulation"]["recording_fetches"] == 1
        assert not pending_outbox(postgres_url)
        assert transcriber.alive() and worker.alive(), "the workers ride out the outage"


def long_call_audio(path: Path, seconds: float) -> Path:
    """A telephone-band recording long enough to kill a worker in the middle of transcribing it."""
    clips = [
        decode_audio((AUDIO_DIR / name).read_bytes()).mono()
        for name in ("zeroth_0294.ulaw8k.wav", "zeroth_0352.ulaw8k.wav")
    ]
    pause = np.zeros(8000, dtype=np.float32)
    pieces: list[np.ndarray] = []
    while sum(len(p) for p in pieces) < seconds * 16000:
        for clip in clips:
            pieces += [clip, pause]
    path.write_bytes(wav_bytes(np.concatenate(pieces), 16000))
    return path


@pytest.mark.fault
@pytest.mark.integration
def test_worker_killed_during_transcription_and_the_job_completes_once_later(
    postgres_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    add_customer(postgres_url)
    add_admin(postgres_url)
    port = free_port()
    # The job's timeout no longer decides how soon a killed transcriber's job is taken over (job heartbeats do, every
    # 5 s here): a generous one, so that the retried transcription is not cut on a busy machine.
    timeout = 300
    env = service_env(
        postgres_url,
        redis_server.url,
        port,
        tmp_path,
        HOTLINE_TRANSCRIBE_TIMEOUT=str(timeout),
        HOTLINE_WORKER_MAINTENANCE_INTERVAL="5",
    )
    audio = long_call_audio(tmp_path / "long-call.wav", 90)
    redis = Redis.from_url(redis_server.url)
    with processes(tmp_path) as started:
        web = Process("serve", [*HOTLINE, "serve"], env, tmp_path)
        started.append(web)
        started.append(Process("worker", [*HOTLINE, "worker", "--queues", "hotline"], env, tmp_path))
        first = Process("transcriber-1", [*HOTLINE, "worker", "--queues", "hotline-transcription"], env, tmp_path)
        started.append(first)
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=web)
        sim = start_simulation(env, audio, tmp_path, timeout=360)
        started.append(sim)
        registry = StartedJobRegistry("hotline-transcription", connection=redis)
        wait_until(lambda: registry.count > 0, 120, "transcription to start")
        time.sleep(1.0)
        first.kill()  # SIGKILL: no cleanup, the job stays "started"
        first.popen.wait(10)
        [call] = calls(postgres_url)
        assert call.transcript is None, "a killed job must leave no half record"
        started.append(
            Process("transcriber-2", [*HOTLINE, "worker", "--queues", "hotline-transcription"], env, tmp_path)
        )
        record = record_of(sim)
        assert record["processing"]["state"] == "classified", record["processing"]
        assert "소비자" in record["transcript"]
        from rq.job import Job

        job_id = f"transcribe-{record['call_sid']}"
        # rq marks the job finished just after it returns, which may be after the call's record moved on.
        wait_until(lambda: Job.fetch(job_id, connection=redis).get_status() == "finished", 30, "the job finished")
        job = Job.fetch(job_id, connection=redis)
        assert job.retries_left is not None and job.retries_left < 3  # it was retried, not enqueued twice
        assert len(list(job.results())) == 1  # and it succeeded exactly once
