"""Re-transcription of stored calls: a new transcript and classification for recordings already processed.

Each run is one request with its own id, so its jobs (`retranscribe-{call_sid}-{request}`, then
`reclassify-{call_sid}-{request}`) never collide with the call's first `transcribe-{call_sid}` or with
another run. The job is idempotent: the request id is stored with the new transcript, and a redelivered
job of the same request finds it and only hands on the classification.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from rq import get_current_job
from sqlalchemy import exists, func
from sqlmodel import Session, col, select
from tqdm import tqdm

from crm_store.calls.outbox import mark_enqueued, promise_job
from crm_store.calls.tables import Call, OutboxJob, Recording
from crm_store.db import session_scope
from crm_store.types import utcnow
from workers.context import WorkerContext, current
from workers.jobs import (
    PermanentJobFailure,
    classify_call,
    hand_on,
    latest_recording,
    load_call,
    permanent_failure,
    store_transcript,
    transcribe_recording,
)
from workers.queueing import QUEUE_DEFAULT, QUEUE_TRANSCRIPTION, enqueue

log = logging.getLogger(__name__)

RETRANSCRIBE_FUNC = "workers.retranscribe.retranscribe_call"
RECLASSIFY_FUNC = "workers.jobs.classify_call"
_RETRANSCRIBE_PREFIX = "retranscribe-"
_BATCH = 500


def new_request_id() -> str:
    """A short id naming one re-transcription run, in time order."""
    return f"{utcnow():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"


def retranscribe_job(call_sid: str, request: str) -> OutboxJob:
    """The outbox row that promises a call's re-transcription for one request."""
    return OutboxJob(
        job_id=f"{_RETRANSCRIBE_PREFIX}{call_sid}-{request}",
        queue=QUEUE_TRANSCRIPTION,
        func=RETRANSCRIBE_FUNC,
        call_sid=call_sid,
    )


def reclassify_job(call_sid: str, request: str) -> OutboxJob:
    """The outbox row that promises classifying the new transcript (the ordinary classify job, a new id)."""
    return OutboxJob(
        job_id=f"reclassify-{call_sid}-{request}", queue=QUEUE_DEFAULT, func=RECLASSIFY_FUNC, call_sid=call_sid
    )


def stored_calls(
    session: Session, *, call_sids: Iterable[str] | None = None, since: datetime | None = None
) -> list[str]:
    """CallSids of calls with a stored recording (all, those named, or those started since a time), oldest first."""
    query = select(Call.call_sid).where(exists().where(col(Recording.call_sid) == col(Call.call_sid)))
    if call_sids is not None:
        query = query.where(col(Call.call_sid).in_(list(call_sids)))
    if since is not None:
        query = query.where(func.coalesce(Call.started_at, Call.created_at) >= since)
    return list(session.exec(query.order_by(col(Call.id))).all())


def _request_of_current_job(call_sid: str) -> str:
    job = get_current_job()
    prefix = f"{_RETRANSCRIBE_PREFIX}{call_sid}-"
    if job is None or not job.id.startswith(prefix):
        raise permanent_failure(f"re-transcription of {call_sid} needs a request id (job id {prefix}REQUEST)")
    return job.id[len(prefix) :]


def _done_for(call: Call, request: str) -> bool:
    detail = call.transcript_detail or {}
    return call.transcript is not None and (detail.get("retranscription") or {}).get("request") == request


def transcribe_again(ctx: WorkerContext, call_sid: str, request: str, *, promise_classification: bool) -> bool:
    """Replace the call's transcript with a new one from its stored recording; False if this request did it already."""
    with session_scope(ctx.engine) as session:
        already = _done_for(load_call(session, call_sid), request)
        recording = latest_recording(session, call_sid)
    if already:
        return False
    result = transcribe_recording(ctx, call_sid, recording)
    with session_scope(ctx.engine) as session:
        call = load_call(session, call_sid)
        if _done_for(call, request):  # a twin delivery of this job finished first
            return False
        retranscription = {"request": request, "at": utcnow().isoformat(), "previous_model": call.asr_model}
        store_transcript(ctx, call, result, extra={"retranscription": retranscription})
        session.add(call)
        if promise_classification:
            promise_job(session, reclassify_job(call_sid, request))
    return True


def retranscribe_call(call_sid: str) -> str:
    """The rq job: transcribe the stored recording again with this worker's engine, then promise classification."""
    ctx = current()
    request = _request_of_current_job(call_sid)
    changed = transcribe_again(ctx, call_sid, request, promise_classification=True)
    if not changed:
        with session_scope(ctx.engine) as session:
            promise_job(session, reclassify_job(call_sid, request))
    hand_on(ctx, reclassify_job(call_sid, request))
    return "re-transcribed" if changed else "already re-transcribed"


@dataclass
class Outcome:
    """What a re-transcription run did."""

    request: str
    calls: int = 0
    queued: int = 0
    done: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def _batches(items: list[str], size: int = _BATCH) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def enqueue_retranscription(ctx: WorkerContext, call_sids: list[str], *, request: str, progress: bool) -> Outcome:
    """Promise a re-transcription job per call through the outbox and put them on the queue now if Redis is up."""
    outcome = Outcome(request=request, calls=len(call_sids))
    with tqdm(total=len(call_sids), unit="call", file=sys.stderr, disable=not progress, desc="queueing") as bar:
        for batch in _batches(call_sids):
            jobs = [retranscribe_job(sid, request) for sid in batch]
            with session_scope(ctx.engine) as session:
                for job in jobs:
                    promise_job(session, job)
            queued: list[str] = []
            for job in jobs:
                try:
                    enqueue(ctx.redis, job, ctx.settings)
                except RedisError as err:
                    log.warning("queue unreachable (%s): the outbox relay will queue the rest", err)
                    break
                queued.append(job.job_id)
            with session_scope(ctx.engine) as session:
                mark_enqueued(session, queued)
            outcome.queued += len(queued)
            bar.update(len(batch))
            if len(queued) < len(jobs):
                bar.update(len(call_sids) - bar.n)
                break
    return outcome


def retranscribe_in_process(
    ctx: WorkerContext,
    call_sids: list[str],
    *,
    request: str,
    progress: bool,
    classify: Callable[[str], Any] = classify_call,
) -> Outcome:
    """Re-transcribe and re-classify each call here, one after the other; failures are counted, not fatal."""
    outcome = Outcome(request=request, calls=len(call_sids))
    with tqdm(total=len(call_sids), unit="call", file=sys.stderr, disable=not progress, desc="re-transcribing") as bar:
        for sid in call_sids:
            try:
                transcribe_again(ctx, sid, request, promise_classification=False)
                classify(sid)
            except PermanentJobFailure as err:
                outcome.failures[sid] = str(err)
            except Exception as err:  # one bad call must not stop the batch; the reason is reported
                log.exception("re-transcription of %s failed", sid)
                outcome.failures[sid] = f"{type(err).__name__}: {err}"
            else:
                outcome.done += 1
            bar.update(1)
    return outcome


def wait_for(
    ctx: WorkerContext, call_sids: list[str], *, request: str, progress: bool, timeout: float, poll: float = 1.0
) -> tuple[int, list[str]]:
    """Follow a queued run with a progress bar until every job finished or failed; (done, failed CallSids)."""
    import time

    from rq.job import Job, JobStatus

    ids = {retranscribe_job(sid, request).job_id: sid for sid in call_sids}
    done: set[str] = set()
    failed: set[str] = set()
    deadline = time.monotonic() + timeout
    with tqdm(total=len(ids), unit="call", file=sys.stderr, disable=not progress, desc="re-transcribing") as bar:
        while len(done) + len(failed) < len(ids) and time.monotonic() < deadline:
            open_ids = [job_id for job_id in ids if job_id not in done and job_id not in failed]
            for job_id, job in zip(open_ids, Job.fetch_many(open_ids, connection=ctx.redis), strict=True):
                status = None if job is None else job.get_status(refresh=False)
                if status == JobStatus.FINISHED:
                    done.add(job_id)
                elif status == JobStatus.FAILED:
                    failed.add(job_id)
            bar.update(len(done) + len(failed) - bar.n)
            if len(done) + len(failed) < len(ids):
                time.sleep(poll)
    return len(done), sorted(ids[job_id] for job_id in failed)
