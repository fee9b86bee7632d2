"""Calls that stopped moving: their next step enqueued again; a call that keeps failing is failed with the reason.

Redis may lose its data (a flush, a failover without persistence) after the outbox marked a call's next job as
enqueued, and rq may give up on a job (its retries spent, its worker killed on the last one). Either way the call
stays in `recording_ready`, `recording_fetched` or `transcribed` with nothing coming. The workers' periodic duty
`recover-stuck-calls` (every maintenance interval) takes every call that has not moved, and whose next job was not
enqueued either, for HOTLINE_STUCK_AFTER seconds:

- a job rq is waiting to run (queued, scheduled for a retry, deferred) or running is left alone;
- otherwise the job is enqueued again (a finished or failed rq job of the same id is replaced; the jobs are
  idempotent), and its outbox row counts the recovery;
- after MAX_RECOVERIES recoveries of the same step, the call is failed with the last error known.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from redis import Redis
from rq.job import Job
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from crm_store.calls.outbox import promise_job
from crm_store.calls.tables import Call, OutboxJob, PipelineState
from crm_store.db import session_scope
from workers.context import current
from workers.queueing import CLASSIFY, FETCH_RECORDING, TRANSCRIBE, Step, enqueue_again, in_flight, rq_job
from workers.settings import Settings

log = logging.getLogger(__name__)

NEXT_STEP: dict[PipelineState, Step] = {
    PipelineState.RECORDING_READY: FETCH_RECORDING,
    PipelineState.RECORDING_FETCHED: TRANSCRIBE,
    PipelineState.TRANSCRIBED: CLASSIFY,
}
MAX_RECOVERIES = 3
_PAGE = 500


@dataclass
class Recovery:
    """What one pass did: jobs enqueued again, calls failed, jobs found waiting or running."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Stuck:
    call_sid: str
    state: PipelineState
    updated_at: datetime


def recover_stuck_calls(as_of: str) -> dict[str, list[str]]:
    """The job: recover the calls stuck at `as_of` (ISO); the job ids enqueued again and the calls failed."""
    ctx = current()
    done = recover(ctx.engine, ctx.redis, ctx.settings, now=datetime.fromisoformat(as_of))
    if done.requeued or done.failed:
        log.warning("stuck calls: enqueued again %s; failed %s", done.requeued, done.failed)
    return {"requeued": done.requeued, "failed": done.failed}


def _stuck_calls(engine: Engine, before: datetime) -> Iterator[_Stuck]:
    """Calls waiting for a step that have not changed since `before`, oldest first, a page at a time."""
    after: tuple[datetime, int | None] | None = None
    while True:
        query = select(Call.id, Call.call_sid, Call.pipeline_state, Call.updated_at).where(
            col(Call.pipeline_state).in_(list(NEXT_STEP)), col(Call.updated_at) < before
        )
        if after is not None:
            query = query.where(
                (col(Call.updated_at) > after[0]) | ((col(Call.updated_at) == after[0]) & (col(Call.id) > after[1]))
            )
        with session_scope(engine) as session:
            rows = session.exec(query.order_by(col(Call.updated_at), col(Call.id)).limit(_PAGE)).all()
        for _id, sid, state, updated_at in rows:
            yield _Stuck(sid, PipelineState(state), updated_at)
        if len(rows) < _PAGE:
            return
        after = (rows[-1][3], rows[-1][0])


def _promise(engine: Engine, promised: OutboxJob) -> OutboxJob:
    """The outbox row of this promise (made now if the call never had it)."""
    with session_scope(engine) as session:
        row = session.exec(select(OutboxJob).where(OutboxJob.job_id == promised.job_id)).first()
        if row is None:
            promise_job(session, promised)
            row = session.exec(select(OutboxJob).where(OutboxJob.job_id == promised.job_id)).one()
        session.expunge(row)
        return row


def last_error(job: Job | None) -> str | None:
    """The last line of the error rq recorded for the job's last run, if it failed."""
    result = job.latest_result() if job is not None else None
    lines = (result.exc_string or "").strip().splitlines() if result is not None else []
    return lines[-1] if lines else None


def _failure_reason(engine: Engine, call_sid: str) -> str | None:
    with session_scope(engine) as session:
        return session.exec(select(Call.failure_reason).where(Call.call_sid == call_sid)).first()


def _fail(engine: Engine, stuck: _Stuck, reason: str, now: datetime) -> bool:
    """Fail the call if it is still as it was found; False if it moved meanwhile."""
    with session_scope(engine) as session:
        changed = session.exec(  # type: ignore[call-overload]
            update(Call)
            .where(
                col(Call.call_sid) == stuck.call_sid,
                col(Call.pipeline_state) == stuck.state,
                col(Call.updated_at) == stuck.updated_at,
            )
            .values(pipeline_state=PipelineState.FAILED, failure_reason=reason[:500], updated_at=now)
        )
        return bool(changed.rowcount)


def recover(engine: Engine, redis: Redis, settings: Settings, *, now: datetime) -> Recovery:
    """One pass over the calls stuck at `now` (see the module's description)."""
    cutoff = now - timedelta(seconds=settings.stuck_after)
    done = Recovery()
    for stuck in _stuck_calls(engine, cutoff):
        row = _promise(engine, NEXT_STEP[stuck.state].promise(stuck.call_sid))
        if row.enqueued_at is not None and row.enqueued_at >= cutoff:
            continue  # enqueued (again) lately: give it its time
        job = rq_job(redis, row.job_id)
        if in_flight(job):
            done.in_flight.append(row.job_id)
            continue
        if row.recoveries >= MAX_RECOVERIES:
            error = last_error(job) or _failure_reason(engine, stuck.call_sid) or "none recorded (the job was lost)"
            reason = (
                f"stopped at {stuck.state.value}: {row.job_id} enqueued again {row.recoveries} times without "
                f"completing; last error: {error}"
            )
            if _fail(engine, stuck, reason, now):
                done.failed.append(stuck.call_sid)
            continue
        if enqueue_again(redis, row, settings):
            with session_scope(engine) as session:
                session.exec(  # type: ignore[call-overload]
                    update(OutboxJob)
                    .where(col(OutboxJob.job_id) == row.job_id)
                    .values(recoveries=col(OutboxJob.recoveries) + 1, enqueued_at=now)
                )
            done.requeued.append(row.job_id)
    return done
