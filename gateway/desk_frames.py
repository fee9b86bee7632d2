"""The desk socket's frames, apart from the socket: JSON text objects with `type`.

Server to agent: `state` (the agent's state and since when), `error` (a frame refused), and what the distributor
(`gateway.desk_distributor`) publishes on the agent's channel, forwarded as published: `offer` (`call_sid`,
`queue`, `priority`, `caller`, `customer`, then `queue_label`, `caller_status`: known / unknown / withheld /
out_of_scope / unavailable, `caller_note`, `blacklisted`, `green_channel`, `offered_at`, `expires_at`), `call`
(`call_sid`, `state`: connected / ended / abandoned), `offer_withdrawn` (`call_sid`, `reason`: declined,
timed_out, failed) and `callbacks` (`queue`, `callback_id`, `change`: requested / done; `gateway.desk_callbacks`).
Agent to server: `accept` and `decline` of an offered call, parsed strictly; anything else is answered with an
`error` frame."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crm_store.desk.agent_tables import AgentState, DeskAgent

AGENT_FRAMES = ("accept", "decline")
# A Twilio call SID: CA and 32 hexadecimal digits.
CALL_SID = r"^CA[0-9a-f]{32}$"


class OfferAnswer(BaseModel):
    """`accept` or `decline` of the call offered to the agent."""

    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["accept", "decline"]
    call_sid: str = Field(pattern=CALL_SID)


class FrameRefused(ValueError):
    """A frame from the agent that is not one the desk takes; `fields` names each problem."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


def parse_agent_frame(text: str) -> OfferAnswer:
    """The agent's frame; FrameRefused for text that is not a JSON object, an unknown type or a malformed frame."""
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError as err:
        raise FrameRefused("a frame is a JSON object") from err
    if not isinstance(frame, dict):
        raise FrameRefused("a frame is a JSON object")
    kind = frame.get("type")
    if kind not in AGENT_FRAMES:
        raise FrameRefused("unknown frame type", {"type": " or ".join(AGENT_FRAMES)})
    try:
        return OfferAnswer.model_validate(frame)
    except ValidationError as err:
        fields = {".".join(str(p) for p in e["loc"]) or "frame": e["msg"] for e in err.errors()}
        raise FrameRefused("malformed frame", fields) from err


def state_frame(agent: DeskAgent | None) -> dict[str, Any]:
    """The agent's state and since when (an agent never seen at the desk is offline since never)."""
    if agent is None:
        return {"type": "state", "state": AgentState.OFFLINE.value, "since": None}
    return state_of(agent.state, agent.state_since)


def state_of(state: str, since: datetime) -> dict[str, Any]:
    """`{"type": "state", "state", "since"}`."""
    return {"type": "state", "state": state, "since": since.isoformat()}


def error_frame(message: str, fields: dict[str, str] | None = None, *, call_sid: str | None = None) -> dict[str, Any]:
    """A refusal of the agent's frame."""
    frame: dict[str, Any] = {"type": "error", "error": message}
    if fields:
        frame["fields"] = fields
    if call_sid is not None:
        frame["call_sid"] = call_sid
    return frame


def encode(frame: dict[str, Any]) -> str:
    """A frame as the socket sends it."""
    return orjson.dumps(frame).decode()
