"""The columns of a text message kept until Twilio has taken it: shared by the tables of the messages each step
writes in its own transaction (complaint notices, dispatch messages) and the workers send, retry and give up."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from crm_store.types import UtcDateTime, utcnow


class OutgoingText(SQLModel):
    """To whom, what, and how its sending went: `status` pending, sent or failed; `attempts` so far and when the
    next is due; Twilio's message sid once sent, or the last error."""

    to_phone: str = Field(max_length=32)
    body: str = Field(max_length=1000)
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    message_sid: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
