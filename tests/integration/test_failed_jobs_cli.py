"""Failed jobs are visible and can be requeued: `hotline jobs failed` and `hotline jobs requeue`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.registry import FailedJobRegistry
from sqlmodel import Session

from crm_store.calls.tables import Call, Recording
from crm_store.migrate import upgrade
from tests.processes import HOTLINE, ROOT, hotline_env
from tests.twilio_helpers import call_sid, recording_sid
from workers.context import build_context, install
from workers.queueing import ALL_QUEUES, TRANSCRIBE, relay_outbox
from workers.settings import Settings


@pytest.mark.integration
def test_a_failed_transcription_is_listed_with_its_reason_and_can_be_requeued(redis_url: str, tmp_path: Path) -> None:
    env = {"HOTLINE_DATA_DIR": str(tmp_path), "REDIS_URL": redis_url, "HOTLINE_JOB_RETRIES": "2"}
    settings = Settings.from_env(env)
    upgrade(settings.sync_db_url)
    context = build_context(settings)
    install(context)
    sid, rec = call_sid(), recording_sid()
    with Session(context.engine) as session:
        session.add(Call(call_sid=sid, recording_sid=rec, pipeline_state="recording_fetched"))
        session.add(Recording(call_sid=sid, recording_sid=rec, content_type="audio/x-wav", audio=b"RIFF....", size=8))
        session.add(TRANSCRIBE.promise(sid))
        session.commit()
    relay_outbox(context.engine, context.redis, settings)
    queues = [Queue(name, connection=context.redis) for name in ALL_QUEUES]
    SimpleWorker(queues, connection=context.redis).work(burst=True)
    context.close()

    cli_env = hotline_env(**env)
    listed = subprocess.run([*HOTLINE, "jobs", "failed"], env=cli_env, cwd=ROOT, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["job_id"] == f"transcribe-{sid}" and row["call_sid"] == sid
    assert "could not be decoded" in row["error"]

    requeued = subprocess.run([*HOTLINE, "jobs", "requeue"], env=cli_env, cwd=ROOT, capture_output=True, text=True)
    assert requeued.returncode == 0 and "requeued 1 job" in requeued.stdout
    redis = Queue("hotline-transcription", connection=Redis.from_url(redis_url))
    assert redis.job_ids == [f"transcribe-{sid}"]
    assert FailedJobRegistry("hotline-transcription", connection=redis.connection).count == 0
