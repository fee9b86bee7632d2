"""Tables of the review queue (items, their events, classification corrections)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from crm_store.types import JsonDocument, UtcDateTime, utcnow

# -- review of call records by the operators ----------


class ReviewState(StrEnum):
    OPEN = "open"
    TAKEN = "taken"
    CLOSED = "closed"


class ReviewItem(SQLModel, table=True):
    """A processed call record waiting in (or taken from) the review queue of one org unit's operators."""

    __tablename__ = "review_item"
    __table_args__ = (Index("ix_review_item_queue", "org_unit_id", "state", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=34, unique=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    org_unit_id: int = Field(foreign_key="org_unit.id")
    state: ReviewState = Field(default=ReviewState.OPEN, sa_type=String(16))
    type: str | None = Field(default=None, max_length=16)
    topic: str | None = Field(default=None, max_length=64)
    urgency: str | None = Field(default=None, max_length=16)
    route_reason: str = Field(default="", max_length=300)
    due_at: datetime = Field(sa_type=UtcDateTime)
    escalations: int = 0
    taken_by_id: int | None = Field(default=None, foreign_key="staff.id")
    taken_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    note: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ReviewEvent(SQLModel, table=True):
    """What happened to a review item, append-only: routed, taken, escalated, forwarded, change decided, closed."""

    __tablename__ = "review_event"
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="review_item.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    action: str = Field(max_length=32)
    from_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    to_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    note: str | None = Field(default=None, max_length=1000)
    detail: dict[str, Any] | None = Field(default=None, sa_type=JsonDocument)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ClassificationCorrection(SQLModel, table=True):
    """An operator's confirmation or correction of the classifier's type, topic and entities: training data."""

    __tablename__ = "classification_correction"
    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=34, index=True)
    item_id: int | None = Field(default=None, foreign_key="review_item.id")
    staff_id: int = Field(foreign_key="staff.id")
    predicted: dict[str, Any] = Field(sa_type=JsonDocument)
    corrected: dict[str, Any] = Field(sa_type=JsonDocument)
    changed: bool = False
    model: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
