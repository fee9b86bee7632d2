"""Tables of calls (calls, webhook events, recordings, the outbox)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_store.types import JsonDocument, UtcDateTime, utcnow


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


# -- calls -------------------------------------------------------------------------------------


class Call(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=34, unique=True, index=True)
    account_sid: str | None = Field(default=None, max_length=34)
    # As Twilio sends them, unbounded: a SIP URI or a client name is no E.164 number, and new Direction values
    # (trunking-originating) appear without notice. The status is one of Twilio's (telephony.webhooks).
    from_number: str | None = None
    to_number: str | None = None
    direction: str | None = None
    status: str | None = Field(default=None, max_length=16)
    # Highest SequenceNumber applied: an older status callback arriving late changes nothing.
    status_sequence: int = Field(default=-1)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    started_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    duration: int | None = None
    recording_sid: str | None = Field(default=None, max_length=34)
    recording_url: str | None = None  # Twilio documents no length
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
    # Times the stuck-work duty enqueued it again because its call had stopped moving (workers.stuck).
    recoveries: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


# -- live transcript ---------------------------------------------------------------------------


class LiveTranscriptSegment(SQLModel, table=True):
    """One final utterance of the live transcript, redacted, as the desk saw it during the call (the post-call
    transcript of the recording stays the record); `start` and `end` are seconds from the stream's start."""

    __tablename__ = "live_transcript_segment"
    __table_args__ = (Index("ix_live_transcript_segment_call", "call_sid", "start"),)
    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=34)
    speaker: str = Field(max_length=16)
    start: float
    end: float
    text: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
