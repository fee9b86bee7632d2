"""Tables of the CRM store, with their families (Base, Create, Public) where they reach the wire."""

from __future__ import annotations

from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Index, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_store.types import JsonDocument, UtcDateTime, utcnow


class OrgLevel(IntEnum):
    HEAD_OFFICE = 0
    PROVINCE = 1
    CITY = 2
    COUNTY = 3


class Role(StrEnum):
    AGENT = "agent"
    OPERATOR = "operator"
    CENTER_MANAGER = "center_manager"
    ACCOUNT_MANAGER = "account_manager"
    DISPATCHER = "dispatcher"
    SURVEYOR = "surveyor"
    EXECUTIVE = "executive"
    ADMIN = "admin"


class CustomerKind(StrEnum):
    INDIVIDUAL = "individual"
    CORPORATE = "corporate"


class Segment(StrEnum):
    QUALITY = "quality"
    KEY = "key"
    ORDINARY = "ordinary"
    INFERIOR = "inferior"


class CallType(StrEnum):
    REPORT = "report"
    INQUIRY = "inquiry"
    COMPLAINT = "complaint"
    NOTIFICATION = "notification"
    DISPATCH = "dispatch"


class PipelineState(StrEnum):
    """How far a call's record has come through the jobs."""

    RECEIVED = "received"
    RECORDING_READY = "recording_ready"
    RECORDING_FETCHED = "recording_fetched"
    TRANSCRIBED = "transcribed"
    CLASSIFIED = "classified"
    FAILED = "failed"


# -- organisation -----------------------------------------------------------------------------


class OrgUnitBase(SQLModel):
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=100)
    level: int = Field(ge=0, le=3)
    parent_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)


class OrgUnit(OrgUnitBase, table=True):
    __tablename__ = "org_unit"
    id: int | None = Field(default=None, primary_key=True)
    # Materialised path "/1/4/17/": a subtree is one indexed prefix match.
    path: str = Field(default="/", max_length=255, index=True)


class OrgUnitPublic(OrgUnitBase):
    id: int


class StaffBase(SQLModel):
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str = Field(max_length=100)
    role: Role = Field(sa_type=String(32))
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    clearance: int = Field(default=1, ge=0, le=5)


class Staff(StaffBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class StaffPublic(StaffBase):
    id: int


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    # SHA-256 of the token: a stolen table gives no usable token.
    token_hash: str = Field(max_length=64, unique=True, index=True)
    label: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


# -- customers ---------------------------------------------------------------------------------


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: CustomerKind = Field(sa_type=String(16))
    name: str = Field(max_length=100, index=True)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    # Registration numbers are never stored in clear: a keyed hash for matching, a mask for display.
    registration_hash: str | None = Field(default=None, max_length=64, index=True)
    registration_masked: str | None = Field(default=None, max_length=20)
    segment: Segment = Field(default=Segment.ORDINARY, sa_type=String(16))
    blacklisted: bool = Field(default=False, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class CustomerPhone(SQLModel, table=True):
    __tablename__ = "customer_phone"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    # E.164; the screen-pop lookup on every incoming call goes through this unique index.
    e164: str = Field(max_length=20, unique=True, index=True)
    label: str = Field(default="mobile", max_length=20)


class Policy(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    policy_number: str = Field(max_length=32, unique=True, index=True)
    line: str = Field(max_length=32)
    premium: int = Field(ge=0, sa_type=BigInteger)
    start_date: date
    end_date: date


class Claim(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    policy_id: int = Field(foreign_key="policy.id", index=True)
    claim_number: str = Field(max_length=32, unique=True, index=True)
    occurred_on: date
    paid_amount: int = Field(default=0, ge=0, sa_type=BigInteger)
    status: str = Field(default="open", max_length=16)


class BlacklistEntry(SQLModel, table=True):
    __tablename__ = "blacklist_entry"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    reason: str = Field(max_length=500)
    proposed_by_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


# -- calls -------------------------------------------------------------------------------------


class Call(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=34, unique=True, index=True)
    account_sid: str | None = Field(default=None, max_length=34)
    from_number: str | None = Field(default=None, max_length=32)
    to_number: str | None = Field(default=None, max_length=32)
    direction: str | None = Field(default=None, max_length=16)
    status: str | None = Field(default=None, max_length=16)
    # Highest SequenceNumber applied: an older status callback arriving late changes nothing.
    status_sequence: int = Field(default=-1)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    started_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    duration: int | None = None
    recording_sid: str | None = Field(default=None, max_length=34)
    recording_url: str | None = Field(default=None, max_length=500)
    recording_duration: int | None = None
    recording_channels: int | None = None
    pipeline_state: PipelineState = Field(default=PipelineState.RECEIVED, sa_type=String(24), index=True)
    failure_reason: str | None = Field(default=None, max_length=500)
    transcript: str | None = None
    transcript_raw: str | None = None
    transcript_detail: dict[str, Any] | None = Field(default=None, sa_type=JsonDocument)
    asr_model: str | None = Field(default=None, max_length=64)
    asr_sample_rate: int | None = None
    type: CallType | None = Field(default=None, sa_type=String(16), index=True)
    topic: str | None = Field(default=None, max_length=64)
    urgency: str | None = Field(default=None, max_length=16)
    entities: list[dict[str, Any]] | None = Field(default=None, sa_type=JsonDocument)
    classification: dict[str, Any] | None = Field(default=None, sa_type=JsonDocument)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class CallEvent(SQLModel, table=True):
    """Every webhook as received, append-only; the dedup key makes a redelivery a no-op."""

    __tablename__ = "call_event"
    __table_args__ = (Index("ix_call_event_call_sid_sequence", "call_sid", "sequence_number"),)
    id: int | None = Field(default=None, primary_key=True)
    # No foreign key: a callback for a call we never saw is kept, not dropped.
    call_sid: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    dedup_key: str = Field(max_length=200, unique=True)
    sequence_number: int | None = None
    payload: dict[str, Any] = Field(sa_type=JsonDocument)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Recording(SQLModel, table=True):
    """The audio as fetched from Twilio; the database is the source of truth, not a worker's disk."""

    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=34, index=True)
    recording_sid: str = Field(max_length=34, unique=True)
    content_type: str = Field(max_length=64)
    audio: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class OutboxJob(SQLModel, table=True):
    """Work promised in the same transaction as the data; relayed to the queue until it gets there."""

    __tablename__ = "outbox_job"
    __table_args__ = (UniqueConstraint("job_id"),)
    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=120)
    queue: str = Field(max_length=32)
    func: str = Field(max_length=120)
    call_sid: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    enqueued_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
