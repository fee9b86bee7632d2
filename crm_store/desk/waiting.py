"""Calls waiting in a queue, the green channel's priority, and call-back tasks for callers we could not serve.

Each operation is one short transaction on the caller's live path and safe to repeat: Twilio delivers its
webhooks at least once, and an abandoned call is reported twice (the <Enqueue> action and the call's status)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.calls.tables import Call
from crm_store.customers.phones import normalise_phone
from crm_store.customers.tables import Customer
from crm_store.desk.tables import CallbackTask, DeskQueue, WaitingCall
from crm_store.types import iso
from crm_store.upsert import insert_ignoring_conflict

# The green channel: key and quality customers go ahead of everyone else in every queue.
GREEN_CHANNEL = {"key": 20, "quality": 10}
WAITING, CONNECTED, ABANDONED, LEFT = "waiting", "connected", "abandoned", "left"
CALLBACK_ABANDONED, CALLBACK_AFTER_HOURS, CALLBACK_UNSERVED = "abandoned", "after_hours", "unserved"


def priority_for(segment: str | None) -> int:
    """The priority a caller of this segment waits with (0 for ordinary, inferior and unknown callers)."""
    return GREEN_CHANNEL.get(segment or "", 0)


def is_green_channel(segment: str | None) -> bool:
    """True for the segments the green channel serves first."""
    return priority_for(segment) > 0


@dataclass(frozen=True)
class CallerOfCall:
    """Who is on a call, as the queue needs it."""

    caller: str | None
    customer_id: int | None
    segment: str | None
    blacklisted: bool


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def caller_of_call(session: AsyncSession, call_sid: str) -> CallerOfCall:
    """The calling number (E.164, None when withheld) and the caller's customer (segment, blacklist flag) of a
    stored call."""
    row = (
        await session.exec(
            select(col(Call.from_number), col(Call.customer_id), col(Customer.segment), col(Customer.blacklisted))
            .outerjoin(Customer, col(Customer.id) == col(Call.customer_id))
            .where(col(Call.call_sid) == call_sid)
        )
    ).first()
    if row is None:
        return CallerOfCall(None, None, None, False)
    number, customer_id, segment, blacklisted = row
    # A number to call back (E.164), or None for an anonymous or unusable caller ID.
    return CallerOfCall(
        normalise_phone(number), customer_id, str(segment) if segment is not None else None, bool(blacklisted)
    )


async def enqueue_call(
    session: AsyncSession,
    *,
    call_sid: str,
    queue_id: int,
    caller: CallerOfCall,
    now: datetime,
    blacklisted: bool = False,
) -> WaitingCall:
    """Put the call in the queue with its priority; a repeated request leaves the first one as it was."""
    await session.exec(
        insert_ignoring_conflict(  # type: ignore[call-overload]
            _dialect(session),
            WaitingCall,
            {
                "call_sid": call_sid,
                "queue_id": queue_id,
                "priority": priority_for(caller.segment),
                "caller": caller.caller,
                "customer_id": caller.customer_id,
                "segment": caller.segment,
                "blacklisted": caller.blacklisted or blacklisted,
                "state": WAITING,
                "enqueued_at": now,
            },
        )
    )
    waiting = (await session.exec(select(WaitingCall).where(col(WaitingCall.call_sid) == call_sid))).one()
    return waiting


async def waiting_call(session: AsyncSession, call_sid: str) -> WaitingCall | None:
    """The call's place in a queue, if it was ever put in one."""
    return (await session.exec(select(WaitingCall).where(col(WaitingCall.call_sid) == call_sid))).first()


async def position_in_queue(session: AsyncSession, waiting: WaitingCall) -> int:
    """1 for the next call to be served: calls of higher priority, then calls of equal priority waiting longer,
    go first (one range scan of the queue's waiting index)."""
    ahead = (
        await session.exec(
            select(func.count())
            .select_from(WaitingCall)
            .where(
                col(WaitingCall.queue_id) == waiting.queue_id,
                col(WaitingCall.state) == WAITING,
                or_(
                    col(WaitingCall.priority) > waiting.priority,
                    and_(
                        col(WaitingCall.priority) == waiting.priority,
                        or_(
                            col(WaitingCall.enqueued_at) < waiting.enqueued_at,
                            and_(
                                col(WaitingCall.enqueued_at) == waiting.enqueued_at,
                                col(WaitingCall.id) < (waiting.id or 0),
                            ),
                        ),
                    ),
                ),
            )
        )
    ).one()
    return int(ahead) + 1


async def next_waiting(session: AsyncSession, queue_id: int, *, limit: int = 10) -> list[WaitingCall]:
    """The calls of a queue in the order they are to be served: priority first, then the longest wait."""
    return list(
        (
            await session.exec(
                select(WaitingCall)
                .where(col(WaitingCall.queue_id) == queue_id, col(WaitingCall.state) == WAITING)
                .order_by(col(WaitingCall.priority).desc(), col(WaitingCall.enqueued_at), col(WaitingCall.id))
                .limit(limit)
            )
        ).all()
    )


async def leave_queue(
    session: AsyncSession,
    *,
    call_sid: str,
    state: str,
    now: datetime,
    queue_result: str | None = None,
    wait_seconds: int | None = None,
) -> WaitingCall | None:
    """End the call's wait (connected, abandoned or left); only the first report changes it.

    Returns the waiting call when this report ended the wait, else None (not queued, or already ended)."""
    waiting = await waiting_call(session, call_sid)
    if waiting is None or waiting.state != WAITING:
        return None
    waited = wait_seconds if wait_seconds is not None else _seconds_between(waiting.enqueued_at, now)
    result: Any = await session.exec(
        update(WaitingCall)
        .where(col(WaitingCall.id) == waiting.id, col(WaitingCall.state) == WAITING)
        .values(state=state, left_at=now, wait_seconds=waited, queue_result=queue_result)
    )
    if not result.rowcount:
        return None
    await session.refresh(waiting)
    return waiting


async def abandon(
    session: AsyncSession, *, call_sid: str, now: datetime, queue_result: str, wait_seconds: int | None = None
) -> tuple[WaitingCall, CallbackTask] | None:
    """The caller hung up while waiting: the wait is recorded and the queue's agents get a call-back task.

    None when the call was not waiting (never queued, already connected, or this is the second report)."""
    waiting = await leave_queue(
        session, call_sid=call_sid, state=ABANDONED, now=now, queue_result=queue_result, wait_seconds=wait_seconds
    )
    if waiting is None:
        return None
    task = await request_callback(
        session,
        call_sid=call_sid,
        queue_id=waiting.queue_id,
        reason=CALLBACK_ABANDONED,
        caller=waiting.caller,
        customer_id=waiting.customer_id,
        now=now,
        wait_seconds=waiting.wait_seconds,
    )
    return waiting, task


async def request_callback(
    session: AsyncSession,
    *,
    call_sid: str,
    queue_id: int,
    reason: str,
    caller: str | None,
    customer_id: int | None,
    now: datetime,
    wait_seconds: int | None = None,
) -> CallbackTask:
    """A call-back task for the queue's agents, once per call and reason."""
    await session.exec(
        insert_ignoring_conflict(  # type: ignore[call-overload]
            _dialect(session),
            CallbackTask,
            {
                "call_sid": call_sid,
                "queue_id": queue_id,
                "reason": reason,
                "caller": caller,
                "customer_id": customer_id,
                "requested_at": now,
                "wait_seconds": wait_seconds,
            },
        )
    )
    return await _callback(session, call_sid, reason)


async def attach_message(session: AsyncSession, *, call_sid: str, recording_sid: str) -> CallbackTask | None:
    """The message a caller left after hours, on the call-back task it belongs to."""
    await session.exec(
        update(CallbackTask)
        .where(
            col(CallbackTask.call_sid) == call_sid,
            col(CallbackTask.reason).in_([CALLBACK_AFTER_HOURS, CALLBACK_UNSERVED]),
            col(CallbackTask.recording_sid).is_(None),
        )
        .values(recording_sid=recording_sid)
    )
    return (
        await session.exec(
            select(CallbackTask)
            .where(
                col(CallbackTask.call_sid) == call_sid,
                col(CallbackTask.reason).in_([CALLBACK_AFTER_HOURS, CALLBACK_UNSERVED]),
            )
            .order_by(col(CallbackTask.id))
        )
    ).first()


async def open_callbacks(session: AsyncSession, queue_id: int, *, limit: int = 100) -> list[CallbackTask]:
    """A queue's call-back tasks not yet done, oldest first."""
    return list(
        (
            await session.exec(
                select(CallbackTask)
                .where(col(CallbackTask.queue_id) == queue_id, col(CallbackTask.done_at).is_(None))
                .order_by(col(CallbackTask.requested_at), col(CallbackTask.id))
                .limit(limit)
            )
        ).all()
    )


async def call_wait(session: AsyncSession, call_sid: str) -> dict[str, Any] | None:
    """The call's time at the desk as its record shows it: the queue, how the wait ended (waiting, offered,
    connected, abandoned, left), the priority, the seconds waited, and the call-back task left for it (reason,
    requested_at, done_at; null if none); None for a call that never reached a queue nor left a call-back."""
    waited = (
        await session.exec(
            select(WaitingCall, DeskQueue.name)
            .join(DeskQueue, col(DeskQueue.id) == col(WaitingCall.queue_id))
            .where(col(WaitingCall.call_sid) == call_sid)
        )
    ).first()
    task = (
        await session.exec(
            select(CallbackTask, DeskQueue.name)
            .join(DeskQueue, col(DeskQueue.id) == col(CallbackTask.queue_id))
            .where(col(CallbackTask.call_sid) == call_sid)
            .order_by(col(CallbackTask.id).desc())
        )
    ).first()
    if waited is None and task is None:
        return None
    callback = None
    if task is not None:
        callback = {
            "reason": task[0].reason,
            "requested_at": iso(task[0].requested_at),
            "done_at": iso(task[0].done_at),
        }
    if waited is None:
        assert task is not None
        return {"queue": task[1], "state": None, "priority": None, "wait_seconds": task[0].wait_seconds,
                "callback": callback}  # fmt: skip
    waiting, queue = waited
    return {"queue": queue, "state": waiting.state, "priority": waiting.priority, "wait_seconds": waiting.wait_seconds,
            "callback": callback}  # fmt: skip


async def _callback(session: AsyncSession, call_sid: str, reason: str) -> CallbackTask:
    return (
        await session.exec(
            select(CallbackTask).where(col(CallbackTask.call_sid) == call_sid, col(CallbackTask.reason) == reason)
        )
    ).one()


def _seconds_between(start: datetime, end: datetime) -> int:
    return max(0, round((end - start).total_seconds()))
