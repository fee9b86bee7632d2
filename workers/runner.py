"""Worker processes: forking rq workers for light jobs, SimpleWorkers for transcription, or one in-process thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import FrameType

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker, Worker
from rq.defaults import DEFAULT_JOB_MONITORING_INTERVAL
from rq.exceptions import StopRequested
from rq.executions import Execution
from rq.job import Job
from rq.timeouts import TimerDeathPenalty
from rq.worker import BaseWorker, WorkerStatus

from workers.context import WorkerContext, build_context, install
from workers.periodic import PeriodicDuties, PeriodicDutiesMixin
from workers.queueing import ALL_QUEUES, QUEUE_DEFAULT, QUEUE_TRANSCRIPTION
from workers.settings import Settings
from workers.understanding import preload as preload_understanding

log = logging.getLogger(__name__)


class StopRequestMixin:
    """For rq workers run by serve_through_outages: a stop request (SIGTERM, SIGINT) is noted on the worker.

    rq ends an idle worker's loop by raising StopRequested from its signal handler without noting the request, so
    the end of the loop looked like a crash and the worker served again: noted, the process ends. A busy worker
    finishes its job first (rq's warm shutdown)."""

    _stop_requested: bool

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stop_requested = True
        super().request_stop(signum, frame)  # type: ignore[misc]


class HeartbeatSimpleWorker(SimpleWorker):
    """A SimpleWorker whose running job keeps a heartbeat, from a thread, every job_monitoring_interval.

    rq's forking worker beats from its work-horse monitor loop, and the job's entry in the started registry expires
    a minute after the last beat; a SimpleWorker has no such loop, so the entry lasted the job's whole timeout plus
    a minute (a killed transcriber's job waited about 16 minutes). With beats, another worker's maintenance finds
    the job abandoned about a minute after the process died, and retries it."""

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # rq's own (the forking worker's): the next beat's interval, or what is left of the timeout, plus a minute.
        return BaseWorker.get_heartbeat_ttl(self, job, working_time)

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        done = threading.Event()
        beats = threading.Thread(
            target=self._beat, args=(job, execution, done), name=f"heartbeat-{job.id}", daemon=True
        )
        beats.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            beats.join()
        self.set_state(WorkerStatus.IDLE)

    def _beat(self, job: Job, execution: Execution, done: threading.Event) -> None:
        while not done.wait(self.job_monitoring_interval):
            try:
                self.maintain_heartbeats(job, execution)
            except Exception:  # Redis away for a moment: the next beat may get through; the job goes on regardless
                log.warning("heartbeat of job %s failed", job.id, exc_info=True)


class DutyWorker(StopRequestMixin, PeriodicDutiesMixin, Worker):
    """rq's forking worker that also enqueues the periodic duties (escalation, segment run, service duties)."""


class DutySimpleWorker(StopRequestMixin, PeriodicDutiesMixin, HeartbeatSimpleWorker):
    """rq's non-forking worker, with job heartbeats, that also enqueues the periodic duties."""


def _queues(names: list[str], redis: Redis) -> list[Queue]:
    unknown = sorted(set(names) - set(ALL_QUEUES))
    if unknown:
        raise ValueError(f"unknown queue(s) {', '.join(unknown)}; queues are {', '.join(ALL_QUEUES)}")
    return [Queue(name, connection=redis) for name in names]


def wait_for_redis(redis: Redis, *, first_delay: float = 0.5, max_delay: float = 10.0) -> None:
    """Block until Redis answers: a worker started (or restarted) while Redis is away waits, it does not crash."""
    delay = first_delay
    while True:
        try:
            redis.ping()
            return
        except RedisError as err:
            log.warning("Redis unreachable (%s); the worker waits and retries in %.1f s", err, delay)
            time.sleep(delay)
            delay = min(delay * 2, max_delay)


def run_worker(settings: Settings, queue_names: list[str], *, burst: bool = False, name: str | None = None) -> bool:
    """Serve the given queues in this process until stopped (or, in burst mode, until they are empty)."""
    context = build_context(settings)
    install(context)
    queues = _queues(queue_names, context.redis)
    if QUEUE_TRANSCRIPTION in queue_names:
        # A loaded CTranslate2 model hangs a forked child: transcription never forks, and loads once, now.
        context.speech_engine()
        worker_class: type[SimpleWorker] | type[Worker] = DutySimpleWorker
        with_scheduler = False
    else:
        # The classifier loads once in the parent; every forked work-horse inherits it.
        preload_understanding()
        worker_class = DutyWorker
        with_scheduler = True
    # Jobs of a killed worker are found by the next maintenance pass, which runs between dequeues, once their
    # heartbeat has lapsed (a minute after the last beat): a short interval, a short blocking dequeue and beats at
    # most that far apart make recovery minutes, not tens of minutes.
    interval = settings.worker_maintenance_interval

    def make_worker(attempt: int) -> SimpleWorker | Worker:
        # A name given on the command line gets a suffix after an outage: the dead worker's key may linger.
        worker = worker_class(
            queues,
            connection=context.redis,
            name=name if name is None or attempt == 0 else f"{name}-{attempt}",
            maintenance_interval=interval,
            worker_ttl=interval + 15,
            job_monitoring_interval=min(DEFAULT_JOB_MONITORING_INTERVAL, interval),
        )
        if QUEUE_DEFAULT in queue_names:
            # Whoever serves the `hotline` queue also enqueues the periodic duties (escalation, segments, services).
            worker.duties = PeriodicDuties.of(context.redis, settings)  # type: ignore[union-attr]
        return worker

    try:
        return serve_through_outages(make_worker, context.redis, burst=burst, with_scheduler=with_scheduler)
    finally:
        context.close()


def serve_through_outages(
    make_worker: Callable[[int], SimpleWorker | Worker], redis: Redis, *, burst: bool, with_scheduler: bool
) -> bool:
    """Run a worker until it is stopped; when rq's loop gives up because Redis went away (its maintenance, its
    scheduler or its heartbeat fail), wait for Redis and serve again with a new worker, never exit. Jobs a lost
    worker had started are recovered by the next worker's maintenance (abandoned-job handling). A stop request
    ends it, whenever it comes."""
    attempt = 0
    worker: SimpleWorker | Worker | None = None
    try:
        while True:
            wait_for_redis(redis)  # rq's Worker talks to Redis as soon as it is made
            if worker is not None and worker._stop_requested:
                return False
            worker = make_worker(attempt)
            try:
                worked = bool(worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="INFO"))
            except RedisError as err:
                log.warning("worker %s lost Redis (%s); waiting for it to serve again", worker.name, err)
                attempt += 1
                continue
            if burst or worker._stop_requested:
                return worked
            # rq's loop quits on an unexpected error (logged by rq: "found an unhandled exception, quitting"),
            # for example Redis failing during maintenance; if it could still write its own death, it returns.
            attempt += 1
            pause = min(30.0, 2.0**attempt)  # an error that recurs at once must not spin the process
            log.warning("worker %s quit without a stop request; serving again in %.0f s", worker.name, pause)
            time.sleep(pause)
    except StopRequested:
        # Asked to stop between two workers (rq's signal handlers stay installed): nothing is running.
        log.info("stop requested while no worker was serving; stopping")
        return False


def wake() -> None:
    """A job that does nothing: it wakes an idle embedded worker so that it notices a stop request."""


class ThreadWorker(PeriodicDutiesMixin, SimpleWorker):
    """A SimpleWorker that can live in a thread: no signal handlers, timer-based job timeouts; it enqueues the
    periodic duties too (the embedded mode has no other worker)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


class EmbeddedWorker:
    """All queues served by one thread of this process: the laptop mode, with no Redis server."""

    def __init__(self, settings: Settings, redis: Redis) -> None:
        self.context: WorkerContext = build_context(settings, redis=redis)
        self._redis = redis
        install(self.context)
        # A short TTL keeps the blocking dequeue short, so the thread stops promptly.
        interval = settings.worker_maintenance_interval
        self._worker = ThreadWorker(
            _queues(list(ALL_QUEUES), redis), connection=redis, worker_ttl=20, maintenance_interval=interval
        )
        self._worker.duties = PeriodicDuties.of(redis, settings)
        self._thread = threading.Thread(target=self._run, name="hotline-embedded-worker", daemon=True)

    def _run(self) -> None:
        try:
            self._worker.work(burst=False, logging_level="INFO")
        except Exception:
            log.exception("embedded worker stopped")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._worker._stop_requested = True
        # A thread gets no signal: its blocking dequeue only ends with a job. A no-op job wakes it; it then sees
        # the stop request (after the job it is running, if any).
        try:
            Queue(QUEUE_DEFAULT, connection=self._redis).enqueue(wake, result_ttl=0)
        except RedisError:
            pass
        self._thread.join(timeout)
        self.context.close()
