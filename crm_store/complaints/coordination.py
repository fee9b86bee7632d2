"""Departments and coordination of complaints: the departments of each org unit a complaint may be transferred to,
the sub-tasks coordination hands out (owners, due times, done and undone again), and the agreement handling waits
for. Synchronous, on the caller's session; every change goes to the dossier and the audit trail.

The customer management department (`customer_management`, 고객관리부) of every unit, at every level, owns the
unit's complaints: every unit has it without a row. `complaint_department` rows add the unit's other departments.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from sqlmodel import Session, col, select

from crm_store.audit import record_change
from crm_store.complaints.deadlines import load_limits
from crm_store.complaints.tables import Complaint, ComplaintDepartment, ComplaintStep, ComplaintSubtask
from crm_store.complaints.wire import CoordinationForm, State, SubtaskPublic
from crm_store.org.scope import CommandLine, Viewer
from crm_store.org.tables import OrgUnit, Role, Staff
from crm_store.types import Answer, Input
from crm_store.validation import Conflict, InvalidInput, NotAllowed

Actor = Viewer | CommandLine
# Whoever may mark another's sub-task done or undone (in scope); an owner may always mark their own.
SUBTASK_SUPERVISORS = frozenset({Role.CENTER_MANAGER, Role.EXECUTIVE})
# Who adds departments to a unit (in scope).
DEPARTMENT_KEEPERS = frozenset({Role.ADMIN, Role.CENTER_MANAGER})
OWNER_NAME = "고객관리부"


class DepartmentCreate(Input):
    """A department of an org unit complaints may be transferred to."""

    org_unit_id: int = Field(ge=1, description="the org unit")
    code: str = Field(min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9_]*$", description="its code, e.g. claims")
    name: str = Field(min_length=1, max_length=100, description="its Korean name, e.g. 보상부")


class DepartmentPublic(Answer):
    """A department of an org unit."""

    org_unit_id: int = Field(description="the org unit")
    code: str = Field(description="its code")
    name: str = Field(description="its Korean name")
    owns_complaints: bool = Field(description="the customer management department: owns the unit's complaints")


class SubtaskMark(Input):
    """A sub-task marked done or undone again."""

    done: bool = Field(description="true: done; false: undone again")
    note: str | None = Field(default=None, max_length=1000, description="a note to the dossier")


def owner_code() -> str:
    """The code of the department that owns complaints at every level."""
    return load_limits().default_department


def departments_of(session: Session, unit_ids: list[int]) -> list[DepartmentPublic]:
    """The departments of these units: each one's customer management department first, then its others by name."""
    rows = session.exec(
        select(ComplaintDepartment)
        .where(col(ComplaintDepartment.org_unit_id).in_(unit_ids), col(ComplaintDepartment.active))
        .order_by(col(ComplaintDepartment.org_unit_id), col(ComplaintDepartment.name))
    ).all()
    owner = owner_code()
    named = {(row.org_unit_id, row.code): row.name for row in rows}
    found = []
    for unit_id in unit_ids:
        found.append(DepartmentPublic(org_unit_id=unit_id, code=owner, name=named.get((unit_id, owner), OWNER_NAME),
                                      owns_complaints=True))  # fmt: skip
        found.extend(
            DepartmentPublic(org_unit_id=unit_id, code=row.code, name=row.name, owns_complaints=False)
            for row in rows
            if row.org_unit_id == unit_id and row.code != owner
        )
    return found


def department_names(session: Session, unit_ids: list[int]) -> dict[tuple[int, str], str]:
    """The departments' names by (unit, code)."""
    return {(d.org_unit_id, d.code): d.name for d in departments_of(session, sorted(set(unit_ids)))}


def check_department(session: Session, unit_id: int, code: str) -> None:
    """InvalidInput unless the unit has this department."""
    if (unit_id, code) not in department_names(session, [unit_id]):
        known = ", ".join(d.code for d in departments_of(session, [unit_id]))
        raise InvalidInput({"department": f"no department {code!r} in this org unit (its departments: {known})"})


def add_department(session: Session, actor: Actor, data: DepartmentCreate, *, now: datetime) -> DepartmentPublic:
    """Add a department to a unit in the actor's scope (administrators and center managers); audited."""
    unit = session.get(OrgUnit, data.org_unit_id)
    if isinstance(actor, Viewer):
        if actor.role not in DEPARTMENT_KEEPERS:
            raise NotAllowed("departments are added by administrators and center managers")
        own = session.get(OrgUnit, actor.org_unit_id)
        if unit is not None and own is not None and not unit.path.startswith(own.path):
            unit = None
    if unit is None or not unit.active:
        raise InvalidInput({"org_unit_id": f"no active org unit {data.org_unit_id} in your part of the organisation"})
    taken = session.exec(
        select(ComplaintDepartment).where(
            col(ComplaintDepartment.org_unit_id) == data.org_unit_id, col(ComplaintDepartment.code) == data.code
        )
    ).first()
    if taken is not None:
        raise Conflict({"code": "the unit already has this department"}, "department exists")
    session.add(ComplaintDepartment(org_unit_id=data.org_unit_id, code=data.code, name=data.name, created_at=now))
    record_change(session, actor, action="complaint.department", target=f"org_unit:{data.org_unit_id}",
                  org_unit_id=data.org_unit_id, detail={"code": data.code, "name": data.name}, now=now)  # fmt: skip
    session.flush()
    return DepartmentPublic(org_unit_id=data.org_unit_id, code=data.code, name=data.name,
                            owns_complaints=data.code == owner_code())  # fmt: skip


# -- coordination ---------------------------------------------------------------------------------------------------


def check_coordination(session: Session, complaint: Complaint, form: CoordinationForm) -> dict[str, Staff]:
    """The coordination's department is one of the complaint's unit; its sub-tasks' owners are active staff: by
    username. InvalidInput otherwise."""
    check_department(session, complaint.org_unit_id, form.department)
    owners = {task.owner for task in form.subtasks}
    staff = session.exec(select(Staff).where(col(Staff.username).in_(owners), col(Staff.active))).all()
    known = {member.username: member for member in staff}
    if unknown := owners - set(known):
        raise InvalidInput({"subtasks": f"no active staff member {', '.join(sorted(unknown))}"})
    return known


def add_subtasks(
    session: Session, complaint: Complaint, form: CoordinationForm, owners: dict[str, Staff], now: datetime
) -> list[int]:
    """The coordination's sub-tasks as rows; their ids."""
    assert complaint.id is not None
    rows = [
        ComplaintSubtask(
            complaint_id=complaint.id,
            department=form.department,
            what=task.what,
            owner_id=owners[task.owner].id,  # type: ignore[arg-type]
            owner_username=task.owner,
            due_at=task.due,
            created_at=now,
        )
        for task in form.subtasks
    ]
    session.add_all(rows)
    session.flush()
    return [int(row.id) for row in rows if row.id is not None]


def positions(session: Session, complaint_id: int) -> dict[str, bool]:
    """Each department's latest position in the complaint's coordination: agreed or not."""
    entries = session.exec(
        select(ComplaintStep)
        .where(col(ComplaintStep.complaint_id) == complaint_id, col(ComplaintStep.action) == "coordination")
        .order_by(col(ComplaintStep.id))
    ).all()
    return {str(entry.form.get("department")): bool(entry.form.get("agreed")) for entry in entries}


def open_subtasks(session: Session, complaint_id: int) -> list[ComplaintSubtask]:
    """The complaint's sub-tasks not done yet."""
    return list(
        session.exec(
            select(ComplaintSubtask).where(
                col(ComplaintSubtask.complaint_id) == complaint_id, col(ComplaintSubtask.done_at).is_(None)
            )
        ).all()
    )


def handling_blockers(session: Session, complaint_id: int) -> dict[str, str]:
    """Why the complaint cannot be handled yet: a department that does not agree, sub-tasks not done."""
    why = {}
    if against := sorted(dept for dept, agreed in positions(session, complaint_id).items() if not agreed):
        why["agreed"] = f"not agreed by: {', '.join(against)}"
    if undone := open_subtasks(session, complaint_id):
        why["subtasks"] = f"{len(undone)} sub-task(s) not done: {', '.join(t.what for t in undone)[:200]}"
    return why


def subtasks_of(session: Session, complaint_id: int) -> list[SubtaskPublic]:
    """The complaint's sub-tasks, oldest first."""
    rows = session.exec(
        select(ComplaintSubtask)
        .where(col(ComplaintSubtask.complaint_id) == complaint_id)
        .order_by(col(ComplaintSubtask.id))
    ).all()
    return [
        SubtaskPublic(id=int(row.id), department=row.department, what=row.what, owner=row.owner_username,  # type: ignore[arg-type]
                      due_at=row.due_at, done_at=row.done_at, done_by=row.done_by)  # type: ignore[arg-type]
        for row in rows
    ]  # fmt: skip


def subtask_change(
    session: Session, actor: Actor, complaint: Complaint, subtask_id: int, mark: SubtaskMark, *, now: datetime
) -> tuple[ComplaintSubtask, dict[str, Any]]:
    """Mark a sub-task of the complaint (in the actor's scope: the caller has checked) done or undone: by its owner,
    or a center manager or executive; not on a closed complaint, not to the state it is in. The form of its
    dossier entry."""
    task = session.get(ComplaintSubtask, subtask_id)
    if task is None or task.complaint_id != complaint.id:
        raise InvalidInput({"subtask_id": f"no sub-task {subtask_id} of this complaint"})
    if isinstance(actor, Viewer) and actor.staff_id != task.owner_id and actor.role not in SUBTASK_SUPERVISORS:
        raise NotAllowed("a sub-task is marked by its owner, a center manager or an executive")
    if complaint.state == State.CLOSED.value:
        raise Conflict({"state": "the complaint is closed"}, "closed complaint")
    if mark.done == (task.done_at is not None):
        raise Conflict({"done": "the sub-task is already so"}, "sub-task unchanged")
    task.done_at, task.done_by = (now, actor.username[:64]) if mark.done else (None, None)
    session.add(task)
    form = {"subtask_id": subtask_id, "what": task.what, "owner": task.owner_username, "done": mark.done}
    if mark.note:
        form["note"] = mark.note
    return task, form
