"""The Twilio webhooks on embedded defaults (SQLite, in-process queue): verify, store once, answer."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, func, select

from crm_store.calls.tables import Call, CallEvent, OutboxJob
from crm_store.customers.tables import Customer, CustomerPhone
from crm_store.db import session_scope
from gateway.app import create_app
from tests.twilio_helpers import call_params, call_sid, post_signed, recording_sid, signed_headers
from workers.settings import Settings


@pytest.fixture
def customer_id(engine: Any) -> int:
    from crm_store.org.tables import OrgUnit

    with session_scope(engine) as session:
        unit = OrgUnit(code="HQ", name="본사", level=0, path="/1/")
        session.add(unit)
        session.flush()
        customer = Customer(kind="individual", name="김민준", org_unit_id=unit.id, segment="quality")
        session.add(customer)
        session.flush()
        session.add(CustomerPhone(customer_id=customer.id, e164="+821012345678"))
        return int(customer.id)  # type: ignore[arg-type]


@pytest.fixture
async def client(aiohttp_client: Any, sqlite_settings: Settings) -> Any:
    return await aiohttp_client(create_app(sqlite_settings, embedded_worker=False))


def count(engine: Any, model: type, **where: Any) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(session.exec(query).one())


def the_call(engine: Any, sid: str) -> Call:
    with Session(engine) as session:
        return session.exec(select(Call).where(Call.call_sid == sid)).one()


async def test_incoming_call_answers_korean_twiml_and_links_the_caller(
    client: Any, sqlite_settings: Settings, engine: Any, customer_id: int
) -> None:
    sid = call_sid()
    answer = await post_signed(client, sqlite_settings, "/twilio/voice", call_params(sqlite_settings, sid))
    assert answer.status == 200
    assert answer.content_type == "text/xml"
    body = await answer.text()
    assert body.startswith("<?xml")
    assert 'language="ko-KR"' in body and "<Record" in body
    assert 'recordingStatusCallback="http://127.0.0.1:8080/twilio/recording"' in body
    assert "우선 연결" in body  # a quality customer is greeted for the priority line
    call = the_call(engine, sid)
    assert call.customer_id == customer_id
    assert call.from_number == "+821012345678"
    assert call.status == "ringing"


async def test_unknown_caller_is_answered_and_stored_without_customer(
    client: Any, sqlite_settings: Settings, engine: Any
) -> None:
    sid = call_sid()
    params = call_params(sqlite_settings, sid, caller="anonymous")
    answer = await post_signed(client, sqlite_settings, "/twilio/voice", params)
    assert answer.status == 200
    assert the_call(engine, sid).customer_id is None


@pytest.mark.parametrize("path", ["/twilio/voice", "/twilio/status", "/twilio/recording", "/twilio/gather"])
async def test_forged_or_missing_signature_is_refused_and_changes_nothing(
    client: Any, sqlite_settings: Settings, engine: Any, path: str
) -> None:
    sid = call_sid()
    params = call_params(sqlite_settings, sid, SequenceNumber="0")
    forged = signed_headers(sqlite_settings, path, {**params, "From": "+821000000000"})
    answer = await client.post(path, data=params, headers=forged)
    assert answer.status == 403
    answer = await client.post(path, data=params)
    assert answer.status == 403
    # signed for another URL (a rewrite adding a slash breaks it, as on Twilio's side)
    answer = await client.post(path, data=params, headers=signed_headers(sqlite_settings, path + "/", params))
    assert answer.status == 403
    assert count(engine, Call) == 0
    assert count(engine, CallEvent) == 0


async def test_signature_is_checked_against_the_public_url_not_the_socket(
    aiohttp_client: Any, sqlite_settings: Settings, engine: Any
) -> None:

    settings = sqlite_settings.model_copy(update={"public_base_url": "https://hotline.example.co.kr"})
    client = await aiohttp_client(create_app(settings, embedded_worker=False))
    params = call_params(settings, call_sid())
    assert (await post_signed(client, settings, "/twilio/voice", params)).status == 200
    # the same body signed over the local address is refused
    assert (await post_signed(client, sqlite_settings, "/twilio/voice", params)).status == 403


async def test_malformed_bodies_get_4xx_and_change_nothing(client: Any, sqlite_settings: Settings, engine: Any) -> None:
    sid = call_sid()
    for params in (
        {k: v for k, v in call_params(sqlite_settings, sid).items() if k != "CallSid"},
        call_params(sqlite_settings, "CA123"),
        call_params(sqlite_settings, sid, status="exploded"),
    ):
        answer = await post_signed(client, sqlite_settings, "/twilio/voice", params)
        assert answer.status == 400, await answer.text()
    params = call_params(sqlite_settings, sid, SequenceNumber="minus one")
    assert (await post_signed(client, sqlite_settings, "/twilio/status", params)).status == 400
    json_body = await client.post(
        "/twilio/voice", json={"CallSid": sid}, headers=signed_headers(sqlite_settings, "/twilio/voice", {})
    )
    assert json_body.status == 415
    huge = call_params(sqlite_settings, sid, Padding="x" * 70_000)
    assert (await post_signed(client, sqlite_settings, "/twilio/voice", huge)).status == 413
    assert count(engine, Call) == 0
    assert count(engine, CallEvent) == 0


async def test_unknown_fields_are_accepted(client: Any, sqlite_settings: Settings, engine: Any) -> None:
    sid = call_sid()
    params = call_params(sqlite_settings, sid, StirVerstat="TN-Validation-Passed-A", BrandNewTwilioField="42")
    assert (await post_signed(client, sqlite_settings, "/twilio/voice", params)).status == 200
    assert count(engine, CallEvent, call_sid=sid) == 1


def status_params(settings: Settings, sid: str, status: str, seq: int, **extra: str) -> dict[str, str]:
    return call_params(
        settings,
        sid,
        status=status,
        SequenceNumber=str(seq),
        CallbackSource="call-progress-events",
        Timestamp=f"Wed, 25 Nov 2026 11:00:0{seq} +0000",
        **extra,
    )


async def test_duplicate_and_reordered_status_callbacks_are_stored_once_in_sequence_order(
    client: Any, sqlite_settings: Settings, engine: Any
) -> None:
    sid = call_sid()
    completed = status_params(sqlite_settings, sid, "completed", 3, CallDuration="42", Duration="1")
    ringing = status_params(sqlite_settings, sid, "ringing", 1)
    answered = status_params(sqlite_settings, sid, "in-progress", 2)
    initiated = status_params(sqlite_settings, sid, "initiated", 0)
    for params in (completed, ringing, completed, answered, initiated, ringing):
        answer = await post_signed(client, sqlite_settings, "/twilio/status", params)
        assert answer.status == 204
    assert count(engine, CallEvent, call_sid=sid) == 4
    call = the_call(engine, sid)
    assert call.status == "completed"
    assert call.duration == 42
    assert call.status_sequence == 3
    assert call.ended_at is not None and call.started_at is not None


async def test_callbacks_for_an_unknown_call_are_kept(client: Any, sqlite_settings: Settings, engine: Any) -> None:
    sid = call_sid()
    answer = await post_signed(
        client, sqlite_settings, "/twilio/status", status_params(sqlite_settings, sid, "completed", 3)
    )
    assert answer.status == 204
    assert count(engine, CallEvent, call_sid=sid) == 1
    assert the_call(engine, sid).status == "completed"


def recording_params(settings: Settings, sid: str, rec: str, url: str, status: str = "completed") -> dict[str, str]:
    return {
        "AccountSid": settings.twilio_account_sid,
        "CallSid": sid,
        "RecordingSid": rec,
        "RecordingUrl": url,
        "RecordingStatus": status,
        "RecordingDuration": "9",
        "RecordingChannels": "1",
        "RecordingSource": "RecordVerb",
        "ErrorCode": "0",
    }


async def test_completed_recording_promises_one_fetch_job(client: Any, sqlite_settings: Settings, engine: Any) -> None:
    sid, rec = call_sid(), recording_sid()
    url = f"https://api.twilio.com/2010-04-01/Accounts/{sqlite_settings.twilio_account_sid}/Recordings/{rec}"
    params = recording_params(sqlite_settings, sid, rec, url)
    for _ in range(3):  # at-least-once delivery
        assert (await post_signed(client, sqlite_settings, "/twilio/recording", params)).status == 204
    call = the_call(engine, sid)
    assert call.pipeline_state == "recording_ready" and call.recording_sid == rec
    with Session(engine) as session:
        jobs = session.exec(select(OutboxJob)).all()
    assert [job.job_id for job in jobs] == [f"fetch-recording-{sid}"]


async def test_recording_outside_allowed_hosts_is_refused_and_logged(
    client: Any, sqlite_settings: Settings, engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sid, rec = call_sid(), recording_sid()
    params = recording_params(sqlite_settings, sid, rec, f"https://evil.example.com/Recordings/{rec}")
    answer = await post_signed(client, sqlite_settings, "/twilio/recording", params)
    assert answer.status == 400
    assert "HOTLINE_RECORDING_HOSTS" in await answer.text()
    assert "refused recording" in caplog.text
    call = the_call(engine, sid)
    assert call.pipeline_state == "failed" and "HOTLINE_RECORDING_HOSTS" in (call.failure_reason or "")
    assert count(engine, OutboxJob) == 0
    assert count(engine, CallEvent, call_sid=sid) == 1  # kept as evidence


async def test_redis_down_the_caller_still_gets_twiml_and_the_work_waits_in_the_outbox(
    aiohttp_client: Any, sqlite_settings: Settings, engine: Any, unused_tcp_port: int
) -> None:

    settings = sqlite_settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{unused_tcp_port}/0", "outbox_interval": 0.2}
    )
    client = await aiohttp_client(create_app(settings, embedded_worker=False))
    sid, rec = call_sid(), recording_sid()
    answer = await post_signed(client, settings, "/twilio/voice", call_params(settings, sid))
    assert answer.status == 200 and "<Record" in await answer.text()
    url = f"https://api.twilio.com/2010-04-01/Accounts/{settings.twilio_account_sid}/Recordings/{rec}"
    assert (
        await post_signed(client, settings, "/twilio/recording", recording_params(settings, sid, rec, url))
    ).status == 204
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json())["checks"]["queue"].startswith("error")
    with Session(engine) as session:
        job = session.exec(select(OutboxJob)).one()
    assert job.enqueued_at is None


async def test_metrics_and_health(client: Any, sqlite_settings: Settings) -> None:
    await post_signed(client, sqlite_settings, "/twilio/voice", call_params(sqlite_settings, call_sid()))
    health = await client.get("/healthz")
    assert health.status == 200
    assert (await health.json())["checks"] == {"database": "ok", "queue": "ok"}
    metrics = await (await client.get("/metrics")).text()
    assert 'hotline_webhooks_total{endpoint="voice",outcome="ok"} 1.0' in metrics
    assert "hotline_outbox_pending" in metrics


async def test_a_replay_is_one_event_whatever_its_idempotency_header(
    client: Any, sqlite_settings: Settings, engine: Any
) -> None:
    """The header is not signed: dedup keys come from what Twilio signed, never from the header or the clock."""
    sid = call_sid()
    for path, params in (
        ("/twilio/voice", call_params(sqlite_settings, sid)),
        ("/twilio/gather", call_params(sqlite_settings, sid, status="in-progress", SpeechResult="사고 접수")),
        ("/twilio/status", call_params(sqlite_settings, sid, status="in-progress")),
    ):
        answers = [
            await post_signed(client, sqlite_settings, path, params, **{"I-Twilio-Idempotency-Token": token})
            for token in ("a", "b", "")
        ]
        assert len({(a.status, await a.text()) for a in answers}) == 1, path
    assert count(engine, CallEvent, call_sid=sid) == 3
    # Another answer in the same call is another event (and the same answer asked again, from an action URL
    # that says which question it answers: the URL is signed too).
    other = call_params(sqlite_settings, sid, status="in-progress", Digits="2")
    assert (await post_signed(client, sqlite_settings, "/twilio/gather", other)).status == 200
    assert (await post_signed(client, sqlite_settings, "/twilio/gather?attempt=2", other)).status == 200
    assert count(engine, CallEvent, call_sid=sid, kind="gather") == 3


async def test_thirty_digit_counts_keep_the_callback_with_the_count_cleared(
    client: Any, sqlite_settings: Settings, engine: Any
) -> None:
    sid = call_sid()
    huge = "9" * 30
    params = status_params(sqlite_settings, sid, "completed", 3, CallDuration=huge)
    assert (await post_signed(client, sqlite_settings, "/twilio/status", params)).status == 204
    params = {**status_params(sqlite_settings, sid, "completed", 4, CallDuration="8"), "SequenceNumber": huge}
    assert (await post_signed(client, sqlite_settings, "/twilio/status", params)).status == 204
    call = the_call(engine, sid)
    assert call.status == "completed" and call.duration == 8
    with Session(engine) as session:
        stored = session.exec(select(CallEvent).where(CallEvent.call_sid == sid).order_by(CallEvent.id)).all()
    assert [e.sequence_number for e in stored] == [3, None]
    assert stored[0].payload["CallDuration"] == huge and stored[1].payload["SequenceNumber"] == huge
    for bad in ("-1", "٣", "1_000", " 7"):  # what Twilio never sends as a count is refused, not guessed
        params = status_params(sqlite_settings, sid, "completed", 5, CallDuration=bad)
        assert (await post_signed(client, sqlite_settings, "/twilio/status", params)).status == 400, bad


def test_what_the_webhooks_accept_fits_the_columns_that_store_it() -> None:
    """Validation and the database agree: every value a webhook may carry into a column fits it (free text has no
    length limit in the column; identifiers, statuses and keys are no longer than their columns)."""
    from telephony.webhooks import CALL_STATUSES, MAX_STORED_INT, delivery_key

    def length(model: type, name: str) -> int | None:
        return getattr(model.__table__.c[name].type, "length", None)  # type: ignore[attr-defined]

    for name in ("from_number", "to_number", "direction", "recording_url"):
        assert length(Call, name) is None, name  # as long as Twilio sends it (up to MAX_FIELD_LENGTH)
    for name in ("call_sid", "account_sid", "recording_sid"):
        assert length(Call, name) == 34, name  # CA/AC/RE + 32 hex, checked by the parser
    assert max(map(len, CALL_STATUSES)) <= (length(Call, "status") or 0)
    longest_key = delivery_key("record-done", "CA" + "0" * 32, "/twilio/record-done?" + "q" * 4000, {"x": "y" * 4000})
    assert len(longest_key) <= (length(CallEvent, "dedup_key") or 0)
    assert len(f"recording:RE{'0' * 32}:in-progress") <= (length(CallEvent, "dedup_key") or 0)
    assert len(f"status:CA{'0' * 32}:{MAX_STORED_INT}") <= (length(CallEvent, "dedup_key") or 0)
    assert MAX_STORED_INT == 2**31 - 1  # Call.duration, status_sequence and CallEvent.sequence_number: integer
