"""Tables of complaint management: the complaint, its yearly number sequence, linked calls, and the dossier."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint, true
from sqlmodel import Field, SQLModel

from crm_store.indexes import partial_index
from crm_store.text_messages import OutgoingText
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
        # The head office's list (every unit) by resolve limit: a plain index, open and closed alike.
        Index("ix_complaint_resolve_by", "resolve_by", "id"),
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


class ComplaintDepartment(SQLModel, table=True):
    """A department of an org unit that complaints may be transferred to (고객관리부, 보상부, ...). The customer
    management department (`customer_management`) of every unit, at every level, owns its complaints: it is the
    unit's without a row; the rows add the others (and may rename the owner)."""

    __tablename__ = "complaint_department"
    __table_args__ = (UniqueConstraint("org_unit_id", "code", name="ux_complaint_department_unit_code"),)
    id: int | None = Field(default=None, primary_key=True)
    org_unit_id: int = Field(foreign_key="org_unit.id")
    code: str = Field(max_length=32)
    name: str = Field(max_length=100)
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ComplaintSubtask(SQLModel, table=True):
    """A piece of a complaint's handling a department took on in coordination: its owner, due time, and whether it is
    done (marked done and undone again as the work goes; each change is a dossier entry)."""

    __tablename__ = "complaint_subtask"
    __table_args__ = (
        # An owner's open sub-tasks.
        partial_index("ix_complaint_subtask_owner_open", "owner_id", "due_at", where="done_at IS NULL"),
    )
    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    department: str = Field(max_length=64)
    what: str = Field(max_length=500)
    owner_id: int = Field(foreign_key="staff.id")
    owner_username: str = Field(max_length=64)
    due_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    done_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ComplaintNotice(OutgoingText, table=True):
    """A text message to the complaining customer (receipt acknowledgement, extension notice, feedback), written in
    the step's transaction and sent by the workers through Twilio's REST API, retried with back-off."""

    __tablename__ = "complaint_notice"
    __table_args__ = (
        UniqueConstraint("complaint_id", "kind", "step_id", name="ux_complaint_notice_step"),
        # The workers' sweep over the notices still to send.
        partial_index("ix_complaint_notice_pending", "next_attempt_at", where="status = 'pending'"),
    )
    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    # The dossier entry it tells of (one notice per entry and kind).
    step_id: int = Field(default=0)
    kind: str = Field(max_length=16)


class ComplaintReminder(SQLModel, table=True):
    """A reminder given before a limit falls due: one per complaint, limit and due moment."""

    __tablename__ = "complaint_reminder"
    __table_args__ = (UniqueConstraint("complaint_id", "limit_name", "due_at", name="ux_complaint_reminder"),)
    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id")
    limit_name: str = Field(max_length=16)
    due_at: datetime = Field(sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ComplaintMonthReport(SQLModel, table=True):
    """A month's complaint analysis of one unit (its part of the organisation) as the workers generated it."""

    __tablename__ = "complaint_month_report"
    __table_args__ = (UniqueConstraint("month", "org_unit_id", name="ux_complaint_month_report"),)
    id: int | None = Field(default=None, primary_key=True)
    month: date
    org_unit_id: int = Field(foreign_key="org_unit.id")
    figures: dict[str, Any] = Field(default_factory=dict, sa_type=JsonDocument)
    generated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    generated_by: str = Field(max_length=64)


class CorrectiveAction(SQLModel, table=True):
    """A corrective action (시정 조치) on a month's findings: what, who owns it, by when, done, its effect checked;
    followed until closed."""

    __tablename__ = "complaint_corrective_action"
    __table_args__ = (Index("ix_corrective_action_unit_open", "org_unit_id", "closed_at", "due_date"),)
    id: int | None = Field(default=None, primary_key=True)
    month: date
    org_unit_id: int = Field(foreign_key="org_unit.id")
    finding: str = Field(max_length=2000)
    what: str = Field(max_length=2000)
    owner_id: int = Field(foreign_key="staff.id")
    due_date: date
    done_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    done_note: str | None = Field(default=None, max_length=2000)
    effect_checked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    effect: str | None = Field(default=None, max_length=2000)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
