"""The fetch-recording job against hostile or failing recording servers (real local HTTP servers, short limits):
what retrying cannot mend fails the call at once, with no second download; the rest is retried, and after the
last retry the call is failed with the reason, never left waiting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlmodel import Session, select

from crm_store.calls.tables import Call, OutboxJob
from telephony.recordings import RecordingClient
from tests.recording_servers import LocalServer, announce, drip, flood, status
from tests.twilio_helpers import call_sid, recording_sid
from tests.unit.workers.test_jobs import load_call, run_jobs
from workers.queueing import ALL_QUEUES, FETCH_RECORDING, relay_outbox


@pytest.fixture
def strict(context: Any) -> Iterator[Any]:
    """The worker context with short limits: 1,000 bytes, a one-second deadline (one retry: HOTLINE_JOB_RETRIES=1)."""
    settings = context.settings
    context.recordings = RecordingClient(
        settings.twilio_account_sid, settings.twilio_auth_token, settings.recording_hosts, max_bytes=1000,
        timeout=5, deadline=1.0,
    )  # fmt: skip
    assert settings.job_retries == 1
    yield context


def promise_fetch_from(ctx: Any, server: LocalServer) -> str:
    """A call whose completed recording is on `server`, its fetch promised and relayed to the queue."""
    sid, rec = call_sid(), recording_sid()
    with Session(ctx.engine) as session:
        url = server.url(f"/2010-04-01/Accounts/{ctx.settings.twilio_account_sid}/Recordings/{rec}")
        session.add(Call(call_sid=sid, recording_sid=rec, recording_url=url, pipeline_state="recording_ready"))
        session.add(FETCH_RECORDING.promise(sid))
        session.commit()
    relay_outbox(ctx.engine, ctx.redis, ctx.settings)
    return sid


def fetch_from(ctx: Any, server: LocalServer) -> str:
    """As promise_fetch_from, and every job run."""
    sid = promise_fetch_from(ctx, server)
    run_jobs(ctx)
    return sid


def failed_for_good(ctx: Any, sid: str) -> Call:
    call = load_call(ctx, sid)
    assert call.pipeline_state == "failed", (call.pipeline_state, call.failure_reason)
    job_id = f"fetch-recording-{sid}"
    assert FailedJobRegistry("hotline", connection=ctx.redis).get_job_ids() == [job_id]
    assert Job.fetch(job_id, connection=ctx.redis).retries_left == 0
    with Session(ctx.engine) as session:  # nothing further was promised
        assert [job.job_id for job in session.exec(select(OutboxJob)).all()] == [job_id]
    return call


def test_a_redirect_fails_the_call_at_once_and_is_not_followed(strict: Any) -> None:
    with LocalServer(status(200, "OK"), host="127.0.0.2") as elsewhere:
        with LocalServer(status(301, "Moved Permanently", {"Location": elsewhere.url()})) as twilio:
            sid = fetch_from(strict, twilio)
            assert len(twilio.requests) == 1  # not retried
        assert elsewhere.requests == []
    assert "redirect" in (failed_for_good(strict, sid).failure_reason or "")


@pytest.mark.parametrize("answer", [announce(10**9), flood(20_000)], ids=["announced", "unannounced"])
def test_an_oversized_recording_fails_the_call_at_once_without_a_second_download(strict: Any, answer: Any) -> None:
    with LocalServer(answer) as twilio:
        sid = fetch_from(strict, twilio)
        assert len(twilio.requests) == 1
    assert "1000 byte limit" in (failed_for_good(strict, sid).failure_reason or "")


def test_after_the_last_retry_the_call_is_failed_with_the_reason(strict: Any) -> None:
    with LocalServer(status(502, "Bad Gateway")) as twilio:
        sid = promise_fetch_from(strict, twilio)
        queues = [Queue(name, connection=strict.redis) for name in ALL_QUEUES]
        SimpleWorker(queues, connection=strict.redis).work(burst=True, max_jobs=1)
        waiting = load_call(strict, sid)  # a retry is coming: the call waits, and says why
        assert waiting.pipeline_state == "recording_ready"
        assert "HTTP 502" in (waiting.failure_reason or "") and "will retry" in (waiting.failure_reason or "")
        run_jobs(strict)
        assert len(twilio.requests) == 2  # the attempt and its one retry
    reason = failed_for_good(strict, sid).failure_reason or ""
    assert "HTTP 502" in reason and "no retries left" in reason


def test_a_slow_drip_is_cut_by_the_deadline_retried_then_failed(strict: Any) -> None:
    with LocalServer(drip(b"x" * 900, 0.2)) as twilio:
        sid = fetch_from(strict, twilio)
        assert len(twilio.requests) == 2
    assert "1 s deadline" in (failed_for_good(strict, sid).failure_reason or "")
