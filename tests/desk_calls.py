"""The distributor in tests: agents given a desk profile, callers who dial, choose, wait and hang up, desks read
frame by frame."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from crm_store.desk.agent_tables import AgentState, DeskAgent
from crm_store.desk.tables import DeskOffer
from tests.desk_helpers import caller_number, twiml
from tests.twilio_helpers import call_params, post_signed
from workers.settings import Settings

ALL_SKILLS = ["accident", "change", "complaint", "consult"]


def give_desks(engine: Any, staff: dict[str, int], idle_since: dict[str, datetime]) -> None:
    """A desk profile (every skill, a Twilio Client endpoint, on break) for each agent named, idle since when told."""
    with Session(engine) as session:
        for username, since in idle_since.items():
            session.merge(
                DeskAgent(
                    staff_id=staff[username],
                    skills=ALL_SKILLS,
                    endpoint=f"client:{username}",
                    state=AgentState.BREAK.value,
                    state_since=since,
                    last_call_ended_at=since,
                )
            )
        session.commit()


def agent_row(engine: Any, staff_id: int) -> DeskAgent:
    with Session(engine) as session:
        agent = session.get(DeskAgent, staff_id)
        assert agent is not None
        return agent


def offers_of(engine: Any) -> list[DeskOffer]:
    with Session(engine) as session:
        return list(session.exec(select(DeskOffer).order_by(col(DeskOffer.id))).all())


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def dial_and_choose(client: Any, settings: Settings, sid: str, segment: str, key: str = "1") -> Any:
    """A caller of `segment` calls the hotline and presses `key`: the TwiML that puts them in a queue."""
    params = call_params(settings, sid, caller=caller_number(segment))
    answer = await post_signed(client, settings, "/twilio/voice", params)
    assert answer.status == 200, await answer.text()
    action = twiml(await answer.text()).find("Gather").get("action")  # type: ignore[union-attr]
    params = call_params(settings, sid, status="in-progress", caller=caller_number(segment), Digits=key)
    answer = await post_signed(client, settings, _path(action), params)
    assert answer.status == 200, await answer.text()
    root = twiml(await answer.text())
    assert root.find("Enqueue") is not None
    return root


async def hang_up(client: Any, settings: Settings, sid: str, segment: str, sequence: int = 5) -> None:
    """The caller's call ends (Twilio's completed status callback)."""
    params = call_params(
        settings,
        sid,
        status="completed",
        caller=caller_number(segment),
        SequenceNumber=str(sequence),
        CallbackSource="call-progress-events",
        Timestamp="Mon, 07 Dec 2026 01:00:00 +0000",
        CallDuration="30",
    )
    answer = await post_signed(client, settings, "/twilio/status", params)
    assert answer.status == 204, await answer.text()


async def dial_ended(client: Any, settings: Settings, sid: str, segment: str, status: str = "completed") -> Any:
    """The <Dial> to the agent ended (Twilio's action request)."""
    params = call_params(
        settings, sid, status="in-progress", caller=caller_number(segment), DialCallStatus=status,
        DialCallDuration="42", DialCallSid="CA" + "f" * 32,
    )  # fmt: skip
    answer = await post_signed(client, settings, "/twilio/desk-dial?queue=accident", params)
    assert answer.status == 200, await answer.text()
    return twiml(await answer.text())


async def next_frame(ws: Any, kind: str, *, seconds: float = 10.0, **fields: Any) -> dict[str, Any]:
    """The next frame of this type (and these field values) on the desk; frames of other types are passed over."""
    async with asyncio.timeout(seconds):
        while True:
            frame = dict(await ws.receive_json())
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items()):
                return frame


async def no_frame(ws: Any, kind: str, seconds: float) -> None:
    """No frame of this type arrives within `seconds` (other frames are passed over)."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                frame = dict(await ws.receive_json())
                assert frame.get("type") != kind, frame
    except TimeoutError:
        return
