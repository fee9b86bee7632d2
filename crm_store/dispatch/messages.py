"""The text messages of dispatch kept until sent: written in the step's transaction (with the outbox job that sends
it at once), sent by the workers one at a time with the row locked (two workers never send one twice), a failure
Twilio may recover from tried again with back-off, a refusal or the last failure given up. The number is never
logged whole."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlmodel import Session, col, select

from crm_store.dispatch.tables import DispatchMessage

# Seconds before each further attempt; the message is given up after the last.
BACK_OFF = (10, 60, 300, 1800)
MAX_ATTEMPTS = len(BACK_OFF) + 1
PURPOSES = frozenset({"assignment", "vendor", "arrival"})


class Sender(Protocol):
    """What sends a text: its provider's message id, or SendFailed."""

    def __call__(self, *, to: str, from_: str, body: str) -> str: ...


class SendFailed(Exception):
    """A text not sent: `retryable` when Twilio may take it later (no answer, 429, 5xx)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


def masked(number: str) -> str:
    """A phone number with its last four digits hidden, for logs and pages."""
    return number[:-4] + "****" if len(number) > 6 else "****"


def write_message(
    session: Session, *, request_id: int, purpose: str, to: str, sender: str, body: str, now: datetime
) -> DispatchMessage:
    """A message to send, in the caller's transaction (its id assigned)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown dispatch message purpose {purpose!r}")
    message = DispatchMessage(request_id=request_id, purpose=purpose, to_phone=to, from_phone=sender, body=body,
                              next_attempt_at=now, created_at=now)  # fmt: skip
    session.add(message)
    session.flush()
    return message


def due_messages(session: Session, *, now: datetime, limit: int = 100) -> list[int]:
    """The ids of the pending messages whose next attempt is due at `now`, the longest waiting first."""
    query = (
        select(col(DispatchMessage.id))
        .where(col(DispatchMessage.status) == "pending", col(DispatchMessage.next_attempt_at) <= now)
        .order_by(col(DispatchMessage.next_attempt_at), col(DispatchMessage.id))
        .limit(limit)
    )
    return [int(found) for found in session.exec(query).all() if found is not None]


def send_one(session: Session, message_id: int, sender: Sender, *, now: datetime) -> str | None:
    """Send one pending message, its row locked for the attempt: "sent", "retry" (put off), "failed" (given up),
    or None when it is not pending any more (sent by another worker, given up) or does not exist."""
    message = session.get(DispatchMessage, message_id, with_for_update=True)
    if message is None or message.status != "pending":
        return None
    try:
        sid = sender(to=message.to_phone, from_=message.from_phone, body=message.body)
    except SendFailed as err:
        outcome = message.attempted(
            now=now, sid=None, error=f"{masked(message.to_phone)}: {err}", retryable=err.retryable, back_off=BACK_OFF
        )
    else:
        outcome = message.attempted(now=now, sid=sid, error=None, retryable=False, back_off=BACK_OFF)
    session.add(message)
    return outcome
