"""The live call on PostgreSQL and the real Redis: a two-track recording streamed over the signed /twilio/media to a
real spawned transcriber process (the stand-in engine) shows on the desk of the agent holding the call, redacted,
with the suggestion and its one-click fills; the live transcript is stored in PostgreSQL and read back when the desk
is opened again mid-call."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, col, select

from crm_store.calls.tables import LiveTranscriptSegment
from tests.customer_helpers import SECRET, Org, build_org
from tests.unit.gateway.test_media_socket import (
    DESK,
    SID,
    _desk_frames,
    _finals,
    _live_app,
    _live_call_on_desk,
    _on_call,
)
from workers.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(sqlite_settings: Settings, postgres_url: str, redis_url: str) -> Settings:
    """The gateway on PostgreSQL and Redis, one live transcriber."""
    update = {"secret_key": SECRET, "database_url": postgres_url, "redis_url": redis_url, "live_transcribers": 1}
    return sqlite_settings.model_copy(update=update)


async def test_live_text_on_the_desk_and_stored_in_postgresql(
    aiohttp_client: Any, settings: Settings, engine: Any
) -> None:
    assert engine.dialect.name == "postgresql"
    org: Org = build_org(engine)
    _on_call(engine, org)
    client = await aiohttp_client(_live_app(settings))
    frames = await _live_call_on_desk(client, org)
    finals = _finals(frames)
    assert all(f["call_sid"] == SID and "[전화번호]" in f["text"] and "2345" not in f["text"] for f in finals)
    suggestion = next(f for f in frames if f["type"] == "suggestion")
    assert (suggestion["call_type"], suggestion["urgency"]) == ("report", "high")
    assert suggestion["fills"]["accident_report"]["vehicle"]["value"] == "12가3456"
    with Session(engine) as session:
        stored = session.exec(select(LiveTranscriptSegment).where(col(LiveTranscriptSegment.call_sid) == SID)).all()
    assert {s.speaker for s in stored} == {"customer", "agent"}
    assert all("010-2345" not in s.text and "[전화번호]" in s.text for s in stored)
    # The agent reloads the desk while still on the call: the stored transcript comes back after the state.
    async with client.ws_connect(DESK, headers=org.auth("agent.seocho")) as desk:
        again = await _desk_frames(desk, lambda got: len(_finals(got)) == len(stored), seconds=10.0)
    assert again[0]["type"] == "state"
    assert sorted(f["text"] for f in _finals(again)) == sorted(s.text for s in stored)
