"""Tables of the call desk: queues, IVR menus and their options, calls waiting, call-back tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from crm_store.indexes import partial_index
from crm_store.types import JsonDocument, UtcDateTime, utcnow


class DeskQueue(SQLModel, table=True):
    """A queue of the hotline (accident reports, consultations, ...): its Twilio queue name, Korean label, opening
    hours (`crm_store.calendar.OpeningHours.parse` spec: "24h" or {"mon-fri": "09:00-18:00", ...}) and the skills
    an agent needs to serve it."""

    __tablename__ = "desk_queue"
    id: int | None = Field(default=None, primary_key=True)
    # Also the name of the Twilio queue the caller waits in (<Enqueue>name</Enqueue>).
    name: str = Field(max_length=32, unique=True)
    label: str = Field(max_length=64)
    hours: Any = Field(sa_type=JsonDocument)
    skills: list[str] = Field(default_factory=list, sa_type=JsonDocument)
    # Said before the message is recorded when the queue is closed; None: the default sentence.
    closed_message: str | None = Field(default=None, max_length=500)


class IvrMenu(SQLModel, table=True):
    """The menu callers of one hotline number hear: greeting, prompt, and the queue when no choice is made."""

    __tablename__ = "desk_menu"
    id: int | None = Field(default=None, primary_key=True)
    # E.164 of the hotline number called (Twilio's `To`).
    hotline_number: str = Field(max_length=20, unique=True)
    greeting: str = Field(max_length=500)
    prompt: str = Field(max_length=1000)
    default_queue_id: int = Field(foreign_key="desk_queue.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class IvrOption(SQLModel, table=True):
    """One choice of a menu: a key, the words that choose it by speech, the queue it leads to."""

    __tablename__ = "desk_menu_option"
    __table_args__ = (UniqueConstraint("menu_id", "key", name="ux_desk_menu_option_key"),)
    id: int | None = Field(default=None, primary_key=True)
    menu_id: int = Field(foreign_key="desk_menu.id", index=True)
    key: str = Field(max_length=1)
    label: str = Field(max_length=64)
    queue_id: int = Field(foreign_key="desk_queue.id")
    keywords: list[str] = Field(default_factory=list, sa_type=JsonDocument)


class WaitingCall(SQLModel, table=True):
    """A call put in a queue: while `waiting`, the distributor takes the highest priority, then the longest wait.

    `state`: waiting, connected (an agent took it), abandoned (the caller hung up while waiting), left (Twilio
    took it out of the queue otherwise: redirected, queue full, error)."""

    __tablename__ = "desk_waiting_call"
    __table_args__ = (
        # The live path: the next call of a queue, and a caller's position in it.
        partial_index(
            "ix_desk_waiting_call_next",
            "queue_id",
            text("priority DESC"),
            "enqueued_at",
            where="state = 'waiting'",
        ),
        # A period's waiting calls: the wallboard's day, the monthly report's service level and waits.
        Index("ix_desk_waiting_call_enqueued_at", "enqueued_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=34, unique=True)
    queue_id: int = Field(foreign_key="desk_queue.id")
    priority: int = Field(default=0)
    caller: str | None = Field(default=None, max_length=32)
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    segment: str | None = Field(default=None, max_length=16)
    # Transferred to a level of the organisation: only agents of this unit or below take it (None: any agent).
    unit_id: int | None = Field(default=None)
    # Kept for the agent: a blacklisted caller is served like anyone else.
    blacklisted: bool = Field(default=False)
    state: str = Field(default="waiting", max_length=16)
    enqueued_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    left_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    wait_seconds: int | None = None
    queue_result: str | None = Field(default=None, max_length=32)
    # The agent holding an open offer of the call (the distributor's claim, re-checked under its row lock); None
    # while nobody is offered it.
    offered_to_id: int | None = Field(default=None, foreign_key="staff.id")
    # The agent who took the call, when they answered it (connected), when the conversation ended: what a wallboard
    # reads for the service level (answered within 20 s) and the handling time.
    agent_id: int | None = Field(default=None, foreign_key="staff.id")
    answered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class DeskOffer(SQLModel, table=True):
    """One offer of a waiting call to an agent: who, when, until when, and how it ended.

    `outcome` is None while the offer is open; then `accepted` (the caller is being connected), `connected`
    (Twilio took the connection), `declined`, `timed_out` (not answered within the reservation time), `abandoned`
    (the caller hung up), `silenced` (the agent's desk went quiet) or `failed` (the connection could not be made).
    Open offers are unique per call and per agent: the database itself refuses a second one."""

    __tablename__ = "desk_offer"
    __table_args__ = (
        partial_index("ux_desk_offer_open_call", "waiting_call_id", where="outcome IS NULL", unique=True),
        partial_index("ux_desk_offer_open_agent", "staff_id", where="outcome IS NULL", unique=True),
        # The sweep: open offers past their reservation, accepted ones never connected.
        partial_index("ix_desk_offer_due", "expires_at", where="outcome IS NULL"),
        partial_index("ix_desk_offer_connecting", "answered_at", where="outcome = 'accepted'"),
        # Who declined a call lately (not offered it again at once).
        Index("ix_desk_offer_call", "waiting_call_id", "staff_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    waiting_call_id: int = Field(foreign_key="desk_waiting_call.id")
    call_sid: str = Field(max_length=34)
    staff_id: int = Field(foreign_key="staff.id")
    queue_id: int = Field(foreign_key="desk_queue.id")
    offered_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    outcome: str | None = Field(default=None, max_length=16)
    answered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    connected_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The process that made the offer (host:pid), for the logs of a gateway that died.
    gateway: str = Field(default="", max_length=64)


class CallbackTask(SQLModel, table=True):
    """A caller to call back, for the agents of a queue: who hung up while waiting, or left a message after hours."""

    __tablename__ = "desk_callback"
    __table_args__ = (
        UniqueConstraint("call_sid", "reason", name="ux_desk_callback_call_reason"),
        Index("ix_desk_callback_open", "queue_id", "done_at", "requested_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=34)
    queue_id: int = Field(foreign_key="desk_queue.id")
    # abandoned | after_hours
    reason: str = Field(max_length=16)
    caller: str | None = Field(default=None, max_length=32)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    wait_seconds: int | None = None
    # The message left after hours (its audio goes through the usual recording pipeline of the call).
    recording_sid: str | None = Field(default=None, max_length=34)
    done_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    done_by_id: int | None = Field(default=None, foreign_key="staff.id")
    outcome: str | None = Field(default=None, max_length=1000)
