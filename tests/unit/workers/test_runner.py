"""A worker started while Redis is away waits for it instead of crashing."""

from __future__ import annotations

import logging
import signal
import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue
from rq.exceptions import StopRequested

from workers import runner
from workers.queueing import connect_redis
from workers.settings import Settings


class FlakyRedis:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.pings = 0

    def ping(self) -> bool:
        self.pings += 1
        if self.pings <= self.failures:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return True


def test_waits_with_backoff_until_redis_answers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(runner.time, "sleep", slept.append)
    redis = FlakyRedis(failures=5)
    with caplog.at_level(logging.WARNING, logger="workers.runner"):
        runner.wait_for_redis(redis, first_delay=0.5, max_delay=4.0)  # type: ignore[arg-type]
    assert redis.pings == 6
    assert slept == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert "Redis unreachable" in caplog.text


def test_answers_at_once_when_redis_is_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner.time, "sleep", lambda _: pytest.fail("must not wait"))
    runner.wait_for_redis(FlakyRedis(failures=0))  # type: ignore[arg-type]


class FakeWorker:
    def __init__(self, name: str, outcomes: list[object], *, stops: bool = True) -> None:
        self.name = name
        self.outcomes = outcomes
        self._stops = stops
        self._stop_requested = False

    def work(self, **_: object) -> bool:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        self._stop_requested = self._stops  # work() returned: stopped by a signal, or quit on an error
        return bool(outcome)


def test_a_worker_that_loses_redis_is_replaced_once_redis_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner.time, "sleep", lambda _: None)
    outcomes: list[object] = [
        RedisConnectionError("Error 111 connecting"),  # maintenance during the outage
        RedisConnectionError("Error 111 connecting"),  # again, right after
        True,  # stopped normally (SIGTERM) after serving
    ]
    made: list[int] = []

    def make_worker(attempt: int) -> FakeWorker:
        made.append(attempt)
        return FakeWorker(f"w{attempt}", outcomes)

    redis = FlakyRedis(failures=2)
    assert runner.serve_through_outages(make_worker, redis, burst=False, with_scheduler=True) is True  # type: ignore[arg-type]
    assert made == [0, 1, 2]
    assert redis.pings >= 3  # Redis was checked before every new worker


def test_other_errors_still_stop_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    def make_worker(attempt: int) -> FakeWorker:
        return FakeWorker("w", [ValueError("There exists an active worker named 'w' already")])

    with pytest.raises(ValueError):
        runner.serve_through_outages(make_worker, FlakyRedis(0), burst=False, with_scheduler=True)  # type: ignore[arg-type]


def test_a_worker_that_quits_on_an_error_without_a_stop_request_serves_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner.time, "sleep", lambda _: None)

    made: list[int] = []
    outcomes: list[object] = [False, True]  # rq quit on an error (returned), then a SIGTERM after serving

    def make_worker(attempt: int) -> FakeWorker:
        made.append(attempt)
        return FakeWorker(f"w{attempt}", outcomes, stops=attempt == 1)

    assert runner.serve_through_outages(make_worker, FlakyRedis(0), burst=False, with_scheduler=True) is True  # type: ignore[arg-type]
    assert made == [0, 1]


def test_the_embedded_worker_stops_when_asked_although_idle(sqlite_settings: Settings) -> None:
    worker = runner.EmbeddedWorker(sqlite_settings, connect_redis(sqlite_settings))
    worker.start()
    deadline = time.monotonic() + 30
    while worker._worker.get_state() != "idle" and time.monotonic() < deadline:  # in its blocking dequeue
        time.sleep(0.05)
    assert worker._worker.get_state() == "idle"
    time.sleep(0.2)
    worker.stop(timeout=20)
    assert not worker._thread.is_alive()  # before: an idle thread never left its blocking dequeue


def test_a_stop_request_between_two_workers_ends_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """rq's signal handlers stay installed after its loop quits: a stop during the pause before the next worker."""

    def stop_requested(_: float) -> None:
        raise StopRequested

    monkeypatch.setattr(runner.time, "sleep", stop_requested)
    made: list[int] = []

    def make_worker(attempt: int) -> FakeWorker:
        made.append(attempt)
        return FakeWorker(f"w{attempt}", [False], stops=False)  # rq quit on an error

    assert runner.serve_through_outages(make_worker, FlakyRedis(0), burst=False, with_scheduler=True) is False  # type: ignore[arg-type]
    assert made == [0]


def test_an_idle_worker_notes_a_stop_request_as_it_leaves_its_loop(sqlite_settings: Settings) -> None:
    redis = connect_redis(sqlite_settings)
    worker = runner.DutySimpleWorker([Queue("hotline", connection=redis)], connection=redis)
    worker.set_state("idle")
    with pytest.raises(StopRequested):  # what ends rq's loop at once
        worker.request_stop(signal.SIGTERM, None)
    assert worker._stop_requested  # before: False, and the runner served again
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
