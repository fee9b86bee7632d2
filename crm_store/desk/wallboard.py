"""The supervisors' wallboard: per desk queue, the calls waiting now and the longest wait, the agents by state, and
today's service level, abandonment rate and average handling time ("today": since midnight in Korea).

One `Snapshot` of the whole company is read in one short transaction (four indexed statements) and every viewer's
board is cut from it in memory (`board_for`), so a process serving many boards reads the database once per tick.

- Calls waiting now: the waiting calls of each queue through the waiting index (`ix_desk_waiting_call_next`).
- Today's calls: the calls that entered a queue since midnight in Korea, found through the calls of the day
  (`call.created_at` is indexed; a call is put in a queue after its incoming webhook created it, minutes at most
  later: `IVR_MARGIN`) and their one waiting row each (unique `call_sid`). Service level: the share of today's
  answered calls (`connected`) answered within `SERVICE_LEVEL_SECONDS`; abandonment rate: abandoned calls among
  today's calls whose wait ended (connected, abandoned or taken out of the queue otherwise).
- Handling time: `handling_seconds` is the one place that says where a conversation starts and ends.
- Agents by state: every desk profile with its unit's path (the desk table is small: one row per agent).

Scope: a queue is company-wide (any agent with its skill may be offered its calls), so its call figures are the
whole queue's; the agents counted are those of the viewer's unit and below. A viewer sees the queues their agents
serve; the head office sees every queue."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from pydantic import Field as PField
from sqlalchemy import ColumnElement, case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.calendar import KST
from crm_store.calls.tables import Call
from crm_store.desk.agent_tables import AgentState, DeskAgent
from crm_store.desk.tables import DeskQueue, WaitingCall
from crm_store.org.tables import OrgUnit, Staff
from crm_store.types import Answer, Moment

SERVICE_LEVEL_SECONDS = 20
# The longest a caller stays in the IVR between the incoming webhook and being put in a queue.
IVR_MARGIN = timedelta(hours=1)
STATES = tuple(state.value for state in AgentState)
WAITING, CONNECTED, ABANDONED = "waiting", "connected", "abandoned"


def day_start(now: datetime) -> datetime:
    """Midnight in Korea of `now`'s day (an aware moment)."""
    return datetime.combine(now.astimezone(KST).date(), time(0), tzinfo=KST)


def _seconds_between(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    """end - start in seconds, in SQL."""
    if dialect == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def handling_seconds(dialect: str) -> tuple[ColumnElement[Any], ColumnElement[bool]]:
    """The handling time of an answered call, in seconds, and the condition for a call to have one: from the agent's
    answer (`WaitingCall.answered_at`, set by the distributor when the agent accepts) to the conversation's end
    (`WaitingCall.ended_at`, the <Dial>'s end or the caller's hang-up)."""
    start, end = col(WaitingCall.answered_at), col(WaitingCall.ended_at)
    has_one = (col(WaitingCall.state) == CONNECTED) & start.is_not(None) & end.is_not(None) & (end >= start)
    return _seconds_between(dialect, start, end), has_one


@dataclass(frozen=True)
class QueueDay:
    """Today's counts of one queue."""

    answered: int = 0
    answered_in_time: int = 0
    abandoned: int = 0
    ended: int = 0
    handled: int = 0
    handling_seconds: float = 0.0


@dataclass(frozen=True)
class QueueRow:
    """A desk queue as the board shows it."""

    id: int
    name: str
    label: str
    skills: frozenset[str]


@dataclass(frozen=True)
class AgentRow:
    """One agent at the desk: where in the organisation, in what state, serving which skills."""

    unit_path: str
    state: str
    skills: frozenset[str]


@dataclass(frozen=True)
class Snapshot:
    """The company's desk at one moment."""

    at: datetime
    since: datetime
    queues: tuple[QueueRow, ...]
    waiting: dict[int, tuple[int, datetime]] = field(default_factory=dict)
    day: dict[int, QueueDay] = field(default_factory=dict)
    agents: tuple[AgentRow, ...] = ()
    # When today's counts were read (they may come from an earlier snapshot).
    day_read_at: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=KST))


def waiting_now_query() -> Any:
    """Calls waiting now per queue and the oldest entry (the waiting index, `ix_desk_waiting_call_next`)."""
    return (
        select(col(WaitingCall.queue_id), func.count(), func.min(col(WaitingCall.enqueued_at)))
        .where(col(WaitingCall.state) == WAITING)
        .group_by(col(WaitingCall.queue_id))
    )


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def today_query(dialect: str, since: datetime) -> Any:
    """Today's counts per queue of the calls that entered it since `since`: reached through the day's calls
    (`call.created_at` index) and their waiting row (unique `call_sid`)."""
    handling, has_handling = handling_seconds(dialect)
    state = col(WaitingCall.state)
    answered = state == CONNECTED
    return (
        select(  # type: ignore[call-overload]
            col(WaitingCall.queue_id),
            _count(answered),
            _count(answered & (col(WaitingCall.wait_seconds) <= SERVICE_LEVEL_SECONDS)),
            _count(state == ABANDONED),
            _count(state != WAITING),
            _count(has_handling),
            func.coalesce(func.sum(case((has_handling, handling), else_=0.0)), 0.0),
        )
        .select_from(Call)
        .join(WaitingCall, col(WaitingCall.call_sid) == col(Call.call_sid))
        .where(col(Call.created_at) >= since - IVR_MARGIN, col(WaitingCall.enqueued_at) >= since)
        .group_by(col(WaitingCall.queue_id))
    )


async def _waiting_now(session: AsyncSession) -> dict[int, tuple[int, datetime]]:
    rows = await session.exec(waiting_now_query())
    return {queue_id: (int(count), oldest) for queue_id, count, oldest in rows.all()}


async def _today(session: AsyncSession, since: datetime) -> dict[int, QueueDay]:
    rows = await session.exec(today_query(session.get_bind().dialect.name, since))
    return {
        queue_id: QueueDay(int(a), int(in_time), int(abandoned), int(ended), int(handled), float(seconds))
        for queue_id, a, in_time, abandoned, ended, handled, seconds in rows.all()
    }


async def _agents(session: AsyncSession) -> tuple[AgentRow, ...]:
    rows = await session.exec(
        select(col(OrgUnit.path), col(DeskAgent.state), col(DeskAgent.skills))
        .join(Staff, col(Staff.id) == col(DeskAgent.staff_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Staff.org_unit_id))
        .where(col(Staff.active))
    )
    return tuple(AgentRow(path, state, frozenset(skills or ())) for path, state, skills in rows.all())


async def take_snapshot(
    session: AsyncSession, *, now: datetime, previous: Snapshot | None = None, day_every: float = 0.0
) -> Snapshot:
    """The whole desk now: queues, calls waiting, agents, and today's counts; those are taken from `previous`
    while they are younger than `day_every` seconds (the day's statement is the board's one costly read: about
    100 ms at 20,000 calls a day, bench/wallboard.py) and still of the same day."""
    since = day_start(now)
    queues = tuple(
        QueueRow(int(q.id or 0), q.name, q.label, frozenset(q.skills or ()))
        for q in (await session.exec(select(DeskQueue).order_by(col(DeskQueue.id)))).all()
    )
    fresh = (
        previous is not None
        and previous.since == since
        and timedelta(0) <= now - previous.day_read_at < timedelta(seconds=day_every)
    )
    if previous is not None and fresh:
        day, day_read_at = previous.day, previous.day_read_at
    else:
        day, day_read_at = await _today(session, since), now
    return Snapshot(
        at=now,
        since=since,
        queues=queues,
        waiting=await _waiting_now(session),
        day=day,
        agents=await _agents(session),
        day_read_at=day_read_at,
    )


# -- one viewer's board ------------------------------------------------------------------------------------------------


class QueueFigures(Answer):
    """One queue on the board."""

    queue: str = PField(description="the queue's name")
    label: str = PField(description="its Korean name")
    waiting: int = PField(description="calls waiting now")
    longest_wait: int = PField(description="seconds the longest-waiting call has waited now (0: none)")
    agents: dict[str, int] = PField(description="agents of your part of the organisation serving it, by state")
    answered: int = PField(description="calls answered today")
    abandoned: int = PField(description="callers who hung up while waiting today")
    service_level: float | None = PField(description="share of today's answered calls answered within 20 s")
    abandonment_rate: float | None = PField(description="share of today's ended waits that were abandoned")
    average_handling: float | None = PField(description="average seconds from answer to the end of the call")


class Wallboard(Answer):
    """The board of one part of the organisation."""

    at: Moment = PField(description="when the figures were read")
    since: Moment = PField(description="the start of today in Korea: the daily figures count from it")
    service_level_seconds: int = PField(description="the service level's answer time")
    queues: list[QueueFigures] = PField(description="the queues your agents serve (every queue for the head office)")


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _agent_counts(agents: Iterable[AgentRow], skills: frozenset[str]) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    for agent in agents:
        if agent.skills & skills and agent.state in counts:
            counts[agent.state] += 1
    return counts


def queue_figures(snapshot: Snapshot, queue: QueueRow, agents: Sequence[AgentRow]) -> QueueFigures:
    """The figures of one queue, with the given agents counted by state."""
    count, oldest = snapshot.waiting.get(queue.id, (0, None))
    day = snapshot.day.get(queue.id, QueueDay())
    longest = max(0, round((snapshot.at - oldest).total_seconds())) if oldest is not None else 0
    return QueueFigures(
        queue=queue.name,
        label=queue.label,
        waiting=count,
        longest_wait=longest,
        agents=_agent_counts(agents, queue.skills),
        answered=day.answered,
        abandoned=day.abandoned,
        service_level=_share(day.answered_in_time, day.answered),
        abandonment_rate=_share(day.abandoned, day.ended),
        average_handling=round(day.handling_seconds / day.handled, 1) if day.handled else None,
    )


def board_for(snapshot: Snapshot, unit_path: str | None) -> Wallboard:
    """The board of the unit at `unit_path` and the units below it: its agents, and the queues they serve (every
    queue for the head office, whose path is the root's: "/1/"); None (no such unit): no queue."""
    mine = [agent for agent in snapshot.agents if unit_path and agent.unit_path.startswith(unit_path)]
    head_office = unit_path is not None and unit_path.count("/") == 2
    served = frozenset().union(*(agent.skills for agent in mine)) if mine else frozenset()
    queues = [q for q in snapshot.queues if head_office or q.skills & served]
    return Wallboard.model_validate(
        {
            "at": snapshot.at,
            "since": snapshot.since,
            "service_level_seconds": SERVICE_LEVEL_SECONDS,
            "queues": [queue_figures(snapshot, queue, mine) for queue in queues],
        }
    )


def company_board(snapshot: Snapshot) -> list[QueueFigures]:
    """Every queue with every agent (what /metrics exports)."""
    return [queue_figures(snapshot, queue, snapshot.agents) for queue in snapshot.queues]


async def unit_path_of(session: AsyncSession, unit_id: int) -> str | None:
    """The materialised path of a unit (the viewer's scope)."""
    unit = await session.get(OrgUnit, unit_id)
    return unit.path if unit is not None else None
