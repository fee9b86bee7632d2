"""The calls API: bearer tokens, one call, pages of calls, JSON errors."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from crm_store.audit import AuditEntry
from crm_store.calls.tables import Call
from crm_store.customers.identity import token_hash
from crm_store.customers.tables import Customer
from crm_store.db import make_engine, session_scope
from crm_store.org.staff import issue_token
from crm_store.org.tables import ApiToken, OrgUnit, Staff
from gateway.api import CALL_RECORD_FIELDS, CALL_RECORD_PURPOSE
from gateway.app import create_app
from gateway.keys import TOKEN_CACHE
from gateway.token_cache import TOKEN_TTL
from tests.twilio_helpers import call_sid
from workers.settings import Settings


@pytest.fixture
def seeded(sqlite_settings: Settings) -> dict[str, Any]:
    engine = make_engine(sqlite_settings.sync_db_url)
    sids = [call_sid() for _ in range(5)]
    with session_scope(engine) as session:
        unit = OrgUnit(code="HQ", name="본사", level=0, path="/1/")
        session.add(unit)
        session.flush()
        session.add(Staff(username="admin", full_name="관리자", role="admin", org_unit_id=unit.id, clearance=5))
        session.add(Staff(username="gone", full_name="퇴사자", role="agent", org_unit_id=unit.id, active=False))
        for sid in sids:
            session.add(
                Call(
                    call_sid=sid,
                    status="completed",
                    from_number="+821012345678",
                    to_number="+8215881234",
                    transcript="제 전화번호는 [전화번호] 입니다",
                    transcript_raw="제 전화번호는 010-1234-5678 입니다",
                    type="inquiry",
                    topic="inquiry.coverage",
                    started_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
                    ended_at=datetime(2026, 11, 25, 9, 3, tzinfo=UTC),
                    duration=180,
                    pipeline_state="classified",
                )
            )
    with session_scope(engine) as session:
        token = issue_token(session, username="admin")
    engine.dispose()
    return {"token": token, "sids": sids}


@pytest.fixture
async def client(aiohttp_client: Any, sqlite_settings: Settings) -> Any:
    return await aiohttp_client(create_app(sqlite_settings, embedded_worker=False))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_call_has_the_fixed_fields_and_only_the_redacted_transcript(client: Any, seeded: dict) -> None:
    sid = seeded["sids"][0]
    answer = await client.get(f"/api/v1/calls/{sid}", headers=auth(seeded["token"]))
    assert answer.status == 200
    body = await answer.json()
    for field in (
        "call_sid",
        "status",
        "from",
        "to",
        "customer_id",
        "type",
        "topic",
        "transcript",
        "started_at",
        "ended_at",
        "duration",
    ):
        assert field in body
    assert body["call_sid"] == sid and body["from"] == "+821012345678" and body["duration"] == 180
    assert body["started_at"] == "2026-11-25T09:00:00+00:00"
    assert "010-1234-5678" not in await answer.text()


async def test_calls_are_paged_newest_first(client: Any, seeded: dict) -> None:
    seen: list[str] = []
    url = "/api/v1/calls?limit=2"
    while url:
        body = await (await client.get(url, headers=auth(seeded["token"]))).json()
        seen += [item["call_sid"] for item in body["items"]]
        url = body["next"]
    assert seen == list(reversed(seeded["sids"]))


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=ten", "before=-1"])
async def test_invalid_paging_parameters_are_a_json_400(client: Any, seeded: dict, query: str) -> None:
    answer = await client.get(f"/api/v1/calls?{query}", headers=auth(seeded["token"]))
    assert answer.status == 400
    assert "error" in await answer.json()


async def test_unknown_call_is_a_json_404(client: Any, seeded: dict) -> None:
    answer = await client.get(f"/api/v1/calls/{call_sid()}", headers=auth(seeded["token"]))
    assert answer.status == 404
    assert answer.content_type == "application/json"


@pytest.mark.parametrize("header", [None, "Bearer", "Basic YWRtaW46YWRtaW4=", "Bearer hl_not-a-real-token"])
async def test_without_a_valid_token_the_api_answers_401(client: Any, seeded: dict, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    answer = await client.get(f"/api/v1/calls/{seeded['sids'][0]}", headers=headers)
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error" in await answer.json()


async def test_revoked_tokens_and_inactive_staff_are_refused(
    client: Any, seeded: dict, sqlite_settings: Settings
) -> None:
    engine = make_engine(sqlite_settings.sync_db_url)
    with session_scope(engine) as session:
        gone_token = issue_token(session, username="admin")
        gone = session.exec(select(Staff).where(Staff.username == "gone")).one()
        session.add(ApiToken(staff_id=gone.id, token_hash=token_hash("hl_x")))
    assert (await client.get("/api/v1/calls", headers=auth(gone_token))).status == 200
    # Revoked behind the gateway's back (in the database): refused once the token cache entry expires.
    client.app[TOKEN_CACHE].clock = lambda: time.monotonic() + TOKEN_TTL + 1
    with session_scope(engine) as session:
        for token in session.exec(select(ApiToken)).all():
            token.revoked_at = datetime.now(UTC)
            session.add(token)
    engine.dispose()
    assert (await client.get("/api/v1/calls", headers=auth(gone_token))).status == 401
    assert (await client.get("/api/v1/calls", headers=auth("hl_x"))).status == 401


async def test_openapi_document_is_public_and_describes_calls(client: Any) -> None:
    answer = await client.get("/api/v1/openapi.json")
    assert answer.status == 200
    document = await answer.json()
    assert document["openapi"].startswith("3.")
    assert "/calls/{call_sid}" in document["paths"]


async def test_reading_a_customers_call_is_audited_and_an_unknown_callers_is_not(
    client: Any, seeded: dict, sqlite_settings: Settings
) -> None:
    known, unknown = seeded["sids"][0], seeded["sids"][1]
    engine = make_engine(sqlite_settings.sync_db_url)
    with session_scope(engine) as session:
        customer = Customer(kind="individual", name="김민수", org_unit_id=1)
        session.add(customer)
        session.flush()
        call = session.exec(select(Call).where(Call.call_sid == known)).one()
        call.customer_id = customer.id
        session.add(call)
        customer_id = customer.id
    assert (await client.get(f"/api/v1/calls/{known}", headers=auth(seeded["token"]))).status == 200
    assert (await client.get(f"/api/v1/calls/{unknown}", headers=auth(seeded["token"]))).status == 200
    assert (await client.get("/api/v1/calls?limit=50", headers=auth(seeded["token"]))).status == 200
    with session_scope(engine) as session:
        entries = session.exec(select(AuditEntry).where(AuditEntry.action == "read")).all()
        trail = [(e.username, e.customer_id, e.call_sid, e.purpose, tuple(e.fields or [])) for e in entries]
    engine.dispose()
    one = ("admin", customer_id, known, CALL_RECORD_PURPOSE, CALL_RECORD_FIELDS)
    assert trail == [one, one]  # the call itself, then the page that lists it; nothing for the unknown caller
