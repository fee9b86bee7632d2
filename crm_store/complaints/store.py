"""Complaints in the store: opened from every door (numbered per year, a repeat linked to the open one), taken
through their steps by those who may, every change appended to the dossier and the audit trail.

The functions run on a synchronous session (the workers'); the gateway runs them through
`AsyncSession.run_sync`. Each takes `now`, so tests drive them with a fixed clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, or_, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm_store.audit import record_change
from crm_store.calendar import kst_date
from crm_store.calls.tables import Call, CallType
from crm_store.complaints.coordination import (
    add_subtasks,
    check_coordination,
    check_department,
    handling_blockers,
)
from crm_store.complaints.deadlines import (
    ComplaintLimits,
    ComplaintTerms,
    deadlines_for,
    extended_resolve_by,
    step_due,
)
from crm_store.complaints.notices import queue_notice, wants_text
from crm_store.complaints.steps import (
    NEXT_STEP,
    RECEIVERS,
    IllegalTransition,
    check_role,
    check_transition,
    parse_form,
)
from crm_store.complaints.tables import Complaint, ComplaintCall, ComplaintNumberSequence, ComplaintStep
from crm_store.complaints.wire import (
    Category,
    ComplaintCreate,
    ComplaintPublic,
    CoordinationForm,
    FeedbackForm,
    State,
    StepPublic,
    TransferForm,
)
from crm_store.customers.tables import Customer
from crm_store.errors import CustomerNotFound, NotFound
from crm_store.org.chain import ancestor_at
from crm_store.org.scope import CommandLine, Viewer, unit_in_scope
from crm_store.org.tables import OrgUnit, Staff
from crm_store.upsert import insert_ignoring_conflict
from crm_store.validation import Conflict, InvalidInput, NotAllowed

Actor = Viewer | CommandLine
T = TypeVar("T")
# The workers open complaints from classified calls and escalate overdue ones under this name.
WORKERS = CommandLine(username="workers")
# A received_at this far ahead of the server's clock is refused (clocks of other tools drift a little).
CLOCK_SKEW = timedelta(minutes=5)


class ComplaintNotFound(NotFound):
    """No complaint with this id (or it is outside the caller's scope)."""


@dataclass(frozen=True)
class Opened:
    """What opening gave: the complaint, and whether it was a repeat linked to one already open."""

    complaint: Complaint
    repeat: bool


def complaint_number(year: int, sequence: int) -> str:
    """C-YYYY-NNNNNN."""
    return f"C-{year:04d}-{sequence:06d}"


def next_number(session: Session, year: int) -> int:
    """The next sequence number of the year: the year's row is incremented under its row lock, so concurrent
    openings wait for each other's commit and never share a number."""
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    session.exec(insert_ignoring_conflict(dialect, ComplaintNumberSequence, {"year": year, "last": 0}))
    table = ComplaintNumberSequence.__table__  # type: ignore[attr-defined]
    result = session.execute(
        update(table).where(table.c.year == year).values(last=table.c.last + 1).returning(table.c.last)
    )
    return int(result.scalar_one())


def _unit(session: Session, unit_id: int) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound(f"no org unit {unit_id}")
    return unit


def _actor_unit(session: Session, actor: Actor) -> OrgUnit | None:
    return None if isinstance(actor, CommandLine) else _unit(session, actor.org_unit_id)


def _sees(actor_unit: OrgUnit | None, unit: OrgUnit) -> bool:
    return actor_unit is None or unit.path.startswith(actor_unit.path)


def append_entry(
    session: Session,
    actor: Actor,
    complaint: Complaint,
    *,
    action: str,
    from_state: str | None,
    form: dict[str, Any],
    now: datetime,
    audit: dict[str, Any] | None = None,
) -> ComplaintStep:
    """One dossier entry and its audit entry, in the caller's transaction; the entry (with its id)."""
    assert complaint.id is not None
    entry = ComplaintStep(
        complaint_id=complaint.id,
        action=action,
        from_state=from_state,
        to_state=complaint.state,
        staff_id=actor.staff_id,
        username=actor.username[:64],
        org_unit_id=complaint.org_unit_id,
        form=form,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    detail = {"number": complaint.number, "from_state": from_state, "to_state": complaint.state, **(audit or {})}
    record_change(
        session,
        actor,
        action=f"complaint.{action}"[:32],
        target=f"complaint:{complaint.id}",
        org_unit_id=complaint.org_unit_id,
        detail=detail,
        now=now,
        customer_id=complaint.customer_id,
    )
    return entry


def _link_call(session: Session, complaint_id: int, call_sid: str, now: datetime) -> None:
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    session.exec(
        insert_ignoring_conflict(
            dialect, ComplaintCall, {"complaint_id": complaint_id, "call_sid": call_sid, "linked_at": now}
        )
    )


def _open_one(session: Session, customer_id: int, topic: str | None) -> Complaint | None:
    if topic is None:
        return None
    return session.exec(
        select(Complaint).where(
            col(Complaint.customer_id) == customer_id,
            col(Complaint.topic) == topic,
            col(Complaint.state) != State.CLOSED.value,
        )
    ).first()


def _link_repeat(session: Session, actor: Actor, existing: Complaint, data: ComplaintCreate, now: datetime) -> Opened:
    assert existing.id is not None
    if data.call_sid is not None:
        _link_call(session, existing.id, data.call_sid, now)
    # In the database, not from the row as read: repeats arriving at once each count.
    session.exec(
        update(Complaint)  # type: ignore[call-overload]
        .where(col(Complaint.id) == existing.id)
        .values(repeats=col(Complaint.repeats) + 1, updated_at=now)
    )
    session.refresh(existing)
    append_entry(
        session,
        actor,
        existing,
        action="repeat",
        from_state=existing.state,
        form=data.model_dump(mode="json", exclude_none=True),
        now=now,
    )
    return Opened(existing, repeat=True)


def open_complaint(
    session: Session, actor: Actor, data: ComplaintCreate, *, now: datetime, terms: ComplaintTerms | None = None
) -> Opened:
    """Open a complaint (the receipt step) with its number and limits, owned by the customer's unit (lifted to the
    level its channel or topic asks for). A repeat, the same customer on the same topic while one is open, links to
    the open complaint instead (its call linked, a `repeat` entry in its dossier)."""
    terms = terms or ComplaintTerms()
    limits = terms.limits
    actor_unit = _actor_unit(session, actor)
    if isinstance(actor, Viewer) and actor.role not in RECEIVERS:
        takers = ", ".join(sorted(r.value for r in RECEIVERS))
        raise NotAllowed(f"the role {actor.role.value} may not open complaints (opened by: {takers})")
    customer = session.get(Customer, data.customer_id)
    if customer is None or not _sees(actor_unit, _unit(session, customer.org_unit_id)):
        raise CustomerNotFound(f"no customer {data.customer_id}")
    if data.topic is not None and data.topic not in limits.topics:
        raise InvalidInput({"topic": f"not a complaint topic: {', '.join(sorted(limits.topics))}"})
    received_at = data.received_at or now
    if received_at > now + CLOCK_SKEW:
        raise InvalidInput({"received_at": "lies in the future"})
    known_call = select(col(Call.id)).where(col(Call.call_sid) == data.call_sid)
    if data.call_sid is not None and session.exec(known_call).first() is None:
        raise InvalidInput({"call_sid": f"no call {data.call_sid}"})
    existing = _open_one(session, data.customer_id, data.topic)
    if existing is not None:
        return _link_repeat(session, actor, existing, data, now)
    unit = _unit(session, customer.org_unit_id)
    level = limits.owning_level(channel=data.channel.value, topic=data.topic)
    if level is not None:
        unit = ancestor_at(session, unit, level)
    assert unit.id is not None
    limits_of = deadlines_for(received_at, channel=data.channel.value, limits=limits, calendar=terms.calendar)
    year = kst_date(received_at).year
    try:
        # A savepoint: when another door opened the same customer's complaint on the same topic a moment ago, its
        # number goes back to the year's sequence and this opening links to that complaint instead.
        with session.begin_nested():
            sequence = next_number(session, year)
            complaint = Complaint(
                number=complaint_number(year, sequence),
                year=year,
                sequence=sequence,
                customer_id=data.customer_id,
                channel=data.channel.value,
                category=data.category.value,
                topic=data.topic,
                severity=data.severity.value,
                summary=data.summary,
                state=State.RECEIPT.value,
                org_unit_id=unit.id,
                department=limits.default_department,
                opened_by_id=actor.staff_id,
                fss_reference=data.fss_reference,
                received_at=received_at,
                acknowledge_by=limits_of.acknowledge_by,
                acknowledged_at=now if data.acknowledgement is not None else None,
                resolve_by=limits_of.resolve_by,
                mediation_by=limits_of.mediation_by,
                step_due_at=step_due(
                    "verification",
                    received_at=received_at,
                    resolve_by=limits_of.resolve_by,
                    limits=limits,
                    calendar=terms.calendar,
                ),
                created_at=now,
                updated_at=now,
            )
            session.add(complaint)
            session.flush()
    except IntegrityError:
        existing = _open_one(session, data.customer_id, data.topic)
        if existing is None:
            raise
        return _link_repeat(session, actor, existing, data, now)
    assert complaint.id is not None
    if data.call_sid is not None:
        _link_call(session, complaint.id, data.call_sid, now)
    entry = append_entry(
        session,
        actor,
        complaint,
        action="receipt",
        from_state=None,
        form=data.model_dump(mode="json", exclude_none=True),
        now=now,
        audit={"customer_id": data.customer_id, "org_unit_id": unit.id},
    )
    told = data.acknowledgement.model_dump(mode="json") if data.acknowledgement is not None else {}
    if wants_text("acknowledgement", told):
        queue_notice(session, complaint, "receipt", int(entry.id or 0), told, now=now)
    return Opened(complaint, repeat=False)


def open_complaint_from_call(
    session: Session, call_sid: str, *, now: datetime, actor: Actor = WORKERS, terms: ComplaintTerms | None = None
) -> Opened | None:
    """A call classified as a complaint, of a known customer, opens one (receipt done, the call linked; its topic's
    disclosure category, `other` without one); a call already linked gives its complaint again. None for a call
    that is no complaint or whose caller is unknown (the operators' review takes those)."""
    terms = terms or ComplaintTerms()
    call = session.exec(select(Call).where(col(Call.call_sid) == call_sid)).first()
    if call is None or call.type != CallType.COMPLAINT or call.customer_id is None:
        return None
    linked = session.exec(
        select(Complaint)
        .join(ComplaintCall, col(ComplaintCall.complaint_id) == col(Complaint.id))
        .where(col(ComplaintCall.call_sid) == call_sid)
    ).first()
    if linked is not None:
        return Opened(linked, repeat=False)
    topic = call.topic if call.topic in terms.limits.topics else None
    summary = (call.transcript or "").strip()[:2000] or "통화 중 접수된 불만"
    data = ComplaintCreate(
        customer_id=call.customer_id,
        channel="call",  # type: ignore[arg-type]
        category=terms.limits.topics.get(topic or "", "other"),  # type: ignore[arg-type]
        summary=summary,
        call_sid=call_sid,
        topic=topic,
        received_at=call.started_at or call.created_at,
    )
    return open_complaint(session, actor, data, now=now, terms=terms)


def get_complaint(session: Session, actor: Actor, complaint_id: int) -> Complaint:
    """A complaint whose responsible unit the actor sees (ComplaintNotFound otherwise, as if there were none)."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or not _sees(_actor_unit(session, actor), _unit(session, complaint.org_unit_id)):
        raise ComplaintNotFound(f"no complaint {complaint_id}")
    return complaint


def _check_level(session: Session, actor: Actor, complaint: Complaint, action: str, limits: ComplaintLimits) -> None:
    if isinstance(actor, CommandLine) or action != "handling":
        return
    needed = limits.handling_levels.get(complaint.channel)
    unit = _unit(session, actor.org_unit_id)
    if needed is not None and unit.level > needed:
        raise NotAllowed(f"a {complaint.channel} complaint is handled at org level {needed} or above")


def _last_feedback(session: Session, complaint_id: int) -> ComplaintStep | None:
    return session.exec(
        select(ComplaintStep)
        .where(col(ComplaintStep.complaint_id) == complaint_id, col(ComplaintStep.action) == "feedback")
        .order_by(col(ComplaintStep.id).desc())
    ).first()


def _transfer(session: Session, actor: Actor, complaint: Complaint, form: TransferForm) -> dict[str, Any]:
    """Check and apply a transfer: the target is in the actor's part of the organisation, or above the complaint's
    present unit (a complaint may always go up the chain)."""
    target = session.get(OrgUnit, form.to_unit_id)
    here = _unit(session, complaint.org_unit_id)
    actor_unit = _actor_unit(session, actor)
    if target is None or not target.active:
        raise InvalidInput({"to_unit_id": f"no active org unit {form.to_unit_id}"})
    if not (_sees(actor_unit, target) or here.path.startswith(target.path)):
        raise InvalidInput({"to_unit_id": "outside your part of the organisation and not above the complaint's unit"})
    assert target.id is not None
    check_department(session, target.id, form.department)
    if form.handler_id is not None:
        handler = session.get(Staff, form.handler_id)
        handler_unit = session.get(OrgUnit, handler.org_unit_id) if handler is not None else None
        if handler is None or not handler.active or handler_unit is None or not _sees(target, handler_unit):
            raise InvalidInput({"handler_id": "no active staff member of the responsible unit"})
    before = {"from_unit_id": complaint.org_unit_id, "from_department": complaint.department}
    complaint.org_unit_id = target.id
    complaint.department = form.department
    complaint.handler_id = form.handler_id
    complaint.escalate_again_at = None
    return before


def _another_open_on_topic() -> Conflict:
    return Conflict(
        {"topic": "the customer has another open complaint on this topic: link to it instead"},
        "another open complaint of the customer on this topic",
    )


def take_step(
    session: Session,
    actor: Actor,
    complaint_id: int,
    action: str,
    fields: dict[str, Any] | BaseModel,
    *,
    now: datetime,
    terms: ComplaintTerms | None = None,
) -> Complaint:
    """Take one step of a complaint with its form: NotFound outside the actor's scope, NotAllowed for a role (or
    org level) that may not take it, IllegalTransition from a state it cannot follow; the dossier and the audit
    trail record it."""
    terms = terms or ComplaintTerms()
    limits, calendar = terms.limits, terms.calendar
    complaint = get_complaint(session, actor, complaint_id)
    if isinstance(actor, Viewer):
        check_role(actor.role, action)
    _check_level(session, actor, complaint, action, limits)
    before = complaint.state
    target = check_transition(before, action)
    form = parse_form(action, fields)
    audit: dict[str, Any] = {}
    if action == "acknowledgement":
        if complaint.acknowledged_at is not None:
            raise IllegalTransition(
                {"acknowledged_at": "already acknowledged"}, "the complaint is already acknowledged"
            )
        complaint.acknowledged_at = now
    elif action == "extension":
        if complaint.channel == "fss" and not limits.fss.extendable:
            raise IllegalTransition(
                {"resolve_by": "an FSS referral's limit is not extended"}, "no extension of an FSS referral"
            )
        if complaint.extensions >= limits.max_extensions:
            raise IllegalTransition({"resolve_by": "the limit was already extended once"}, "already extended once")
        audit["resolve_by_before"] = complaint.resolve_by.isoformat()
        complaint.resolve_by = extended_resolve_by(complaint.resolve_by, limits=limits, calendar=calendar)
        complaint.extensions += 1
        complaint.extension_reason = getattr(form, "reason", None)
        audit["resolve_by"] = complaint.resolve_by.isoformat()
    elif action == "transfer":
        assert isinstance(form, TransferForm)
        audit.update(_transfer(session, actor, complaint, form))
        audit["to_unit_id"] = complaint.org_unit_id
    elif action == "coordination":
        assert isinstance(form, CoordinationForm)
        owners = check_coordination(session, complaint, form)
    elif action == "handling" and (blockers := handling_blockers(session, complaint_id)):
        raise IllegalTransition(blockers, "coordination is not finished: " + "; ".join(blockers.values()))
    elif action == "registration":
        registered = form.model_dump()
        if registered["topic"] is not None and registered["topic"] not in limits.topics:
            raise InvalidInput({"topic": "not a complaint topic"})
        if registered["topic"] != complaint.topic and _open_one(session, complaint.customer_id, registered["topic"]):
            raise _another_open_on_topic()
        complaint.category = str(registered["category"])
        complaint.topic = registered["topic"]
        complaint.severity = str(registered["severity"])
    elif action == "close":
        feedback = _last_feedback(session, complaint_id)
        if feedback is not None and feedback.form.get("disputed"):
            raise IllegalTransition({"state": "the customer disputes the outcome: reopen it"}, "disputed: reopen it")
        complaint.closed_at = now
    elif action == "reopen":
        if before == State.CLOSED and complaint.topic and _open_one(session, complaint.customer_id, complaint.topic):
            raise IllegalTransition(
                {"state": "another complaint on this topic is open"},
                "cannot reopen: another complaint on this topic is open",
            )
        complaint.reopened += 1
        complaint.closed_at = None
        again = deadlines_for(now, channel=complaint.channel, limits=limits, calendar=calendar).resolve_by
        complaint.resolve_by = max(complaint.resolve_by, again)
    if action == "feedback" and isinstance(form, FeedbackForm) and form.satisfaction <= 2:
        audit["dissatisfied"] = True
    complaint.state = target.value
    following = NEXT_STEP[target]
    if following is None:
        complaint.step_due_at = complaint.resolve_by
    elif target.value != before or action == "extension":
        complaint.step_due_at = step_due(
            following, received_at=complaint.received_at, resolve_by=complaint.resolve_by, limits=limits,
            calendar=calendar,
        )  # fmt: skip
    complaint.updated_at = now
    try:
        # A savepoint: a registration or reopening elsewhere may have just moved another of the customer's
        # complaints to this topic (one open complaint per customer and topic, kept by the database).
        with session.begin_nested():
            session.add(complaint)
            session.flush()
    except IntegrityError as err:
        raise _another_open_on_topic() from err
    filled = form.model_dump(mode="json")
    if action == "coordination" and form.subtasks:  # type: ignore[attr-defined]
        audit["subtask_ids"] = add_subtasks(session, complaint, form, owners, now)  # type: ignore[arg-type]
    entry = append_entry(
        session, actor, complaint, action=action, from_state=before, form=filled, now=now, audit=audit,
    )  # fmt: skip
    if wants_text(action, filled):
        decision = _last_decision(session, complaint_id) if action == "feedback" else ""
        queue_notice(session, complaint, action, int(entry.id or 0), filled, now=now, extra=decision)
    return complaint


def _last_decision(session: Session, complaint_id: int) -> str:
    handled = session.exec(
        select(ComplaintStep)
        .where(col(ComplaintStep.complaint_id) == complaint_id, col(ComplaintStep.action) == "handling")
        .order_by(col(ComplaintStep.id).desc())
    ).first()
    return str(handled.form.get("decision", "")) if handled is not None else ""


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """Open complaints past a limit: resolve, the next step's, or the acknowledgement not given in time."""
    return and_(
        col(Complaint.state) != State.CLOSED.value,
        or_(
            col(Complaint.resolve_by) < now,
            col(Complaint.step_due_at) < now,
            and_(col(Complaint.acknowledged_at).is_(None), col(Complaint.acknowledge_by) < now),
        ),
    )


def complaints_query(
    viewer: Viewer,
    *,
    now: datetime,
    state: State | None = None,
    overdue: bool = False,
    org_unit_id: int | None = None,
    category: Category | None = None,
    number: str | None = None,
    limit: int = 100,
    after_id: int | None = None,
    department: str | None = None,
    customer: str | None = None,
    received: tuple[datetime | None, datetime | None] = (None, None),
) -> Any:
    """Complaints whose responsible unit the viewer sees, soonest resolve limit first (the queue index); `number`
    finds the complaints whose number contains it, `customer` those of the customer of that id or whose name starts
    so (the name-prefix index), `received` those received in [from, to)."""
    query = select(Complaint).where(unit_in_scope(viewer, col(Complaint.org_unit_id)))
    if department:
        query = query.where(col(Complaint.department) == department)
    if customer and customer.isdigit():
        query = query.where(col(Complaint.customer_id) == int(customer))
    elif customer:
        named = select(col(Customer.id)).where(col(Customer.name).startswith(customer, autoescape=True))
        query = query.where(col(Complaint.customer_id).in_(named))
    if received[0] is not None:
        query = query.where(col(Complaint.received_at) >= received[0])
    if received[1] is not None:
        query = query.where(col(Complaint.received_at) < received[1])
    if category is not None:
        query = query.where(col(Complaint.category) == category.value)
    if number:
        query = query.where(col(Complaint.number).contains(number, autoescape=True))
    if org_unit_id is not None:
        query = query.where(col(Complaint.org_unit_id) == org_unit_id)
    if state is not None:
        query = query.where(col(Complaint.state) == state.value)
    if overdue:
        query = query.where(overdue_condition(now))
    if after_id is not None:
        # Keyset paging in the queue's order: the complaints after the one last seen (by resolve limit, then id).
        last_limit = select(col(Complaint.resolve_by)).where(col(Complaint.id) == after_id).scalar_subquery()
        query = query.where(tuple_(col(Complaint.resolve_by), col(Complaint.id)) > tuple_(last_limit, after_id))
    return query.order_by(col(Complaint.resolve_by), col(Complaint.id)).limit(limit)


def is_overdue(complaint: Complaint, now: datetime) -> bool:
    """The Python twin of `overdue_condition`, for one complaint at hand."""
    if complaint.state == State.CLOSED.value:
        return False
    unacknowledged = complaint.acknowledged_at is None and complaint.acknowledge_by < now
    return complaint.resolve_by < now or complaint.step_due_at < now or unacknowledged


def complaint_public(session: Session, complaint: Complaint, *, now: datetime | None = None) -> ComplaintPublic:
    """The complaint as the API shows it, with its linked calls (and whether it is overdue at `now`, if given)."""
    return complaints_public(session, [complaint], now=now)[0]


def complaints_public(
    session: Session, complaints: list[Complaint], *, now: datetime | None = None
) -> list[ComplaintPublic]:
    """Complaints as the API shows them (a page of the queue), their linked calls read in one query."""
    calls: dict[int | None, list[str]] = {complaint.id: [] for complaint in complaints}
    linked = session.exec(
        select(col(ComplaintCall.complaint_id), col(ComplaintCall.call_sid))
        .where(col(ComplaintCall.complaint_id).in_(list(calls)))
        .order_by(col(ComplaintCall.id))
    ).all()
    for complaint_id, sid in linked:
        calls[complaint_id].append(sid)
    return [
        ComplaintPublic.model_validate(complaint).model_copy(
            update={"calls": calls[complaint.id], "overdue": now is not None and is_overdue(complaint, now)}
        )
        for complaint in complaints
    ]


def dossier(session: Session, actor: Actor, complaint_id: int) -> list[StepPublic]:
    """Every entry of a complaint's dossier, oldest first."""
    get_complaint(session, actor, complaint_id)
    return dossier_entries(session, complaint_id)


def dossier_entries(session: Session, complaint_id: int) -> list[StepPublic]:
    """Every entry of the dossier of a complaint at hand (the caller has checked its scope), oldest first."""
    steps = session.exec(
        select(ComplaintStep).where(col(ComplaintStep.complaint_id) == complaint_id).order_by(col(ComplaintStep.id))
    ).all()
    return [StepPublic.model_validate(step) for step in steps]
