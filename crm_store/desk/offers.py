"""The call distributor's decisions, each one short transaction on the database, which is the truth.

A pass (`distribute`) takes the waiting calls nobody is offered, highest priority and longest wait first, and the
available agents, longest idle first, both with `SELECT ... FOR UPDATE SKIP LOCKED`: several gateway processes may
pass at once, each takes rows the others do not hold, and a row another pass changed meanwhile is re-checked under
its lock (a call's `offered_to_id`, an agent's `state`), so two agents never get the same call and an agent never
gets two. Open offers are also unique per call and per agent in the database itself.

Every offer is stored with its expiry: whichever process sweeps next (`expire_offers`, `stale_connections`) takes
back an offer not answered in time (the agent goes on `break`) or an accepted call whose connection never reached
Twilio (its gateway died): the call waits again and is offered again. Nothing is kept in a process's memory.

The functions return what happened (`Moved` agents and the frames their desks should get); the caller publishes
them after the commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_change
from crm_store.customers.tables import Customer
from crm_store.desk.agent_tables import AgentState, DeskAgent, serves_queue
from crm_store.desk.tables import DeskOffer, DeskQueue, WaitingCall
from crm_store.desk.waiting import CONNECTED, WAITING
from crm_store.org.scope import CommandLine
from crm_store.org.tables import OrgUnit, Staff
from crm_store.validation import Conflict

# Who moves an agent to break for an offer left unanswered, in the audit trail.
DISTRIBUTOR = CommandLine(username="desk-distributor")
ACCEPTED, CONNECTED_OFFER, DECLINED, TIMED_OUT = "accepted", "connected", "declined", "timed_out"
ABANDONED, SILENCED, FAILED = "abandoned", "silenced", "failed"
# An agent who declined a call (or let it time out) is not offered the same call again for this long.
DECLINE_COOLDOWN = timedelta(seconds=60)
NOT_OFFERED = "no call is offered to you"
# The waiting calls one pass takes at most.
PASS_CALLS = 50


@dataclass(frozen=True)
class CallInLine:
    """A waiting call as the choice needs it: its order, its queue's skills, the customer's branch, who declined."""

    waiting_id: int
    priority: int
    enqueued_at: datetime
    skills: frozenset[str]
    branch_id: int | None = None
    excluded: frozenset[int] = frozenset()
    # Transferred to a level: only agents whose unit's path starts with this one take it.
    unit_path: str | None = None


@dataclass(frozen=True)
class IdleAgent:
    """An available agent as the choice needs them (given longest idle first)."""

    staff_id: int
    org_unit_id: int
    skills: frozenset[str]
    unit_path: str = "/"


def match(calls: Sequence[CallInLine], agents: Sequence[IdleAgent]) -> list[tuple[CallInLine, IdleAgent]]:
    """Pair calls with agents: each call in serving order (highest priority, then longest wait) goes to the
    longest-idle agent having one of its queue's skills, an agent of the caller's customer's own branch first when
    one is free; an agent who just declined the call is passed over; a call transferred to a level goes only to
    agents of that unit or below. Each agent gets at most one call."""
    ordered = sorted(calls, key=lambda c: (-c.priority, c.enqueued_at, c.waiting_id))
    free = list(agents)
    pairs: list[tuple[CallInLine, IdleAgent]] = []
    for call in ordered:
        able = [
            a
            for a in free
            if a.staff_id not in call.excluded
            and serves_queue(a.skills, call.skills)
            and (call.unit_path is None or a.unit_path.startswith(call.unit_path))
        ]
        if not able:
            continue
        own = [a for a in able if call.branch_id is not None and a.org_unit_id == call.branch_id]
        chosen = (own or able)[0]
        free.remove(chosen)
        pairs.append((call, chosen))
    return pairs


@dataclass(frozen=True)
class Moved:
    """An agent the desk moved, with their new state (and since when) for their desks."""

    staff_id: int
    state: str
    since: datetime
    call_sid: str | None = None

    @classmethod
    def of(cls, agent: DeskAgent) -> Moved:
        return cls(agent.staff_id, agent.state, agent.state_since, agent.call_sid)


@dataclass(frozen=True)
class Offered:
    """An offer made: what the agent's offer frame says (the picture is read for the agent afterwards)."""

    offer_id: int
    call_sid: str
    staff_id: int
    queue: str
    queue_label: str
    priority: int
    caller: str | None
    customer_id: int | None
    segment: str | None
    blacklisted: bool
    offered_at: datetime
    expires_at: datetime
    agent: Moved


@dataclass(frozen=True)
class Distribution:
    """What one pass did: the offers made, and the calls matched to an agent whose row another transaction held
    (SKIP LOCKED passed it over), which another pass at once may offer."""

    offered: list[Offered]
    passed_over: int


@dataclass(frozen=True)
class Accepted:
    """An accepted offer: where to connect the caller."""

    offer_id: int
    call_sid: str
    staff_id: int
    username: str
    endpoint: str
    queue: str
    agent: Moved


@dataclass(frozen=True)
class Withdrawn:
    """An offer taken back (declined, timed out, abandoned, silenced, failed) and the agent's new state if moved."""

    call_sid: str
    staff_id: int
    outcome: str
    queue_id: int
    agent: Moved | None = None
    waited: float | None = None


@dataclass
class Ended:
    """A conversation that ended: the agent now in wrap-up."""

    call_sid: str
    staff_id: int
    agent: Moved | None = None
    handled_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _locked(query: Any) -> Any:
    return query.with_for_update(skip_locked=True).execution_options(populate_existing=True)


def _move(agent: DeskAgent, state: AgentState, now: datetime, call_sid: str | None) -> Moved:
    if agent.state == AgentState.ON_CALL.value:
        agent.last_call_ended_at = now
    agent.state = state.value
    agent.state_since = now
    agent.call_sid = call_sid if state in (AgentState.OFFERED, AgentState.ON_CALL, AgentState.WRAP_UP) else None
    return Moved.of(agent)


async def _agent(session: AsyncSession, staff_id: int) -> DeskAgent | None:
    query = select(DeskAgent).where(col(DeskAgent.staff_id) == staff_id).with_for_update()
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def _move_holder(
    session: AsyncSession, staff_id: int, call_sid: str, was: AgentState, to: AgentState, now: datetime
) -> Moved | None:
    """Move the agent to `to` if they are still `was` with this call (the call's change is theirs); None otherwise."""
    agent = await _agent(session, staff_id)
    if agent is None or agent.state != was.value or agent.call_sid != call_sid:
        return None
    moved = _move(agent, to, now, call_sid)
    session.add(agent)
    return moved


def _wait_again(waiting: WaitingCall) -> None:
    """The call waits again in its place in line, nobody holding or taking it."""
    waiting.state, waiting.left_at, waiting.wait_seconds = WAITING, None, None
    waiting.answered_at, waiting.agent_id, waiting.offered_to_id = None, None, None


async def _waiting(session: AsyncSession, waiting_id: int) -> WaitingCall:
    query = select(WaitingCall).where(col(WaitingCall.id) == waiting_id).with_for_update()
    return (await session.exec(query.execution_options(populate_existing=True))).one()


async def distribute(
    session: AsyncSession,
    *,
    now: datetime,
    reservation: timedelta,
    gateway: str = "",
    calls: int = PASS_CALLS,
    agents: int = 200,
) -> Distribution:
    """One pass: offer the waiting calls nobody holds to the available agents; the offers made, and how many calls
    were matched to an agent another transaction held meanwhile."""
    waiting_rows = (
        await session.exec(
            select(WaitingCall, DeskQueue, col(Customer.org_unit_id))
            .join(DeskQueue, col(DeskQueue.id) == col(WaitingCall.queue_id))
            .outerjoin(Customer, col(Customer.id) == col(WaitingCall.customer_id))
            .where(col(WaitingCall.state) == WAITING, col(WaitingCall.offered_to_id).is_(None))
            .order_by(col(WaitingCall.priority).desc(), col(WaitingCall.enqueued_at), col(WaitingCall.id))
            .limit(calls)
            .with_for_update(skip_locked=True, of=WaitingCall)  # type: ignore[arg-type]
            .execution_options(populate_existing=True)
        )
    ).all()
    if not waiting_rows:
        return Distribution([], 0)
    # The available agents are read without a lock (their heartbeats keep writing them); only those chosen are
    # locked, re-checked as still available.
    agent_rows = (
        await session.exec(
            select(col(DeskAgent.staff_id), col(DeskAgent.skills), col(Staff.org_unit_id), col(OrgUnit.path))
            .join(Staff, col(Staff.id) == col(DeskAgent.staff_id))
            .join(OrgUnit, col(OrgUnit.id) == col(Staff.org_unit_id))
            .where(col(DeskAgent.state) == AgentState.AVAILABLE.value, col(DeskAgent.endpoint).is_not(None))
            .order_by(col(DeskAgent.last_call_ended_at), col(DeskAgent.state_since))
            .limit(agents)
        )
    ).all()
    if not agent_rows:
        return Distribution([], 0)
    waiting_ids = [int(w.id) for w, _, _ in waiting_rows]  # type: ignore[arg-type]
    excluded: dict[int, set[int]] = {}
    for waiting_id, staff_id in (
        await session.exec(
            select(col(DeskOffer.waiting_call_id), col(DeskOffer.staff_id)).where(
                col(DeskOffer.waiting_call_id).in_(waiting_ids),
                col(DeskOffer.outcome).in_([DECLINED, TIMED_OUT]),
                col(DeskOffer.answered_at) > now - DECLINE_COOLDOWN,
            )
        )
    ).all():
        excluded.setdefault(waiting_id, set()).add(staff_id)
    by_id = {int(w.id): (w, q) for w, q, _ in waiting_rows}  # type: ignore[arg-type]
    levels = {int(w.unit_id) for w, _, _ in waiting_rows if w.unit_id is not None}
    level_paths: dict[int, str] = {}
    if levels:
        level_paths = {
            int(unit_id or 0): str(path)
            for unit_id, path in (
                await session.exec(select(col(OrgUnit.id), col(OrgUnit.path)).where(col(OrgUnit.id).in_(levels)))
            ).all()
        }
    lined = [
        CallInLine(
            waiting_id=int(w.id),  # type: ignore[arg-type]
            priority=w.priority,
            enqueued_at=w.enqueued_at,
            skills=frozenset(q.skills),
            branch_id=branch,
            excluded=frozenset(excluded.get(int(w.id), ())),  # type: ignore[arg-type]
            # A unit gone since the transfer: any agent of the queue, rather than a call nobody may take.
            unit_path=None if w.unit_id is None else level_paths.get(int(w.unit_id)),
        )
        for w, q, branch in waiting_rows
    ]
    idle = [IdleAgent(staff_id, unit, frozenset(skills), path) for staff_id, skills, unit, path in agent_rows]
    pairs = match(lined, idle)
    if not pairs:
        return Distribution([], 0)
    locked = (
        await session.exec(
            select(DeskAgent)
            .where(
                col(DeskAgent.staff_id).in_([agent.staff_id for _, agent in pairs]),
                col(DeskAgent.state) == AgentState.AVAILABLE.value,
            )
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
    ).all()
    desk_agents = {agent.staff_id: agent for agent in locked}
    offered: list[Offered] = []
    passed_over = 0
    for call, chosen in pairs:
        waiting, queue = by_id[call.waiting_id]
        agent = desk_agents.get(chosen.staff_id)
        if agent is None:
            passed_over += 1  # taken or held meanwhile (another process's pass, a heartbeat): the call waits
            continue
        moved = _move(agent, AgentState.OFFERED, now, waiting.call_sid)
        waiting.offered_to_id = agent.staff_id
        offer = DeskOffer(
            waiting_call_id=call.waiting_id,
            call_sid=waiting.call_sid,
            staff_id=agent.staff_id,
            queue_id=waiting.queue_id,
            offered_at=now,
            expires_at=now + reservation,
            gateway=gateway[:64],
        )
        session.add_all([agent, waiting, offer])
        await session.flush()
        offered.append(_offered(offer, waiting, queue, moved))
    return Distribution(offered, passed_over)


def _offered(offer: DeskOffer, waiting: WaitingCall, queue: DeskQueue, agent: Moved) -> Offered:
    return Offered(
        offer_id=int(offer.id),  # type: ignore[arg-type]
        call_sid=waiting.call_sid,
        staff_id=offer.staff_id,
        queue=queue.name,
        queue_label=queue.label,
        priority=waiting.priority,
        caller=waiting.caller,
        customer_id=waiting.customer_id,
        segment=waiting.segment,
        blacklisted=waiting.blacklisted,
        offered_at=offer.offered_at,
        expires_at=offer.expires_at,
        agent=agent,
    )


async def open_offer_of(session: AsyncSession, staff_id: int) -> Offered | None:
    """The offer open to the agent now, as it was made (for a desk opened while it waits for an answer); None when
    no offer is open to them."""
    query = (
        select(DeskOffer, WaitingCall, DeskQueue, DeskAgent)
        .join(WaitingCall, col(WaitingCall.id) == col(DeskOffer.waiting_call_id))
        .join(DeskQueue, col(DeskQueue.id) == col(DeskOffer.queue_id))
        .join(DeskAgent, col(DeskAgent.staff_id) == col(DeskOffer.staff_id))
        .where(col(DeskOffer.staff_id) == staff_id, col(DeskOffer.outcome).is_(None))
    )
    row = (await session.exec(query)).first()
    if row is None:
        return None
    offer, waiting, queue, agent = row
    return _offered(offer, waiting, queue, Moved.of(agent))


async def _open_offer(session: AsyncSession, staff_id: int, call_sid: str) -> DeskOffer:
    query = select(DeskOffer).where(
        col(DeskOffer.staff_id) == staff_id, col(DeskOffer.call_sid) == call_sid, col(DeskOffer.outcome).is_(None)
    )
    offer = (await session.exec(query.with_for_update().execution_options(populate_existing=True))).first()
    if offer is None:
        raise Conflict({"call_sid": NOT_OFFERED}, NOT_OFFERED)
    return offer


async def accept(session: AsyncSession, *, staff_id: int, call_sid: str, now: datetime) -> Accepted:
    """The agent takes the call offered to them: the agent on the call, the call connected (its wait ended);
    Conflict when no such offer is open (taken back, or the caller hung up)."""
    offer = await _open_offer(session, staff_id, call_sid)
    waiting = await _waiting(session, offer.waiting_call_id)
    agent = await _agent(session, staff_id)
    # The agent still holds the offer (not made offline meanwhile), the caller still waits.
    holding = agent is not None and agent.state == AgentState.OFFERED.value and agent.call_sid == call_sid
    if agent is None or not holding or agent.endpoint is None or waiting.state != WAITING:
        raise Conflict({"call_sid": NOT_OFFERED}, NOT_OFFERED)
    offer.outcome, offer.answered_at = ACCEPTED, now
    waiting.state, waiting.left_at, waiting.answered_at = CONNECTED, now, now
    waiting.wait_seconds = max(0, round((now - waiting.enqueued_at).total_seconds()))
    waiting.offered_to_id, waiting.agent_id = None, staff_id
    moved = _move(agent, AgentState.ON_CALL, now, call_sid)
    queue = await session.get(DeskQueue, waiting.queue_id)
    staff = await session.get(Staff, staff_id)
    session.add_all([offer, waiting, agent])
    await session.flush()
    return Accepted(
        offer_id=int(offer.id),  # type: ignore[arg-type]
        call_sid=call_sid,
        staff_id=staff_id,
        username=staff.username if staff is not None else str(staff_id),
        endpoint=agent.endpoint,
        queue=queue.name if queue is not None else str(waiting.queue_id),
        agent=moved,
    )


async def connected(session: AsyncSession, *, offer_id: int, now: datetime) -> bool:
    """Twilio took the connection of an accepted call; False when the sweep gave it up meanwhile."""
    result: Any = await session.exec(
        update(DeskOffer)
        .where(col(DeskOffer.id) == offer_id, col(DeskOffer.outcome) == ACCEPTED)
        .values(outcome=CONNECTED_OFFER, connected_at=now)
    )
    return bool(result.rowcount)


async def _back_in_line(session: AsyncSession, offer: DeskOffer, outcome: str, now: datetime) -> WaitingCall:
    """Close the offer; its call waits again, nobody holding it (its place in line kept)."""
    offer.outcome = outcome
    offer.answered_at = offer.answered_at or now
    waiting = await _waiting(session, offer.waiting_call_id)
    if waiting.offered_to_id == offer.staff_id:
        waiting.offered_to_id = None
    session.add_all([offer, waiting])
    return waiting


async def decline(session: AsyncSession, *, staff_id: int, call_sid: str, now: datetime) -> Withdrawn:
    """The agent declines the call offered to them: available again, the call goes to the next agent."""
    offer = await _open_offer(session, staff_id, call_sid)
    await _back_in_line(session, offer, DECLINED, now)
    moved = await _move_holder(session, staff_id, call_sid, AgentState.OFFERED, AgentState.AVAILABLE, now)
    await session.flush()
    return Withdrawn(call_sid, staff_id, DECLINED, offer.queue_id, moved)


async def connect_failed(session: AsyncSession, *, offer_id: int, now: datetime) -> Withdrawn | None:
    """The caller could not be connected (Twilio refused, or the connecting gateway died): the call waits again
    where it was in line and the agent is available; None when the offer is no longer an accepted one."""
    query = select(DeskOffer).where(col(DeskOffer.id) == offer_id, col(DeskOffer.outcome) == ACCEPTED)
    offer = (await session.exec(_locked(query))).first()
    if offer is None:
        return None
    return await _undo_accept(session, offer, now)


async def _undo_accept(session: AsyncSession, offer: DeskOffer, now: datetime) -> Withdrawn:
    offer.outcome = FAILED
    waiting = await _waiting(session, offer.waiting_call_id)
    if waiting.state == CONNECTED and waiting.ended_at is None:
        _wait_again(waiting)
    moved = await _move_holder(session, offer.staff_id, offer.call_sid, AgentState.ON_CALL, AgentState.AVAILABLE, now)
    session.add_all([offer, waiting])
    await session.flush()
    return Withdrawn(offer.call_sid, offer.staff_id, FAILED, offer.queue_id, moved)


async def expire_offers(session: AsyncSession, *, now: datetime, limit: int = 100) -> list[Withdrawn]:
    """Open offers past their reservation: the agent goes on break (audited), the call to the next agent."""
    query = (
        select(DeskOffer)
        .where(col(DeskOffer.outcome).is_(None), col(DeskOffer.expires_at) <= now)
        .order_by(col(DeskOffer.expires_at))
        .limit(limit)
    )
    expired: list[Withdrawn] = []
    for offer in (await session.exec(_locked(query))).all():
        await _back_in_line(session, offer, TIMED_OUT, now)
        moved = await _move_holder(session, offer.staff_id, offer.call_sid, AgentState.OFFERED, AgentState.BREAK, now)
        if moved is not None:
            staff = await session.get(Staff, offer.staff_id)
            record_change(
                session,
                DISTRIBUTOR,
                action="agent.state",
                target=f"staff:{offer.staff_id}",
                org_unit_id=staff.org_unit_id if staff is not None else 0,
                detail={
                    "state": [AgentState.OFFERED.value, AgentState.BREAK.value],
                    "offer": "timed_out",
                    "call_sid": offer.call_sid,
                },  # fmt: skip
                now=now,
            )
        expired.append(Withdrawn(offer.call_sid, offer.staff_id, TIMED_OUT, offer.queue_id, moved))
    await session.flush()
    return expired


async def stale_connections(
    session: AsyncSession, *, now: datetime, grace: timedelta, limit: int = 100
) -> list[Withdrawn]:
    """Accepted calls whose connection was not confirmed within `grace` (the connecting gateway died): waiting
    again, offered again."""
    query = (
        select(DeskOffer)
        .where(col(DeskOffer.outcome) == ACCEPTED, col(DeskOffer.answered_at) <= now - grace)
        .order_by(col(DeskOffer.answered_at))
        .limit(limit)
    )
    return [await _undo_accept(session, offer, now) for offer in (await session.exec(_locked(query))).all()]


async def release_offers_of(session: AsyncSession, staff_ids: Iterable[int], *, now: datetime) -> list[Withdrawn]:
    """The open offers of agents gone offline (their desk went quiet): back in line at once."""
    ids = list(staff_ids)
    if not ids:
        return []
    query = select(DeskOffer).where(col(DeskOffer.staff_id).in_(ids), col(DeskOffer.outcome).is_(None))
    released = []
    for offer in (await session.exec(_locked(query))).all():
        await _back_in_line(session, offer, SILENCED, now)
        released.append(Withdrawn(offer.call_sid, offer.staff_id, SILENCED, offer.queue_id))
    await session.flush()
    return released


async def caller_gone(session: AsyncSession, *, call_sid: str, now: datetime) -> Withdrawn | Ended | None:
    """The caller hung up: an open offer of the call is withdrawn (the agent available again), a conversation
    under way ends (the agent in wrap-up); None when neither (already handled, or never offered)."""
    # Through the call's row (unique call_sid) to its open offer (unique per call): two index probes.
    query = (
        select(DeskOffer)
        .join(WaitingCall, col(WaitingCall.id) == col(DeskOffer.waiting_call_id))
        .where(col(WaitingCall.call_sid) == call_sid, col(DeskOffer.outcome).is_(None))
    )
    offer = (
        await session.exec(query.with_for_update(of=DeskOffer).execution_options(populate_existing=True))  # type: ignore[arg-type]
    ).first()
    if offer is not None:
        await _back_in_line(session, offer, ABANDONED, now)
        moved = await _move_holder(session, offer.staff_id, call_sid, AgentState.OFFERED, AgentState.AVAILABLE, now)
        await session.flush()
        return Withdrawn(call_sid, offer.staff_id, ABANDONED, offer.queue_id, moved)
    return await end_conversation(session, call_sid=call_sid, now=now)


async def end_conversation(session: AsyncSession, *, call_sid: str, now: datetime) -> Ended | None:
    """The conversation of a connected call ended (either side hung up): its end stored, the agent in wrap-up;
    None when it was not under way (already ended, or never connected)."""
    query = select(WaitingCall).where(col(WaitingCall.call_sid) == call_sid)
    waiting = (await session.exec(query.with_for_update().execution_options(populate_existing=True))).first()
    if waiting is None or waiting.state != CONNECTED or waiting.ended_at is not None or waiting.agent_id is None:
        return None
    waiting.ended_at = now
    session.add(waiting)
    handled = (now - waiting.answered_at).total_seconds() if waiting.answered_at is not None else None
    await session.exec(
        update(DeskOffer)
        .where(col(DeskOffer.waiting_call_id) == waiting.id, col(DeskOffer.outcome) == ACCEPTED)
        .values(outcome=CONNECTED_OFFER, connected_at=now)
    )
    moved = await _move_holder(session, waiting.agent_id, call_sid, AgentState.ON_CALL, AgentState.WRAP_UP, now)
    await session.flush()
    return Ended(call_sid, waiting.agent_id, moved, handled)


async def back_in_queue(session: AsyncSession, *, call_sid: str, now: datetime) -> Ended | None:
    """The agent's endpoint did not answer the call connected to it: the call waits again in its place, the agent
    goes on break (audited) rather than be offered the next call."""
    query = select(WaitingCall).where(col(WaitingCall.call_sid) == call_sid)
    waiting = (await session.exec(query.with_for_update().execution_options(populate_existing=True))).first()
    if waiting is None or waiting.state != CONNECTED or waiting.ended_at is not None or waiting.agent_id is None:
        return None
    staff_id = waiting.agent_id
    _wait_again(waiting)
    session.add(waiting)
    await session.exec(
        update(DeskOffer)
        .where(col(DeskOffer.waiting_call_id) == waiting.id, col(DeskOffer.outcome).in_([ACCEPTED, CONNECTED_OFFER]))
        .values(outcome=FAILED)
    )
    moved = await _move_holder(session, staff_id, call_sid, AgentState.ON_CALL, AgentState.BREAK, now)
    await session.flush()
    return Ended(call_sid, staff_id, moved, None, {"unanswered": True})


async def wrap_ups_done(
    session: AsyncSession, *, now: datetime, after_call: timedelta, limit: int = 100
) -> list[Moved]:
    """Agents whose after-call time is over: available again."""
    query = (
        select(DeskAgent)
        .where(col(DeskAgent.state) == AgentState.WRAP_UP.value, col(DeskAgent.state_since) <= now - after_call)
        .order_by(col(DeskAgent.state_since))
        .limit(limit)
    )
    moved = []
    for agent in (await session.exec(_locked(query))).all():
        moved.append(_move(agent, AgentState.AVAILABLE, now, None))
        session.add(agent)
    await session.flush()
    return moved


async def open_offer_count(session: AsyncSession, call_sid: str) -> int:
    """How many open offers a call has (0 or 1: the database allows no more)."""
    rows = await session.exec(
        select(DeskOffer.id).where(col(DeskOffer.call_sid) == call_sid, col(DeskOffer.outcome).is_(None))
    )
    return len(rows.all())
