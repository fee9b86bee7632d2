"""The call-processing jobs through rq's SimpleWorker (in-process queue, SQLite, the real Whisper model)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlmodel import Session, select

from crm_store.calls.tables import Call, OutboxJob, Recording
from gateway.simulator import RecordingServer
from telephony.audio import decode_audio, wav_bytes
from tests.twilio_helpers import call_sid, recording_sid
from workers import jobs
from workers.context import install
from workers.queueing import ALL_QUEUES, FETCH_RECORDING, connect_redis, relay_outbox
from workers.settings import Settings
from workers.transcripts import transcribe_audio

AUDIO = Path(__file__).resolve().parents[2] / "fixtures" / "audio"


class ServedRecording:
    """A RecordingServer (as Twilio serves recordings) running on its own event loop thread."""

    def __init__(self, settings: Settings, audio: bytes) -> None:
        self.rec = recording_sid()
        self.loop = asyncio.new_event_loop()
        self.server = RecordingServer(settings.twilio_account_sid, settings.twilio_auth_token, self.rec, audio)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def promise_fetch(ctx: Any, sid: str, rec: str, url: str) -> None:
    with Session(ctx.engine) as session:
        session.add(Call(call_sid=sid, recording_sid=rec, recording_url=url, pipeline_state="recording_ready"))
        session.add(FETCH_RECORDING.promise(sid))
        session.commit()


def run_jobs(ctx: Any) -> None:
    relay_outbox(ctx.engine, ctx.redis, ctx.settings)
    queues = [Queue(name, connection=ctx.redis) for name in ALL_QUEUES]
    SimpleWorker(queues, connection=ctx.redis).work(burst=True)


def load_call(ctx: Any, sid: str) -> Call:
    with Session(ctx.engine) as session:
        return session.exec(select(Call).where(Call.call_sid == sid)).one()


def test_a_recording_becomes_a_redacted_classified_record(context: Any) -> None:
    served = ServedRecording(context.settings, (AUDIO / "zeroth_0294.ulaw8k.wav").read_bytes())
    try:
        sid = call_sid()
        promise_fetch(context, sid, served.rec, served.server.url)
        run_jobs(context)
        call = load_call(context, sid)
        assert call.pipeline_state == "classified", call.failure_reason
        assert "소비자" in (call.transcript or "") and "공정" in (call.transcript or "")
        assert call.asr_model and call.asr_sample_rate == 16000
        assert call.transcript_raw is None  # raw transcripts are not kept unless configured
        assert call.transcript_detail and call.transcript_detail["turns"][0]["speaker"] == "caller"
        assert call.transcript_detail["source_rate"] == 8000
        # A read sentence about coffee: no type, no topic, and the reason, for an operator to classify.
        assert (call.type, call.topic) == (None, None)
        assert call.classification and "보험 관련 표현이 부족하여 분류하지 않음" in call.classification["reasons"][0]
        # Running every job again (a redelivery, a retry after a crash) changes nothing and fetches nothing.
        jobs.fetch_recording(sid)
        jobs.transcribe_call(sid)
        jobs.classify_call(sid)
        run_jobs(context)
        assert served.server.fetches == 1
        again = load_call(context, sid)
        assert again.transcript == call.transcript and again.type == call.type
        with Session(context.engine) as session:
            assert len(session.exec(select(Recording)).all()) == 1
            assert all(job.enqueued_at for job in session.exec(select(OutboxJob)).all())
    finally:
        served.close()


def test_audio_that_cannot_be_decoded_fails_once_with_a_readable_reason(context: Any) -> None:
    served = ServedRecording(context.settings, b"<html><body>502 Bad Gateway</body></html>")
    try:
        sid = call_sid()
        promise_fetch(context, sid, served.rec, served.server.url)
        run_jobs(context)
        call = load_call(context, sid)
        assert call.pipeline_state == "failed"
        assert call.failure_reason and call.failure_reason.startswith("recording could not be decoded")
        failed = FailedJobRegistry("hotline-transcription", connection=context.redis)
        assert failed.get_job_ids() == [f"transcribe-{sid}"]
        assert Job.fetch(f"transcribe-{sid}", connection=context.redis).retries_left == 0  # no crash loop
    finally:
        served.close()


def test_a_recording_host_outside_the_allowed_list_is_never_contacted(context: Any) -> None:
    sid, rec = call_sid(), recording_sid()
    install(replace(context, settings=context.settings.model_copy(update={"recording_hosts": ("api.twilio.com",)})))
    context.recordings._allowed = ("api.twilio.com",)
    promise_fetch(context, sid, rec, f"http://127.0.0.1:9/2010-04-01/Accounts/x/Recordings/{rec}")
    run_jobs(context)
    call = load_call(context, sid)
    assert call.pipeline_state == "failed" and "HOTLINE_RECORDING_HOSTS" in (call.failure_reason or "")
    assert FailedJobRegistry("hotline", connection=context.redis).get_job_ids() == [f"fetch-recording-{sid}"]


def test_two_channel_recordings_are_transcribed_per_speaker_in_time_order(context: Any) -> None:
    caller = decode_audio((AUDIO / "zeroth_0294.ulaw8k.wav").read_bytes()).mono()
    agent = decode_audio((AUDIO / "zeroth_0352.ulaw8k.wav").read_bytes()).mono()
    silence_c, silence_a = np.zeros(len(agent) + 16000, np.float32), np.zeros(len(caller) + 16000, np.float32)
    left = np.concatenate([caller, silence_c])  # the caller speaks first ...
    right = np.concatenate([silence_a, agent])  # ... then the agent answers
    stereo = np.stack([left, right[: len(left)]], axis=1)
    audio = decode_audio(wav_bytes(stereo, 16000))
    assert len(audio.channels) == 2
    result = transcribe_audio(context.speech_engine(), audio)
    speakers = [turn.speaker for turn in result.turns]
    assert speakers[0] == "caller" and "agent" in speakers
    assert result.text.startswith("고객:") and "상담원:" in result.text
    assert set(result.words) == {"caller", "agent"}


def test_the_speech_engine_loads_once_per_process(context: Any) -> None:
    assert context.speech_engine() is context.speech_engine()


def test_each_redis_stand_in_is_its_own(sqlite_settings: Settings) -> None:
    # No module state: a stand-in is shared only by handing its client on (the gateway to its embedded worker).
    one, two = connect_redis(sqlite_settings), connect_redis(sqlite_settings)
    one.set("hotline-test", "1")
    assert one.get("hotline-test") == b"1" and two.get("hotline-test") is None
