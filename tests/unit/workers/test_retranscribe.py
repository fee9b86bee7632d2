"""Re-transcription of stored calls: through the outbox and rq, in process, idempotent per request."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rq import Queue, SimpleWorker
from sqlmodel import Session, select

from crm_store.calls.tables import Call, OutboxJob, Recording
from telephony.asr import Transcript, Word
from telephony.audio import wav_bytes
from tests.twilio_helpers import call_sid, recording_sid
from workers.context import WorkerContext, build_context, install
from workers.queueing import ALL_QUEUES, relay_outbox
from workers.retranscribe import (
    enqueue_retranscription,
    new_request_id,
    retranscribe_in_process,
    stored_calls,
    transcribe_again,
)
from workers.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
AUDIO = ROOT / "tests" / "fixtures" / "audio"


class CountingEngine:
    """A stand-in engine that says the same sentence and counts how often it was asked."""

    name = "counting"
    model_name = "counting-2"

    def __init__(self) -> None:
        self.calls = 0

    def transcribe(self, samples: np.ndarray, sample_rate: int = 16000) -> Transcript:
        self.calls += 1
        words = (Word("어제", 0.5, 0.9, 0.9), Word("교통사고가", 1.0, 1.8, 0.8), Word("났어요", 1.9, 2.4, 0.9))
        return Transcript("어제 교통사고가 났어요", words, self.model_name, 16000, samples.size / sample_rate)


@pytest.fixture
def context(sqlite_settings: Settings) -> Iterator[WorkerContext]:
    ctx = build_context(sqlite_settings)
    ctx._speech = CountingEngine()
    install(ctx)
    ctx.redis.flushall()
    yield ctx
    ctx.close()


def stored_call(ctx: WorkerContext, *, audio: bytes | None = None, started: datetime | None = None) -> str:
    """A call transcribed and classified long ago by an older model, with its recording stored."""
    sid = call_sid()
    with Session(ctx.engine) as session:
        session.add(
            Call(
                call_sid=sid,
                pipeline_state="classified",
                transcript="옛날 전사",
                transcript_detail={"model": "old-model"},
                asr_model="old-model",
                type="inquiry",
                started_at=started,
            )
        )
        session.add(
            Recording(
                call_sid=sid,
                recording_sid=recording_sid(),
                content_type="audio/x-wav",
                audio=audio or wav_bytes(np.zeros(8000, dtype=np.float32), 8000),
                size=8000,
            )
        )
        session.commit()
    return sid


def load_call(ctx: WorkerContext, sid: str) -> Call:
    with Session(ctx.engine) as session:
        return session.exec(select(Call).where(Call.call_sid == sid)).one()


def run_queued(ctx: WorkerContext) -> None:
    relay_outbox(ctx.engine, ctx.redis, ctx.settings)
    SimpleWorker([Queue(name, connection=ctx.redis) for name in ALL_QUEUES], connection=ctx.redis).work(burst=True)


def test_stored_calls_are_chosen_by_sid_by_date_or_all(context: WorkerContext) -> None:
    now = datetime.now(UTC)
    old = stored_call(context, started=now - timedelta(days=30))
    new = stored_call(context, started=now - timedelta(hours=1))
    with Session(context.engine) as session:
        session.add(Call(call_sid=call_sid(), pipeline_state="received"))  # no recording: nothing to redo
        session.commit()
        assert stored_calls(session) == [old, new]
        assert stored_calls(session, since=now - timedelta(days=1)) == [new]
        assert stored_calls(session, call_sids=[old, "CAunknown"]) == [old]


def test_queued_retranscription_replaces_transcript_and_classification(context: WorkerContext) -> None:
    sids = [stored_call(context), stored_call(context)]
    request = new_request_id()
    outcome = enqueue_retranscription(context, sids, request=request, progress=False)
    assert (outcome.calls, outcome.queued) == (2, 2)
    SimpleWorker([Queue(name, connection=context.redis) for name in ALL_QUEUES], connection=context.redis).work(
        burst=True
    )
    for sid in sids:
        call = load_call(context, sid)
        assert call.pipeline_state == "classified", call.failure_reason
        assert call.transcript == "어제 교통사고가 났어요" and call.asr_model == "counting-2"
        assert call.type == "report"  # classified again from the new transcript
        detail = call.transcript_detail or {}
        assert detail["retranscription"]["request"] == request
        assert detail["retranscription"]["previous_model"] == "old-model"
        assert [w["start"] for w in detail["words"]["caller"]] == [0.5, 1.0, 1.9]
    with Session(context.engine) as session:
        job_ids = {job.job_id for job in session.exec(select(OutboxJob)).all()}
    assert {f"retranscribe-{sid}-{request}" for sid in sids} <= job_ids
    assert {f"reclassify-{sid}-{request}" for sid in sids} <= job_ids


def test_a_redelivered_job_does_not_transcribe_twice(context: WorkerContext) -> None:
    sid = stored_call(context)
    engine = context._speech
    assert isinstance(engine, CountingEngine)
    request = new_request_id()
    assert transcribe_again(context, sid, request, promise_classification=True) is True
    first = load_call(context, sid)
    # The same request again (a retry after a crash, a second enqueue) finds its own work done.
    assert transcribe_again(context, sid, request, promise_classification=True) is False
    enqueue_retranscription(context, [sid], request=request, progress=False)
    run_queued(context)
    assert engine.calls == 1
    again = load_call(context, sid)
    assert again.transcript_detail == first.transcript_detail and again.pipeline_state == "classified"
    # A new run is new work.
    assert transcribe_again(context, sid, new_request_id(), promise_classification=False) is True
    assert engine.calls == 2


def test_in_process_run_reports_failures_and_goes_on(context: WorkerContext) -> None:
    good = stored_call(context)
    broken = stored_call(context, audio=b"<html>502 Bad Gateway</html>")
    outcome = retranscribe_in_process(context, [broken, good], request=new_request_id(), progress=False)
    assert outcome.done == 1 and list(outcome.failures) == [broken]
    assert "could not be decoded" in outcome.failures[broken]
    assert load_call(context, good).type == "report"
    failed = load_call(context, broken)
    assert failed.pipeline_state == "failed" and failed.transcript == "옛날 전사"


def test_cli_retranscribes_a_stored_call_in_process(sqlite_settings: Settings, tmp_path: Path) -> None:
    ctx = build_context(sqlite_settings)
    try:
        sid = stored_call(ctx, audio=(AUDIO / "zeroth_0352.ulaw8k.wav").read_bytes())
    finally:
        ctx.close()
    env: dict[str, Any] = {
        **os.environ,
        "HOTLINE_DATA_DIR": str(sqlite_settings.data_dir),
        "HOTLINE_ASR_THREADS": "2",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "gateway.cli", "retranscribe", sid, "--engine", "whisper"]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1 of 1 call(s) re-transcribed" in done.stdout
    ctx = build_context(sqlite_settings)
    try:
        call = load_call(ctx, sid)
    finally:
        ctx.close()
    assert "발견" in (call.transcript or "") and call.asr_model == "faster-whisper-base-int8"
    assert call.pipeline_state == "classified"
    missing = subprocess.run(
        [*command[:4], "CA" + "0" * 32], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert missing.returncode != 0 and "no stored recording" in missing.stderr
