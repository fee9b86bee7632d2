"""`hotline worker` processes stopped and killed for real: a stop request (SIGTERM, SIGINT) ends the process, at once
when idle, after the current job when busy; a transcriber killed mid-job has its job taken over within minutes,
not after the job's whole timeout. Each test starts its own throwaway redis-server."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from redis import Redis
from rq import Worker
from rq.job import Job

from crm_store.calls.tables import OutboxJob
from tests.processes import HOTLINE, Process, RedisServer, hotline_env, processes
from workers.queueing import QUEUE_DEFAULT, QUEUE_TRANSCRIPTION, enqueue
from workers.settings import Settings

NAP = "tests.fault.naps.nap"


def worker_env(redis_server: RedisServer, tmp_path: Path, *, nap_seconds: float = 5) -> dict[str, str]:
    naps = tmp_path / "naps"
    naps.mkdir(exist_ok=True)
    return hotline_env(
        REDIS_URL=redis_server.url,
        HOTLINE_DATA_DIR=str(tmp_path),
        HOTLINE_WORKER_MAINTENANCE_INTERVAL="5",
        HOTLINE_TEST_NAPS=str(naps),
        HOTLINE_TEST_NAP_SECONDS=str(nap_seconds),
    )


def start_worker(
    started: list[Process],
    name: str,
    queue: str,
    env: dict[str, str],
    tmp_path: Path,
    *,
    listen_on: Redis | None = None,
    who: str = "the worker",
) -> Process:
    """A worker of `queue`, appended to `started`; with `listen_on`, back once it listens there."""
    worker = Process(name, [*HOTLINE, "worker", "--queues", queue], env, tmp_path)
    started.append(worker)
    if listen_on is not None:
        wait_until(lambda: listening(listen_on), 180, f"{who} to listen", worker)
    return worker


def wait_until(predicate, timeout: float, what: str, proc: Process | None = None) -> float:  # type: ignore[no-untyped-def]
    """Seconds it took for `predicate` to hold."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        if proc is not None and not proc.alive():
            raise AssertionError(f"{proc.name} exited early:\n{proc.output()[-4000:]}")
        time.sleep(0.2)
    raise TimeoutError(f"waited {timeout} s for {what}")


def listening(redis: Redis, count: int = 1) -> bool:
    return len(Worker.all(connection=redis)) == count and all(
        w.get_state() == "idle" for w in Worker.all(connection=redis)
    )


def enqueue_nap(redis_server: RedisServer, queue: str, name: str) -> None:
    """The nap job enqueued the way the call jobs are (same timeout, retries and ids)."""
    settings = Settings.from_env({"REDIS_URL": redis_server.url})
    with Redis.from_url(redis_server.url) as redis:
        enqueue(redis, OutboxJob(job_id=name, queue=queue, func=NAP, call_sid=name), settings)


def runs(tmp_path: Path, name: str, what: str) -> list[str]:
    path = tmp_path / "naps" / f"{name}.{what}"
    return path.read_text().split() if path.exists() else []


@pytest.mark.fault
@pytest.mark.parametrize(
    ("queue", "stop"),
    [
        (QUEUE_DEFAULT, signal.SIGTERM),
        (QUEUE_DEFAULT, signal.SIGINT),
        (QUEUE_TRANSCRIPTION, signal.SIGTERM),
    ],
    ids=["forking-sigterm", "forking-sigint", "simple-sigterm"],
)
def test_an_idle_worker_stops_at_once_when_asked(
    redis_server: RedisServer, tmp_path: Path, queue: str, stop: signal.Signals
) -> None:
    env = worker_env(redis_server, tmp_path)
    with processes(tmp_path) as started, Redis.from_url(redis_server.url) as redis:
        worker = start_worker(started, "worker", queue, env, tmp_path, listen_on=redis)
        time.sleep(1)  # well inside its blocking dequeue
        os.kill(worker.popen.pid, stop)  # the process only, as a process manager signals it
        try:
            worker.popen.wait(10)
        except Exception:
            raise AssertionError(f"an idle worker did not stop within 10 s:\n{worker.output()[-3000:]}") from None
        assert worker.popen.returncode == 0, worker.output()[-3000:]
        assert Worker.all(connection=redis) == []  # it said goodbye
        assert "serving again" not in worker.output()


@pytest.mark.fault
@pytest.mark.parametrize("queue", [QUEUE_DEFAULT, QUEUE_TRANSCRIPTION], ids=["forking", "simple"])
def test_a_busy_worker_finishes_its_job_then_stops(redis_server: RedisServer, tmp_path: Path, queue: str) -> None:
    env = worker_env(redis_server, tmp_path, nap_seconds=8)
    with processes(tmp_path) as started, Redis.from_url(redis_server.url) as redis:
        worker = start_worker(started, "worker", queue, env, tmp_path, listen_on=redis)
        enqueue_nap(redis_server, queue, "nap-busy")
        wait_until(lambda: runs(tmp_path, "nap-busy", "started"), 30, "the job to start", worker)
        os.killpg(worker.popen.pid, signal.SIGTERM)  # the whole process group, as systemd does
        time.sleep(3)
        assert worker.alive(), f"stopped in the middle of its job:\n{worker.output()[-3000:]}"
        assert not runs(tmp_path, "nap-busy", "done")
        worker.popen.wait(30)
        assert worker.popen.returncode == 0, worker.output()[-3000:]
        assert len(runs(tmp_path, "nap-busy", "done")) == 1
        assert Job.fetch("nap-busy", connection=redis).get_status() == "finished"


@pytest.mark.fault
def test_a_killed_transcribers_job_is_taken_over_within_minutes(redis_server: RedisServer, tmp_path: Path) -> None:
    # The job's timeout is the transcription default (900 s): without heartbeats its started entry outlives a killed
    # worker by 960 s. With them (every 5 s here), it expires about a minute after the last one.
    env = worker_env(redis_server, tmp_path, nap_seconds=10)
    with processes(tmp_path) as started, Redis.from_url(redis_server.url) as redis:
        first = start_worker(
            started, "transcriber-1", QUEUE_TRANSCRIPTION, env, tmp_path, listen_on=redis, who="the first transcriber"
        )
        enqueue_nap(redis_server, QUEUE_TRANSCRIPTION, "nap-killed")
        wait_until(lambda: runs(tmp_path, "nap-killed", "started"), 30, "the job to start", first)
        time.sleep(6)  # at least one heartbeat
        first.kill()  # SIGKILL: no cleanup, the job stays "started"
        first.popen.wait(10)
        killed_at = time.monotonic()
        second = start_worker(started, "transcriber-2", QUEUE_TRANSCRIPTION, env, tmp_path)
        wait_until(lambda: runs(tmp_path, "nap-killed", "done"), 240, "the job to be done by the second worker", second)
        taken_over_in = time.monotonic() - killed_at
        assert taken_over_in < 150, f"the job waited {taken_over_in:.0f} s after its worker died"
        # The nap writes "done" as its last step; rq marks the job finished just after it returns.
        finished = lambda: Job.fetch("nap-killed", connection=redis).get_status() == "finished"  # noqa: E731
        wait_until(finished, 30, "the job to be marked finished", second)
        job = Job.fetch("nap-killed", connection=redis)
        assert job.retries_left == 2  # retried as an abandoned job, not failed
        first_pid, second_pid = runs(tmp_path, "nap-killed", "started")
        assert runs(tmp_path, "nap-killed", "done") == [second_pid] and first_pid != second_pid
