"""The columns of a text message kept until Twilio has taken it: shared by the tables of the messages each step
writes in its own transaction (complaint notices, dispatch messages) and the workers send, retry and give up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

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

    def attempted(
        self, *, now: datetime, sid: str | None, error: str | None, retryable: bool, back_off: Sequence[int]
    ) -> str:
        """Count one attempt and keep its outcome: "sent" (Twilio's `sid`), "retry" (put off by the next of
        `back_off`'s seconds while attempts remain and the `error` is one Twilio may recover from) or "failed"."""
        self.attempts += 1
        if sid is not None:
            self.status, self.message_sid, self.sent_at, self.error = "sent", sid, now, None
            return "sent"
        self.error = (error or "")[:300]
        if retryable and self.attempts <= len(back_off):
            self.next_attempt_at = now + timedelta(seconds=back_off[self.attempts - 1])
            return "retry"
        self.status = "failed"
        return "failed"
