"""The table of the agents' desk profiles: skills, endpoint, state and the moments the distributor orders them by."""

from __future__ import annotations

from collections.abc import Collection, Set
from datetime import datetime
from enum import StrEnum, auto

from sqlmodel import Field, SQLModel

from crm_store.indexes import partial_index
from crm_store.types import JsonDocument, UtcDateTime, utcnow


class AgentState(StrEnum):
    """Where an agent is: the agent chooses available, break or offline; the desk moves them through the rest."""

    # A StrEnum's auto() value is the member's name in lower case.
    AVAILABLE = auto()
    OFFERED = auto()
    ON_CALL = auto()
    WRAP_UP = auto()
    BREAK = auto()
    OFFLINE = auto()


class DeskAgent(SQLModel, table=True):
    """A staff member who takes calls, as the desk sees them.

    `skills` are the skills of the desk queues the agent serves (`DeskQueue.skills`); `endpoint` is where an accepted
    call is connected: a Twilio Client identity (`client:kim.minsu`), a SIP address (`sip:1001@pbx.example.com`) or
    an E.164 number; None until one is set (no call is connected to nobody). `last_call_ended_at`, then
    `state_since`, order the available agents longest idle first; `heartbeat_at` is the desk connection's last sign
    of life."""

    __tablename__ = "desk_agent"
    __table_args__ = (
        # The distributor's look-up: the agents available now, longest idle first; their skills are read off the
        # few rows this gives.
        partial_index("ix_desk_agent_idle", "last_call_ended_at", "state_since", where="state = 'available'"),
        # The heartbeat duty: agents still marked online whose connection went quiet.
        partial_index("ix_desk_agent_heartbeat", "heartbeat_at", where="state NOT IN ('offline', 'on_call')"),
        # The after-call timer: agents in wrap-up, longest first.
        partial_index("ix_desk_agent_wrap_up", "state_since", where="state = 'wrap_up'"),
    )
    staff_id: int = Field(foreign_key="staff.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    skills: list[str] = Field(default_factory=list, sa_type=JsonDocument)
    endpoint: str | None = Field(default=None, max_length=160)
    state: str = Field(default=AgentState.OFFLINE.value, max_length=16)
    state_since: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # For one who never had a call: when the profile was made (idle since then).
    last_call_ended_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # The call offered to or taken by the agent while offered, on_call or wrap_up.
    call_sid: str | None = Field(default=None, max_length=34)


def serves_queue(agent_skills: Set[str], queue_skills: Collection[str]) -> bool:
    """Whether an agent with these skills serves a queue: one of its skills, or any agent for a queue without
    skills. The distributor offers by it; the desk's call-back tasks are listed by it."""
    return not queue_skills or not agent_skills.isdisjoint(queue_skills)
