"""The periodic duties of dispatch, for the workers (synchronous sessions): assignments not accepted in time go
back to the board, and requests whose promise ran out are flagged late and escalated to the center manager of the
dispatcher's unit (the nearest unit above it that has one). Each pass is one transaction, safe to repeat; on
PostgreSQL rows another pass holds are skipped (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from crm_store.dispatch.assignment import back_to_board
from crm_store.dispatch.promises import RUNNING
from crm_store.dispatch.requests import audit_request
from crm_store.dispatch.tables import DispatchAssignment, DispatchRequest
from crm_store.org.chain import path_ids
from crm_store.org.scope import CommandLine
from crm_store.org.tables import OrgUnit, Role, Staff

DUTY = CommandLine(username="dispatch-duty")
_PAGE = 200


@dataclass(frozen=True)
class Escalation:
    """A request found late, and the center manager it went to (None when no unit above has one)."""

    request_id: int
    manager: str | None
    manager_id: int | None


def unaccepted_query(now: datetime) -> Any:
    """Live assignments whose time to accept ran out, oldest first."""
    return (
        select(DispatchAssignment)
        .where(col(DispatchAssignment.ended_at).is_(None), col(DispatchAssignment.accepted_at).is_(None))
        .where(col(DispatchAssignment.accept_by) <= now)
        .order_by(col(DispatchAssignment.accept_by))
        .limit(_PAGE)
        .with_for_update(skip_locked=True)
    )


def return_unaccepted(session: Session, *, now: datetime) -> list[int]:
    """End the assignments not accepted in time and put their requests back on the board; the request ids."""
    returned = []
    for assignment in session.exec(unaccepted_query(now)).all():
        request = session.exec(
            select(DispatchRequest).where(col(DispatchRequest.id) == assignment.request_id).with_for_update()
        ).one()
        assignment.ended_at, assignment.outcome = now, "expired"
        session.add(assignment)
        if request.state == "assigned":
            back_to_board(request, now)
            session.add(request)
            audit_request(session, DUTY, request, "dispatch_unaccepted", {"assignment": assignment.id}, now)
            returned.append(int(request.id or 0))
    session.flush()
    return returned


def late_query(now: datetime) -> Any:
    """Requests still waiting for someone on site past their due time, not yet flagged."""
    return (
        select(DispatchRequest)
        .where(col(DispatchRequest.state).in_(sorted(RUNNING)), col(DispatchRequest.due_at) < now)
        .where(col(DispatchRequest.late_at).is_(None))
        .order_by(col(DispatchRequest.due_at))
        .limit(_PAGE)
        .with_for_update(skip_locked=True)
    )


def center_manager_for(session: Session, unit_id: int | None) -> Staff | None:
    """The active center manager of the unit, else of the nearest unit above it that has one."""
    if unit_id is None:
        return None
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        return None
    chain = list(reversed(path_ids(unit.path))) or [unit_id]
    managers = session.exec(
        select(Staff).where(
            col(Staff.org_unit_id).in_(chain),
            col(Staff.role) == Role.CENTER_MANAGER.value,
            col(Staff.active).is_(True),
        )
    ).all()
    by_unit: dict[int, Staff] = {}
    for manager in sorted(managers, key=lambda m: m.username):
        by_unit.setdefault(manager.org_unit_id, manager)
    return next((by_unit[u] for u in chain if u in by_unit), None)


def escalate_late(session: Session, *, now: datetime) -> list[Escalation]:
    """Flag the requests whose promise ran out with nobody on site, each escalated once (audited) to the center
    manager of its dispatcher's unit (of the request's unit when no dispatcher handled it yet)."""
    escalations = []
    for request in session.exec(late_query(now)).all():
        unit_id = request.org_unit_id
        if request.dispatcher_id is not None:
            dispatcher = session.get(Staff, request.dispatcher_id)
            unit_id = dispatcher.org_unit_id if dispatcher is not None else unit_id
        manager = center_manager_for(session, unit_id)
        request.late_at, request.updated_at = now, now
        request.escalated_to_id = manager.id if manager is not None else None
        session.add(request)
        late_minutes = int((now - request.due_at).total_seconds() // 60) if request.due_at else 0
        detail = {
            "manager": manager.username if manager else None,
            "late_minutes": late_minutes,
            "state": request.state,
        }
        audit_request(session, DUTY, request, "dispatch_escalated", detail, now)
        escalations.append(
            Escalation(int(request.id or 0), manager.username if manager else None, manager.id if manager else None)
        )
    session.flush()
    return escalations
