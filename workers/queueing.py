"""Queues, job specifications and the outbox relay: the one way work reaches Redis."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import fakeredis
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.engine import Engine

from crm_store.calls.outbox import mark_enqueued, pending_jobs
from crm_store.calls.tables import OutboxJob
from crm_store.db import session_scope
from workers.settings import Settings

log = logging.getLogger(__name__)

QUEUE_DEFAULT = "hotline"
QUEUE_TRANSCRIPTION = "hotline-transcription"
ALL_QUEUES = (QUEUE_TRANSCRIPTION, QUEUE_DEFAULT)
FAILURE_TTL = 30 * 24 * 3600
RESULT_TTL = 24 * 3600
IN_FLIGHT = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED})


@dataclass(frozen=True)
class Step:
    """One stage of a call's processing: which function, on which queue, under which id."""

    name: str
    func: str
    queue: str

    def job_id(self, call_sid: str) -> str:
        # rq 3 allows only letters, digits, "_" and "-" in job ids.
        return f"{self.name}-{call_sid}"

    def promise(self, call_sid: str) -> OutboxJob:
        """The outbox row that promises this step for a call."""
        return OutboxJob(job_id=self.job_id(call_sid), queue=self.queue, func=self.func, call_sid=call_sid)


FETCH_RECORDING = Step("fetch-recording", "workers.jobs.fetch_recording", QUEUE_DEFAULT)
TRANSCRIBE = Step("transcribe", "workers.jobs.transcribe_call", QUEUE_TRANSCRIPTION)
CLASSIFY = Step("classify", "workers.jobs.classify_call", QUEUE_DEFAULT)
# Promised by the incoming-call statement for a blacklisted or key caller only (crm_store.calls.incoming).
CALL_ALERTS = Step("call-alerts", "workers.jobs.report_call_alerts", QUEUE_DEFAULT)


def connect_redis(settings: Settings) -> Redis:
    """Redis from REDIS_URL, or else a new in-process stand-in.

    A stand-in is shared by handing its client on, not through module state: the gateway makes one and gives it
    to its embedded worker.
    """
    if settings.redis_url:
        return Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30)
    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


def _timeout(settings: Settings, queue: str) -> int:
    return settings.transcribe_timeout if queue == QUEUE_TRANSCRIPTION else 300


def _retry(settings: Settings, queue: str) -> Retry | None:
    if settings.job_retries < 1:
        return None
    # Transcription workers run without rq's (forking) scheduler, so their retries are immediate;
    # the others back off.
    if queue == QUEUE_TRANSCRIPTION or not settings.redis_url:
        return Retry(max=settings.job_retries)
    return Retry(max=settings.job_retries, interval=[10, 60, 300][: settings.job_retries])


def _put(redis: Redis, job: OutboxJob, settings: Settings) -> None:
    """Enqueue under the job's own id; DuplicateJobError if rq knows that id, in whatever state."""
    Queue(job.queue, connection=redis).enqueue(
        job.func,
        job.call_sid,
        job_id=job.job_id,
        job_timeout=_timeout(settings, job.queue),
        result_ttl=RESULT_TTL,
        failure_ttl=FAILURE_TTL,
        retry=_retry(settings, job.queue),
        description=f"{job.job_id}",
        unique=True,
    )


def enqueue(redis: Redis, job: OutboxJob, settings: Settings) -> bool:
    """Put a promised job on its queue once; True if it is there now (or was already)."""
    try:
        _put(redis, job, settings)
    except DuplicateJobError:
        log.debug("job %s already queued", job.job_id)
    return True


def rq_job(redis: Redis, job_id: str) -> Job | None:
    """What rq holds under this id, if anything."""
    try:
        return Job.fetch(job_id, connection=redis)
    except NoSuchJobError:
        return None


def in_flight(job: Job | None) -> bool:
    """True when rq will run the job (waiting, scheduled for a retry, deferred) or is running it."""
    return job is not None and job.get_status(refresh=False) in IN_FLIGHT


def enqueue_again(redis: Redis, job: OutboxJob, settings: Settings) -> bool:
    """Put a promised job on its queue again unless rq is waiting to run it or running it; True if enqueued now.

    A finished, failed, stopped or canceled rq job of the same id (kept for its result or failure TTL) would make
    a unique enqueue a no-op: it is deleted first."""
    existing = rq_job(redis, job.job_id)
    if in_flight(existing):
        return False
    if existing is not None:
        existing.delete()
    try:
        _put(redis, job, settings)
    except DuplicateJobError:  # enqueued by someone else (the outbox relay) in between
        return False
    return True


def relay_outbox(engine: Engine, redis: Redis, settings: Settings, *, limit: int = 200) -> int:
    """Enqueue every promised job that has not reached Redis yet; how many were relayed."""
    with session_scope(engine) as session:
        jobs = list(session.exec(pending_jobs(limit)).all())
    relayed: list[str] = []
    for job in jobs:
        try:
            enqueue(redis, job, settings)
        except RedisError as err:
            log.warning("queue unreachable, %d job(s) wait in the outbox: %s", len(jobs) - len(relayed), err)
            break
        except Exception:
            log.exception("job %s could not be enqueued; it stays in the outbox", job.job_id)
            continue
        relayed.append(job.job_id)
    if relayed:
        with session_scope(engine) as session:
            mark_enqueued(session, relayed)
    return len(relayed)
