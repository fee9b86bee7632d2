"""The rq jobs of a call's processing. Each takes a CallSid, is idempotent, and promises the next step."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from rq import get_current_job
from sqlmodel import Session, col, select

from crm_store.calls.alerts import report_incoming_alerts, report_repeat_complainant
from crm_store.calls.outbox import mark_enqueued, promise_job
from crm_store.calls.store import call_by_sid
from crm_store.calls.tables import Call, OutboxJob, PipelineState, Recording
from crm_store.complaints.store import open_complaint_from_call
from crm_store.db import session_scope
from crm_store.dispatch.requests import draft_from_call
from crm_store.errors import CallNotFound
from crm_store.review.routing import route_call
from crm_store.types import utcnow
from crm_store.upsert import insert_ignoring_conflict
from crm_store.validation import business_today
from telephony.audio import decode_audio
from telephony.errors import AudioDecodeError
from telephony.recordings import RecordingFetchError, RecordingRefused
from workers.context import WorkerContext, current
from workers.queueing import CLASSIFY, TRANSCRIBE, enqueue
from workers.transcripts import TranscriptionResult, transcribe_audio
from workers.understanding import redact, understand

log = logging.getLogger(__name__)


class PermanentJobFailure(Exception):
    """Retrying cannot help (undecodable audio, forbidden host, unknown call): fail once, visibly."""


def _stop_retries() -> None:
    job = get_current_job()
    if job is not None:
        job.retries_left = 0


def last_attempt() -> bool:
    """True when rq will not run the current job again if it fails now (no retries left, or not under rq)."""
    job = get_current_job()
    return job is None or not job.retries_left


def permanent_failure(reason: str) -> PermanentJobFailure:
    """The error to raise for a failure that retrying cannot mend; rq will not retry it."""
    _stop_retries()
    return PermanentJobFailure(reason)


def load_call(session: Session, call_sid: str) -> Call:
    call = session.exec(call_by_sid(call_sid)).first()
    if call is None:
        raise permanent_failure(f"no call {call_sid}")
    return call


def fail_call(ctx: WorkerContext, call_sid: str, reason: str, *, permanent: bool) -> None:
    """Write the reason on the record; a permanent failure also stops rq's retries."""
    with session_scope(ctx.engine) as session:
        call = session.exec(call_by_sid(call_sid)).first()
        if call is not None:
            call.failure_reason = reason[:500]
            if permanent:
                call.pipeline_state = PipelineState.FAILED
            call.updated_at = utcnow()
            session.add(call)
    if permanent:
        _stop_retries()


def hand_on(ctx: WorkerContext, job: OutboxJob) -> None:
    """Enqueue the promised next step now; if Redis is away, the outbox relay does it later."""
    try:
        enqueue(ctx.redis, job, ctx.settings)
    except RedisError as err:
        log.warning("could not enqueue %s now (%s); the outbox relay will", job.job_id, err)
        return
    with session_scope(ctx.engine) as session:
        mark_enqueued(session, [job.job_id])


def fetch_recording(call_sid: str) -> str:
    """Download the call's recording from Twilio and store it; then promise transcription."""
    ctx = current()
    with session_scope(ctx.engine) as session:
        call = load_call(session, call_sid)
        recording_sid, recording_url = call.recording_sid, call.recording_url
        have = (
            recording_sid is not None
            and session.exec(select(Recording.id).where(Recording.recording_sid == recording_sid)).first()
        )
    if recording_sid is None or recording_url is None:
        raise permanent_failure(f"call {call_sid} has no completed recording")
    if not have:
        try:
            audio, content_type = ctx.recordings.download(recording_url)
        except RecordingRefused as err:  # a forbidden URL, a redirect, a file over the limit: the same next time
            fail_call(ctx, call_sid, str(err), permanent=True)
            raise PermanentJobFailure(str(err)) from err
        except Exception as err:
            last = last_attempt()
            detail = str(err) if isinstance(err, RecordingFetchError) else f"recording download failed: {err!r}"
            fail_call(ctx, call_sid, f"{detail}; {'no retries left' if last else 'will retry'}", permanent=last)
            raise
        with session_scope(ctx.engine) as session:
            session.exec(
                insert_ignoring_conflict(
                    session.bind.dialect.name,  # type: ignore[union-attr]
                    Recording,
                    {
                        "call_sid": call_sid,
                        "recording_sid": recording_sid,
                        "content_type": content_type,
                        "audio": audio,
                        "size": len(audio),
                        "fetched_at": utcnow(),
                    },
                )
            )
    follow_up = TRANSCRIBE.promise(call_sid)
    with session_scope(ctx.engine) as session:
        call = load_call(session, call_sid)
        if call.pipeline_state in (PipelineState.RECEIVED, PipelineState.RECORDING_READY, PipelineState.FAILED):
            call.pipeline_state = PipelineState.RECORDING_FETCHED
            call.failure_reason = None
            call.updated_at = utcnow()
            session.add(call)
        promise_job(session, follow_up)
    hand_on(ctx, follow_up)
    return f"fetched {recording_sid}"


def latest_recording(session: Session, call_sid: str) -> Recording | None:
    """The call's most recent stored recording."""
    return session.exec(
        select(Recording).where(Recording.call_sid == call_sid).order_by(col(Recording.id).desc())
    ).first()


def transcribe_recording(ctx: WorkerContext, call_sid: str, recording: Recording | None) -> TranscriptionResult:
    """Decode and transcribe a stored recording; audio that cannot be decoded fails the call for good, with why."""
    if recording is None:
        raise permanent_failure(f"call {call_sid} has no stored recording")
    try:
        audio = decode_audio(recording.audio)
    except AudioDecodeError as err:
        reason = f"recording could not be decoded: {err}"
        fail_call(ctx, call_sid, reason, permanent=True)
        raise PermanentJobFailure(reason) from err
    return transcribe_audio(ctx.speech_engine(), audio)


def store_transcript(
    ctx: WorkerContext, call: Call, result: TranscriptionResult, *, extra: dict[str, Any] | None = None
) -> None:
    """Write the transcript on the record: redacted text and words, the raw text only if the setting keeps it."""
    detail = result.detail(redact)
    if extra:
        detail.update(extra)
    call.transcript = redact(result.text)
    call.transcript_raw = result.text if ctx.settings.keep_raw_transcript else None
    call.transcript_detail = detail
    call.asr_model = result.model
    call.asr_sample_rate = result.sample_rate
    call.pipeline_state = PipelineState.TRANSCRIBED
    call.failure_reason = None
    call.updated_at = utcnow()


def transcribe_call(call_sid: str) -> str:
    """Transcribe the stored recording with this process's engine; store words, turns and the redacted text."""
    ctx = current()
    with session_scope(ctx.engine) as session:
        done = load_call(session, call_sid).transcript is not None
        recording = latest_recording(session, call_sid)
    if not done:
        result = transcribe_recording(ctx, call_sid, recording)
        with session_scope(ctx.engine) as session:
            call = load_call(session, call_sid)
            if call.transcript is None:
                store_transcript(ctx, call, result)
                session.add(call)
            promise_job(session, CLASSIFY.promise(call_sid))
    else:
        with session_scope(ctx.engine) as session:
            promise_job(session, CLASSIFY.promise(call_sid))
    hand_on(ctx, CLASSIFY.promise(call_sid))
    return "transcribed"


def classify_call(call_sid: str) -> dict[str, Any]:
    """Classify the redacted transcript: type, topic, urgency, entities, and the reasons."""
    ctx = current()
    with session_scope(ctx.engine) as session:
        call = load_call(session, call_sid)
        if call.transcript is None:
            raise permanent_failure(f"call {call_sid} has no transcript to classify")
        result = understand(call.transcript, now=call.started_at)
        summary = result.to_dict()
        call.type = result.type  # type: ignore[assignment]
        call.topic = result.topic
        call.urgency = result.urgency
        call.entities = summary.get("entities", [])
        # Changes the agent took during the call (the desk's) stay proposed next to the classifier's.
        taken = [c for c in (call.classification or {}).get("proposed_changes") or [] if c.get("source") == "desk"]
        call.classification = {
            key: summary[key]
            for key in ("scores", "reasons", "sentiment", "secondary_types", "proposed_changes", "model")
            if key in summary
        }
        if taken:
            call.classification["proposed_changes"] = [*call.classification.get("proposed_changes", []), *taken]
        call.pipeline_state = PipelineState.CLASSIFIED
        call.failure_reason = None
        call.updated_at = utcnow()
        session.add(call)
        session.flush()
        # Same transaction: a classified record is always in a review queue (once; a rerun changes nothing), a
        # repeat complainant's manager hears of it (once per call), and a known customer's complaint call opens a
        # numbered complaint or links to their open one on the topic (once per call).
        route_call(session, call_sid, now=utcnow())
        report_repeat_complainant(session, call_sid, rules=ctx.rules, as_of=business_today())
        open_complaint_from_call(session, call_sid, now=utcnow())
        # A report or dispatch call leaves a draft dispatch request for the dispatcher to confirm (once per call).
        draft_from_call(session, call_sid, now=utcnow())
    return {"type": result.type, "topic": result.topic}


def report_call_alerts(call_sid: str) -> list[str]:
    """A blacklisted or key caller: the customer events for the account manager (each once per call)."""
    ctx = current()
    try:
        with session_scope(ctx.engine) as session:
            written = report_incoming_alerts(session, call_sid, rules=ctx.rules)
    except CallNotFound as err:
        raise permanent_failure(f"no call {call_sid}") from err
    if written:
        log.info("call %s: %s reported to the account manager", call_sid, ", ".join(written))
    return written
