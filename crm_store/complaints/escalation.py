"""Overdue complaints: listed, and moved up the organisation (to the parent unit) by the workers' periodic duty.

A complaint is overdue when it is open past a limit: its resolve limit, its next step's limit, or its
acknowledgement not given in time. Each pass moves every overdue complaint one level up, unless it moved up less
than `escalate_again_after_business_days` ago; a complaint at the head office stays listed there. The move is
conditional on the complaint being where it was found, so a transfer or a step taken at that moment wins.
Complaints whose next limit is near are listed for reminders (`complaints_due_soon`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import not_, or_, update
from sqlmodel import Session, col, select

from crm_store.complaints.deadlines import ComplaintTerms, escalate_again_at, remind_horizon
from crm_store.complaints.store import WORKERS, Actor, append_entry, overdue_condition
from crm_store.complaints.tables import Complaint, ComplaintReminder
from crm_store.complaints.wire import State
from crm_store.org.chain import owned_below_a_parent
from crm_store.upsert import insert_ignoring_conflict


def overdue_reason(complaint: Complaint, now: datetime) -> str:
    """Which limit the complaint missed, first the most serious."""
    if complaint.resolve_by < now:
        return "resolve_by"
    if complaint.acknowledged_at is None and complaint.acknowledge_by < now:
        return "acknowledge_by"
    return "step_due_at"


def overdue_complaints(session: Session, *, now: datetime, limit: int = 1000) -> list[Complaint]:
    """Every open complaint past a limit at `now`, the longest overdue resolve limit first."""
    query = select(Complaint).where(overdue_condition(now)).order_by(col(Complaint.resolve_by), col(Complaint.id))
    return list(session.exec(query.limit(limit)).all())


def complaints_due_soon(
    session: Session, *, now: datetime, terms: ComplaintTerms | None = None, limit: int = 1000
) -> list[Complaint]:
    """Open complaints not yet overdue whose next step or resolve limit falls within the reminder horizon
    (`remind_business_days_before`), the soonest first: whom to remind before they fall due."""
    terms = terms or ComplaintTerms()
    horizon = remind_horizon(now, limits=terms.limits, calendar=terms.calendar)
    query = (
        select(Complaint)
        .where(
            col(Complaint.state) != State.CLOSED.value,
            not_(overdue_condition(now)),
            or_(col(Complaint.step_due_at) <= horizon, col(Complaint.resolve_by) <= horizon),
        )
        .order_by(col(Complaint.step_due_at), col(Complaint.id))
        .limit(limit)
    )
    return list(session.exec(query).all())


def escalate_overdue_complaints(
    session: Session, *, now: datetime, actor: Actor = WORKERS, terms: ComplaintTerms | None = None
) -> list[int]:
    """Move every overdue complaint due for it to its unit's parent; the ids moved (dossier and audit record each)."""
    terms = terms or ComplaintTerms()
    rows = owned_below_a_parent(
        session,
        Complaint,
        overdue_condition(now),
        or_(col(Complaint.escalate_again_at).is_(None), col(Complaint.escalate_again_at) <= now),
    )
    moved: list[int] = []
    for complaint, unit, parent in rows:
        assert complaint.id is not None
        again = escalate_again_at(now, limits=terms.limits, calendar=terms.calendar)
        result = session.exec(
            update(Complaint)  # type: ignore[call-overload]
            .where(
                col(Complaint.id) == complaint.id,
                col(Complaint.org_unit_id) == unit.id,
                col(Complaint.state) == complaint.state,
                col(Complaint.escalations) == complaint.escalations,
            )
            .values(
                org_unit_id=parent.id,
                escalations=complaint.escalations + 1,
                escalate_again_at=again,
                updated_at=now,
            )
        )
        if not result.rowcount:
            continue
        session.refresh(complaint)
        reason = overdue_reason(complaint, now)
        append_entry(
            session,
            actor,
            complaint,
            action="escalation",
            from_state=complaint.state,
            form={"from_unit_id": unit.id, "to_unit_id": parent.id, "missed": reason,
                  "note": f"처리 기한 초과: {unit.name} → {parent.name}"},
            now=now,
            audit={"from_unit_id": unit.id, "to_unit_id": parent.id, "missed": reason},
        )  # fmt: skip
        moved.append(complaint.id)
    return moved


def remind_due_soon(
    session: Session, *, now: datetime, actor: Actor = WORKERS, terms: ComplaintTerms | None = None
) -> list[int]:
    """Remind of every complaint whose next limit falls within the reminder horizon, once per limit and due moment:
    a `reminder` entry in its dossier (the handler and the unit's queue see it); the ids reminded now."""
    terms = terms or ComplaintTerms()
    reminded: list[int] = []
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    for complaint in complaints_due_soon(session, now=now, terms=terms):
        assert complaint.id is not None
        name, due = min(
            ("step_due_at", complaint.step_due_at), ("resolve_by", complaint.resolve_by), key=lambda x: x[1]
        )
        values = {"complaint_id": complaint.id, "limit_name": name, "due_at": due, "created_at": now}
        if not session.exec(insert_ignoring_conflict(dialect, ComplaintReminder, values)).rowcount:  # type: ignore[attr-defined]
            continue
        append_entry(session, actor, complaint, action="reminder", from_state=complaint.state,
                     form={"limit": name, "due": due.isoformat()}, now=now)  # fmt: skip
        reminded.append(complaint.id)
    return reminded
