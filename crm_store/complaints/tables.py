"""Tables of complaint management: the complaint, its yearly number sequence, linked calls, and the dossier."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_store.indexes import partial_index
from crm_store.types import JsonDocument, UtcDateTime, utcnow

OPEN_CONDITION = "state <> 'closed'"


class ComplaintNumberSequence(SQLModel, table=True):
    """The last complaint number given in a year (C-YYYY-NNNNNN): one row per year, incremented under its row lock."""

    __tablename__ = "complaint_number_sequence"
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = Field(default=0)


class Complaint(SQLModel, table=True):
    """A customer's complaint (민원): its number, where it came from, what it is about, who owns it, its state in the
    seven steps and its time limits."""

    __tablename__ = "complaint"
    __table_args__ = (
        UniqueConstraint("year", "sequence", name="ux_complaint_year_sequence"),
        # The queue of a unit: its complaints in a state, soonest limit first.
        Index("ix_complaint_queue", "org_unit_id", "state", "resolve_by"),
        # The overdue sweep over open complaints only.
        partial_index(
            "ix_complaint_open_resolve_by",
            "resolve_by",
            where=OPEN_CONDITION,
        ),
        # A repeat (same customer, same topic) while one is open links to it: one open complaint per customer and
        # topic, enforced by the database so that two doors opening at once make one complaint.
        partial_index(
            "ux_complaint_open_customer_topic",
            "customer_id",
            "topic",
            where=f"{OPEN_CONDITION} AND topic IS NOT NULL",
            unique=True,
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=16, unique=True)
    year: int
    sequence: int
    customer_id: int = Field(foreign_key="customer.id", index=True)
    channel: str = Field(max_length=16)
    category: str = Field(max_length=16)
    topic: str | None = Field(default=None, max_length=64)
    severity: str = Field(default="normal", max_length=16)
    summary: str = Field(max_length=2000)
    state: str = Field(default="receipt", sa_type=String(16))
    # The responsible unit and its department (고객관리부 by default).
    org_unit_id: int = Field(foreign_key="org_unit.id")
    department: str = Field(max_length=64)
    handler_id: int | None = Field(default=None, foreign_key="staff.id")
    opened_by_id: int | None = Field(default=None, foreign_key="staff.id")
    fss_reference: str | None = Field(default=None, max_length=64)
    received_at: datetime = Field(sa_type=UtcDateTime)
    acknowledge_by: datetime = Field(sa_type=UtcDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    resolve_by: datetime = Field(sa_type=UtcDateTime)
    mediation_by: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The next step's limit.
    step_due_at: datetime = Field(sa_type=UtcDateTime)
    extensions: int = Field(default=0)
    extension_reason: str | None = Field(default=None, max_length=1000)
    escalations: int = Field(default=0)
    # An escalated complaint still overdue moves up again only after this moment.
    escalate_again_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    repeats: int = Field(default=0)
    reopened: int = Field(default=0)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ComplaintCall(SQLModel, table=True):
    """A call linked to a complaint (the call that opened it, a repeat call about it)."""

    __tablename__ = "complaint_call"
    __table_args__ = (UniqueConstraint("complaint_id", "call_sid", name="ux_complaint_call"),)
    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    call_sid: str = Field(max_length=34, index=True)
    linked_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ComplaintStep(SQLModel, table=True):
    """The dossier, append-only: every step taken (who, when, from which state to which, the form's fields), and
    every extension, acknowledgement, repeat, escalation and reopening."""

    __tablename__ = "complaint_step"
    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    action: str = Field(max_length=16)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    username: str = Field(max_length=64)
    org_unit_id: int = Field(foreign_key="org_unit.id")
    form: dict[str, Any] = Field(default_factory=dict, sa_type=JsonDocument)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
