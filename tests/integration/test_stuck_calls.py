"""Calls left behind when Redis loses its data (flushed in the middle) or rq gives up on a job: the workers' periodic
duty enqueues their next step again after HOTLINE_STUCK_AFTER, never doubles a job rq still holds, and fails a
call that keeps failing, with the reason (real PostgreSQL and Redis, the fixed clock)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import update
from sqlmodel import Session, col, select

from crm_store.calls.tables import Call, OutboxJob, Recording
from tests.customer_helpers import SECRET
from tests.fake_clock import FakeClock
from tests.twilio_helpers import call_sid, recording_sid
from tests.unit.workers.test_jobs import ServedRecording
from workers import jobs
from workers.context import WorkerContext, build_context, install
from workers.periodic import PeriodicDuties, stuck_calls_duty
from workers.queueing import ALL_QUEUES, CLASSIFY, FETCH_RECORDING, QUEUE_DEFAULT, TRANSCRIBE, enqueue, relay_outbox
from workers.settings import Settings
from workers.stuck import MAX_RECOVERIES, Recovery, recover

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "zeroth_0294.ulaw8k.wav"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # when the calls last moved (and their jobs were enqueued)
STUCK_AFTER = 600
STILL_MOVING, STUCK = timedelta(seconds=STUCK_AFTER - 1), timedelta(seconds=STUCK_AFTER + 1)
TRANSCRIPT = "고객: 어제 주차장에서 차를 긁혔는데 사고 접수하려고요. 상담원: 네 사고 접수 도와드리겠습니다."


@pytest.fixture
def context(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[WorkerContext]:
    settings = Settings.from_env(
        {
            "DATABASE_URL": postgres_url,
            "REDIS_URL": redis_url,
            "HOTLINE_DATA_DIR": str(tmp_path),
            "HOTLINE_RECORDING_HOSTS": "127.0.0.1",
            "HOTLINE_SECRET_KEY": SECRET,
            "HOTLINE_JOB_RETRIES": "0",
            "HOTLINE_STUCK_AFTER": str(STUCK_AFTER),
        }
    )
    ctx = build_context(settings)
    install(ctx)
    yield ctx
    ctx.close()


def add_call(ctx: WorkerContext, state: str, *, url: str | None = None, rec: str | None = None, **fields: Any) -> str:
    """A call at `state` since `T0`, the promise of its next step relayed to Redis at T0."""
    sid = call_sid()
    step = {"recording_ready": FETCH_RECORDING, "recording_fetched": TRANSCRIBE, "transcribed": CLASSIFY}[state]
    with Session(ctx.engine) as session:
        session.add(Call(call_sid=sid, recording_sid=rec or recording_sid(), recording_url=url, pipeline_state=state,
                         started_at=T0 - timedelta(minutes=5), updated_at=T0, **fields))  # fmt: skip
        if state == "recording_fetched":
            audio = AUDIO.read_bytes()
            session.add(Recording(call_sid=sid, recording_sid=rec or recording_sid(), content_type="audio/x-wav",
                                  audio=audio, size=len(audio)))  # fmt: skip
        session.add(step.promise(sid))
        session.commit()
    relay_outbox(ctx.engine, ctx.redis, ctx.settings)
    with Session(ctx.engine) as session:  # as the outbox relay marked it, at T0
        session.exec(update(OutboxJob).where(col(OutboxJob.call_sid) == sid).values(enqueued_at=T0))  # type: ignore[call-overload]
        session.commit()
    return sid


def served_call(ctx: WorkerContext) -> tuple[str, ServedRecording]:
    served = ServedRecording(ctx.settings, AUDIO.read_bytes())
    return add_call(ctx, "recording_ready", url=served.server.url, rec=served.rec), served


def work(ctx: WorkerContext) -> None:
    """A worker until the queues are empty."""
    SimpleWorker([Queue(name, connection=ctx.redis) for name in ALL_QUEUES], connection=ctx.redis).work(burst=True)


def recover_and_work(ctx: WorkerContext, now: datetime) -> Any:
    """The duty's pass at `now` (enqueued as a worker's maintenance does), then a worker until the queues are empty;
    what the duty's job returned."""
    [duty_id] = PeriodicDuties(ctx.redis, [stuck_calls_duty(60)], clock=FakeClock(now)).run_due()
    work(ctx)
    return Job.fetch(duty_id, connection=ctx.redis).return_value()


def call(ctx: WorkerContext, sid: str) -> Call:
    with Session(ctx.engine) as session:
        return session.exec(select(Call).where(Call.call_sid == sid)).one()


def recoveries(ctx: WorkerContext) -> dict[str, int]:
    with Session(ctx.engine) as session:
        return {job.job_id: job.recoveries for job in session.exec(select(OutboxJob)).all()}


@pytest.mark.integration
def test_calls_whose_jobs_redis_lost_move_on_once_stuck_for_long_enough(context: WorkerContext) -> None:
    fetch, served = served_call(context)
    transcribe = add_call(context, "recording_fetched")
    classify = add_call(context, "transcribed", transcript=TRANSCRIPT)
    queued, served_queued = served_call(context)
    try:
        context.redis.flushdb()  # a failover without persistence: every job is gone, the outbox says enqueued
        enqueue(context.redis, FETCH_RECORDING.promise(queued), context.settings)  # this one reached Redis again

        assert recover(context.engine, context.redis, context.settings, now=T0 + STILL_MOVING) == Recovery()
        done = recover(context.engine, context.redis, context.settings, now=T0 + STUCK)
        assert sorted(done.requeued) == sorted(
            [f"fetch-recording-{fetch}", f"transcribe-{transcribe}", f"classify-{classify}"]
        )
        assert done.in_flight == [f"fetch-recording-{queued}"] and done.failed == []  # genuinely queued: left alone
        assert Queue(QUEUE_DEFAULT, connection=context.redis).job_ids.count(f"fetch-recording-{queued}") == 1
        work(context)
        for sid in (fetch, transcribe, classify, queued):
            moved = call(context, sid)
            assert moved.pipeline_state == "classified", (sid, moved.pipeline_state, moved.failure_reason)
            assert moved.classification is not None  # classified; read speech may be left 미분류 (type None)
        assert served.server.fetches == 1 and served_queued.server.fetches == 1  # each job ran once
        counts = recoveries(context)
        assert counts[f"fetch-recording-{fetch}"] == 1 and counts[f"fetch-recording-{queued}"] == 0
        assert counts[f"transcribe-{transcribe}"] == 1 and counts[f"classify-{classify}"] == 1
    finally:
        served.close()
        served_queued.close()


@pytest.mark.integration
def test_a_job_rq_is_running_is_not_doubled(context: WorkerContext) -> None:
    sid = add_call(context, "transcribed", transcript=TRANSCRIPT)
    queue = Queue(QUEUE_DEFAULT, connection=context.redis)
    queue.remove(f"classify-{sid}")  # taken by a worker that is running it
    Job.fetch(f"classify-{sid}", connection=context.redis).set_status(JobStatus.STARTED)
    done = recover(context.engine, context.redis, context.settings, now=T0 + timedelta(hours=1))
    assert done == Recovery(in_flight=[f"classify-{sid}"])
    assert queue.job_ids == []
    assert Job.fetch(f"classify-{sid}", connection=context.redis).get_status() == "started"
    assert recoveries(context) == {f"classify-{sid}": 0}


@pytest.mark.integration
@pytest.mark.parametrize("earlier", ["failed", "finished"])
def test_a_finished_or_failed_rq_job_of_the_same_id_is_replaced(
    context: WorkerContext, monkeypatch: pytest.MonkeyPatch, earlier: str
) -> None:
    sid = add_call(context, "transcribed", transcript=TRANSCRIPT)
    if earlier == "failed":
        with monkeypatch.context() as patched:  # the classifier fails once; no retries (HOTLINE_JOB_RETRIES=0)
            patched.setattr(jobs, "understand", lambda *_, **__: 1 / 0)
            SimpleWorker([Queue(QUEUE_DEFAULT, connection=context.redis)], connection=context.redis).work(burst=True)
    else:  # it ran, and then the database lost its result (restored from a backup taken before)
        SimpleWorker([Queue(QUEUE_DEFAULT, connection=context.redis)], connection=context.redis).work(burst=True)
        with Session(context.engine) as session:
            session.exec(update(Call).where(col(Call.call_sid) == sid).values(pipeline_state="transcribed", type=None,  # type: ignore[call-overload]
                                                                              updated_at=T0))  # fmt: skip
            session.commit()
    assert Job.fetch(f"classify-{sid}", connection=context.redis).get_status() == earlier
    assert call(context, sid).pipeline_state == "transcribed"

    assert recover_and_work(context, T0 + STUCK) == {"requeued": [f"classify-{sid}"], "failed": []}
    assert call(context, sid).pipeline_state == "classified" and call(context, sid).type is not None


@pytest.mark.integration
def test_a_call_that_keeps_failing_ends_failed_with_the_reason(
    context: WorkerContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: object) -> None:
        raise RuntimeError("speech engine crashed")

    monkeypatch.setattr(jobs, "transcribe_recording", crash)
    sid = add_call(context, "recording_fetched")
    work(context)  # the first attempt fails, and rq gives up on it (no retries)
    now = T0
    for attempt in range(1, MAX_RECOVERIES + 1):
        now += STUCK
        assert recover_and_work(context, now) == {"requeued": [f"transcribe-{sid}"], "failed": []}
        assert recoveries(context)[f"transcribe-{sid}"] == attempt
        assert call(context, sid).pipeline_state == "recording_fetched"
        if attempt == 1:
            context.redis.flushdb()  # losing the queue in between changes nothing: the count is in the database
    now += STUCK
    assert recover_and_work(context, now) == {"requeued": [], "failed": [sid]}
    failed = call(context, sid)
    assert failed.pipeline_state == "failed" and failed.failure_reason is not None
    assert f"transcribe-{sid} enqueued again {MAX_RECOVERIES} times" in failed.failure_reason
    assert failed.failure_reason.endswith("last error: RuntimeError: speech engine crashed")
    now += STUCK
    assert recover_and_work(context, now) == {"requeued": [], "failed": []}  # done with it
