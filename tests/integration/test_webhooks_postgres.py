"""Signed webhooks through the gateway onto PostgreSQL: whatever Twilio (or whoever holds its token) sends and
we acknowledge is stored, whatever its lengths and bytes; a replay is stored once and answered the same."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlmodel import Session, select

from crm_store.calls.tables import Call, CallEvent
from crm_store.db import make_engine
from gateway.app import create_app
from tests.twilio_helpers import call_params, call_sid, post_signed, recording_sid, signed_headers
from workers.settings import Settings

pytestmark = pytest.mark.integration
LONG_TOKEN = "t" * 300
THIRTY_DIGITS = "9" * 30
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def pg_settings(postgres_url: str, tmp_path: Any) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": postgres_url,
            "HOTLINE_DATA_DIR": str(tmp_path),
            "HOTLINE_RECORDING_HOSTS": "api.twilio.com,127.0.0.1",
        }
    )


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Any]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
async def client(aiohttp_client: Any, pg_settings: Settings) -> Any:
    return await aiohttp_client(create_app(pg_settings, embedded_worker=False))


def the_call(engine: Any, sid: str) -> Call:
    with Session(engine) as session:
        return session.exec(select(Call).where(Call.call_sid == sid)).one()


def events(engine: Any, sid: str) -> list[CallEvent]:
    with Session(engine) as session:
        return list(session.exec(select(CallEvent).where(CallEvent.call_sid == sid).order_by(CallEvent.id)).all())


def recording_params(settings: Settings, sid: str, rec: str, url: str) -> dict[str, str]:
    return {
        "AccountSid": settings.twilio_account_sid,
        "CallSid": sid,
        "RecordingSid": rec,
        "RecordingUrl": url,
        "RecordingStatus": "completed",
        "RecordingDuration": "9",
        "RecordingChannels": "1",
    }


async def test_trunking_direction_is_stored(client: Any, pg_settings: Settings, pg_engine: Any) -> None:
    sid = call_sid()
    params = call_params(pg_settings, sid, Direction="trunking-originating")
    answer = await post_signed(client, pg_settings, "/twilio/voice", params)
    assert answer.status == 200 and "<Record" in await answer.text()  # the real answer, not the fallback
    assert the_call(pg_engine, sid).direction == "trunking-originating"
    assert [e.payload["Direction"] for e in events(pg_engine, sid)] == ["trunking-originating"]


async def test_long_idempotency_token_is_stored(client: Any, pg_settings: Settings, pg_engine: Any) -> None:
    sid = call_sid()
    headers = {"I-Twilio-Idempotency-Token": LONG_TOKEN}
    answer = await post_signed(client, pg_settings, "/twilio/voice", call_params(pg_settings, sid), **headers)
    assert answer.status == 200 and "<Record" in await answer.text()
    assert the_call(pg_engine, sid).status == "ringing"
    status = call_params(pg_settings, sid, status="completed", CallDuration="7")  # no SequenceNumber
    assert (await post_signed(client, pg_settings, "/twilio/status", status, **headers)).status == 204
    assert the_call(pg_engine, sid).duration == 7
    assert [e.kind for e in events(pg_engine, sid)] == ["voice", "status"]


async def test_nul_and_other_odd_characters_are_cleaned_not_refused(
    client: Any, pg_settings: Settings, pg_engine: Any
) -> None:
    sid = call_sid()
    params = call_params(pg_settings, sid, caller="+8210\x001234\x005678")
    params["Caller\x00Name"] = "x\x00y"
    params["StirVerstat"] = "é\u2028\x7f\x01"  # not refused by PostgreSQL: kept as sent
    headers = {**signed_headers(pg_settings, "/twilio/voice", params), "Content-Type": FORM}
    answer = await client.post("/twilio/voice", data=urlencode(params), headers=headers)
    assert answer.status == 200 and "<Record" in await answer.text()
    call = the_call(pg_engine, sid)
    assert call.from_number is not None and "\x00" not in call.from_number
    assert call.from_number.replace("\ufffd", "") == "+821012345678"
    (event,) = events(pg_engine, sid)
    assert event.payload["From"] == call.from_number
    assert event.payload["Caller\ufffdName"] == "x\ufffdy"
    assert event.payload["StirVerstat"] == "é\u2028\x7f\x01"
    # The same NUL in the other webhooks
    status = call_params(pg_settings, sid, status="completed", SequenceNumber="3", To="\x00")
    assert (await post_signed(client, pg_settings, "/twilio/status", status)).status == 204
    gather = call_params(pg_settings, sid, status="in-progress", SpeechResult="보험\x00금")
    assert (await post_signed(client, pg_settings, "/twilio/gather", gather)).status == 200
    done = call_params(pg_settings, sid, status="in-progress", RecordingSid=recording_sid(), Note="\x00")
    assert (await post_signed(client, pg_settings, "/twilio/record-done", done)).status == 200
    assert [e.kind for e in events(pg_engine, sid)] == ["voice", "status", "gather", "record-done"]
    assert events(pg_engine, sid)[2].payload["SpeechResult"] == "보험\ufffd금"


async def test_long_values_in_every_stored_field_are_stored(client: Any, pg_settings: Settings, pg_engine: Any) -> None:
    sid = call_sid()
    sip = "sip:" + "a" * 300 + "@hotline.sip.twilio.com"
    params = call_params(pg_settings, sid, caller=sip, To=sip, Direction="d" * 4000, ForwardedFrom="f" * 4000)
    answer = await post_signed(client, pg_settings, "/twilio/voice", params)
    assert answer.status == 200 and "<Record" in await answer.text()
    call = the_call(pg_engine, sid)
    assert call.from_number == sip and call.to_number == sip and call.direction == "d" * 4000
    status = call_params(pg_settings, sid, status="completed", SequenceNumber="2", Direction="e" * 4000)
    assert (await post_signed(client, pg_settings, "/twilio/status", status)).status == 204
    assert len(events(pg_engine, sid)) == 2


async def test_long_recording_url_is_stored(client: Any, pg_settings: Settings, pg_engine: Any) -> None:
    sid, rec = call_sid(), recording_sid()
    url = f"https://api.twilio.com/2010-04-01/Accounts/{pg_settings.twilio_account_sid}/Recordings/{rec}?"
    url += "x" * (600 - len(url))
    params = recording_params(pg_settings, sid, rec, url)
    answer = await post_signed(client, pg_settings, "/twilio/recording", params)
    assert answer.status == 204, await answer.text()
    call = the_call(pg_engine, sid)
    assert call.recording_url == url and call.pipeline_state == "recording_ready"


async def test_thirty_digit_numbers_keep_the_callback(client: Any, pg_settings: Settings, pg_engine: Any) -> None:
    """Out of any column's range: the callback is stored with the number cleared (its raw value in the payload)."""
    sid = call_sid()
    completed = call_params(pg_settings, sid, status="completed", SequenceNumber=THIRTY_DIGITS, CallDuration="12")
    assert (await post_signed(client, pg_settings, "/twilio/status", completed)).status == 204
    long_call = call_params(pg_settings, sid, status="completed", SequenceNumber="4", CallDuration=THIRTY_DIGITS)
    assert (await post_signed(client, pg_settings, "/twilio/status", long_call)).status == 204
    rec = recording_sid()
    url = f"https://api.twilio.com/2010-04-01/Accounts/{pg_settings.twilio_account_sid}/Recordings/{rec}"
    recording = {**recording_params(pg_settings, sid, rec, url), "RecordingDuration": THIRTY_DIGITS}
    assert (await post_signed(client, pg_settings, "/twilio/recording", recording)).status == 204
    call = the_call(pg_engine, sid)
    assert call.status == "completed" and call.duration == 12 and call.recording_duration is None
    stored = events(pg_engine, sid)
    assert [e.sequence_number for e in stored] == [None, 4, None]
    assert stored[0].payload["SequenceNumber"] == THIRTY_DIGITS
    assert stored[1].payload["CallDuration"] == THIRTY_DIGITS
    assert stored[2].payload["RecordingDuration"] == THIRTY_DIGITS


async def test_timestamps_without_a_zone_or_past_year_9999_keep_the_callback(
    client: Any, pg_settings: Settings, pg_engine: Any
) -> None:
    sid = call_sid()
    initiated = call_params(pg_settings, sid, status="initiated", SequenceNumber="0")
    initiated["Timestamp"] = "Wed, 25 Nov 2026 11:00:00 -0000"  # RFC 2822: UTC, local zone unknown
    assert (await post_signed(client, pg_settings, "/twilio/status", initiated)).status == 204
    completed = call_params(pg_settings, sid, status="completed", SequenceNumber="3", CallDuration="5")
    completed["Timestamp"] = "Fri, 31 Dec 9999 23:59:59 -1200"  # past what a datetime holds in UTC
    assert (await post_signed(client, pg_settings, "/twilio/status", completed)).status == 204
    call = the_call(pg_engine, sid)
    assert call.started_at is not None and call.started_at.isoformat() == "2026-11-25T11:00:00+00:00"
    assert call.status == "completed" and call.ended_at is not None and call.duration == 5


async def test_replays_are_stored_once_and_answered_the_same(
    client: Any, pg_settings: Settings, pg_engine: Any
) -> None:
    sid, rec = call_sid(), recording_sid()
    url = f"https://api.twilio.com/2010-04-01/Accounts/{pg_settings.twilio_account_sid}/Recordings/{rec}"
    webhooks = [
        ("/twilio/voice", call_params(pg_settings, sid)),
        ("/twilio/gather", call_params(pg_settings, sid, status="in-progress", Digits="1")),
        ("/twilio/status", call_params(pg_settings, sid, status="in-progress")),  # no SequenceNumber
        ("/twilio/record-done", call_params(pg_settings, sid, status="in-progress", RecordingSid=rec)),
        ("/twilio/recording", recording_params(pg_settings, sid, rec, url)),
    ]
    for path, params in webhooks:
        first = await post_signed(client, pg_settings, path, params)  # a fresh idempotency token each time
        replay = await post_signed(client, pg_settings, path, params)
        bare = await post_signed(client, pg_settings, path, params, **{"I-Twilio-Idempotency-Token": ""})
        assert first.status == replay.status == bare.status and first.status in (200, 204), path
        assert await first.text() == await replay.text() == await bare.text(), path
    assert [e.kind for e in events(pg_engine, sid)] == ["voice", "gather", "status", "record-done", "recording"]
