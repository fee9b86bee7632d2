"""The account managers' service duties as they see and do them: a manager's duties (visits of key customers,
phone interviews of quality individuals, renewal reminders), open or done, in due-date order; and marking one done
with its outcome, which the monthly visit analysis report then counts.

`crm_store.managers.account_managers.schedule_service_tasks` creates the duties. A manager's list is seen by the
manager, and by center managers, executives and administrators whose part of the organisation holds the manager; a duty
is marked done by its manager or by a center manager who can see its customer. Listing names the customers, so it is
audited as a read of each; marking done is audited as a change in the customer's trail.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import Field as PField
from pydantic import field_validator
from sqlalchemy import or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_customer_change, record_read
from crm_store.customers.tables import Customer, Policy
from crm_store.errors import ServiceTaskNotFound
from crm_store.managers.account_managers import visible_manager
from crm_store.managers.tables import ServiceTask
from crm_store.org.scope import SUPERVISORS, Viewer, customer_in_scope
from crm_store.org.tables import Role, Staff
from crm_store.types import SOME_TEXT, Answer, Day, Input, iso, stripped
from crm_store.validation import InvalidInput, NotAllowed

# Who may see another manager's duties (within their part of the organisation).
TASK_STATES = ("open", "done", "all")
DUTY_NAMES = {
    "key_visit": "중점 고객 정기 방문",
    "quality_interview": "우량 고객 정기 전화 인터뷰",
    "renewal_reminder": "갱신 알림",
}
# How far back a duty may be recorded as done (a visit entered late, not a year later).
LATE_ENTRY_DAYS = 92
_LISTED_FIELDS = ("name", "segment", "service_tasks")


class TaskCompletion(Input):
    """POST /api/v1/service-tasks/{id}/done."""

    outcome: str = Field(schema_extra=SOME_TEXT, min_length=1, max_length=1000, description="what came of it")
    done_on: date | None = Field(default=None, description="the day it was done; by default today")

    @field_validator("outcome")
    @classmethod
    def _outcome(cls, value: str) -> str:
        return stripped(value, "say what came of it")


def task_public(
    task: ServiceTask, *, as_of: date, account_manager: str | None, done_by: str | None = None
) -> TaskPublic:
    """A duty as the API shows it (without the customer's name: the list adds it, audited)."""
    assert task.id is not None
    return TaskPublic(
        id=task.id,
        account_manager=account_manager,
        kind=task.kind,
        kind_name=DUTY_NAMES.get(task.kind, task.kind),
        customer_id=task.customer_id,
        policy_id=task.policy_id,
        due_on=task.due_on.isoformat(),
        done_on=iso(task.done_on),
        overdue=task.done_on is None and task.due_on < as_of,
        note=task.note,
        outcome=task.outcome,
        done_by=done_by,
    )


async def manager_tasks(
    session: AsyncSession,
    viewer: Viewer,
    username: str,
    *,
    as_of: date,
    state: str = "open",
    kind: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """One manager's duties in due-date order (open, done or all), each with its customer's name and segment."""
    staff, _unit = await visible_manager(session, viewer, username)
    own = staff.id == viewer.staff_id
    if not own and viewer.role not in SUPERVISORS:
        raise NotAllowed("a manager's duties are seen by the manager, center managers and the levels above")
    if state not in TASK_STATES:
        raise InvalidInput({"state": f"one of {', '.join(TASK_STATES)}"})
    done_by = aliased(Staff, name="done_by")
    query: Any = (
        sa_select(  # type: ignore[call-overload]
            ServiceTask, col(Customer.name), col(Customer.segment), col(Policy.policy_number), col(done_by.username)
        )
        .join(Customer, col(Customer.id) == col(ServiceTask.customer_id))
        .outerjoin(Policy, col(Policy.id) == col(ServiceTask.policy_id))
        .outerjoin(done_by, col(done_by.id) == col(ServiceTask.done_by_id))
        .where(col(ServiceTask.account_manager_id) == staff.id)
    )
    if not own:
        query = query.where(customer_in_scope(viewer))
    if state == "open":
        query = query.where(col(ServiceTask.done_on).is_(None))
    elif state == "done":
        query = query.where(col(ServiceTask.done_on).is_not(None))
    if kind is not None:
        query = query.where(col(ServiceTask.kind) == kind)
    rows = (await session.exec(query.order_by(col(ServiceTask.due_on), col(ServiceTask.id)).limit(limit))).all()
    for customer_id in dict.fromkeys(task.customer_id for task, *_ in rows):
        record_read(session, viewer, customer_id=customer_id, fields=_LISTED_FIELDS, purpose="service_tasks")
    return [
        {
            **task_public(task, as_of=as_of, account_manager=staff.username, done_by=by).wire(),
            "customer_name": name,
            "customer_segment": segment,
            "policy_number": number,
        }
        for task, name, segment, number, by in rows
    ]


async def complete_task(
    session: AsyncSession, viewer: Viewer, task_id: int, data: TaskCompletion, *, as_of: date
) -> TaskPublic:
    """Mark a duty done with its outcome (once: marking it again answers it as it was), audited."""
    row = (
        await session.exec(
            select(ServiceTask, Customer.org_unit_id)
            .join(Customer, col(Customer.id) == col(ServiceTask.customer_id))
            .where(
                col(ServiceTask.id) == task_id,
                or_(col(ServiceTask.account_manager_id) == viewer.staff_id, customer_in_scope(viewer)),
            )
        )
    ).first()
    if row is None:
        raise ServiceTaskNotFound(f"no service task {task_id}")
    task, unit_id = row
    if task.account_manager_id != viewer.staff_id and viewer.role is not Role.CENTER_MANAGER:
        raise NotAllowed("a duty is marked done by its account manager or a center manager above")
    if task.done_on is None:
        done_on = data.done_on or as_of
        if done_on > as_of:
            raise InvalidInput({"done_on": "in the future"})
        if done_on < as_of - timedelta(days=LATE_ENTRY_DAYS):
            raise InvalidInput({"done_on": f"more than {LATE_ENTRY_DAYS} days ago"})
        # Only the first of two concurrent completions writes (and is audited); the other answers what it wrote.
        result = await session.exec(
            update(ServiceTask)
            .where(col(ServiceTask.id) == task_id, col(ServiceTask.done_on).is_(None))
            .values(done_on=done_on, outcome=data.outcome, done_by_id=viewer.staff_id)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            record_customer_change(
                session,
                viewer,
                customer_id=task.customer_id,
                org_unit_id=unit_id,
                action="service_task.done",
                target=f"service_task:{task_id}",
                detail={
                    "kind": task.kind,
                    "due_on": task.due_on.isoformat(),
                    "done_on": done_on.isoformat(),
                    "outcome": data.outcome,
                },
            )
        await session.refresh(task)
    names = dict(
        (
            await session.exec(
                select(col(Staff.id), col(Staff.username)).where(
                    col(Staff.id).in_([task.account_manager_id or 0, task.done_by_id or 0])
                )
            )
        ).all()
    )
    return task_public(
        task,
        as_of=as_of,
        account_manager=names.get(task.account_manager_id or 0),
        done_by=names.get(task.done_by_id or 0),
    )


# -- wire models -------------------------------------------------------------------------------------


class TaskPublic(Answer):
    """An account manager's duty as the API shows it."""

    id: int = PField(description="the duty's id")
    account_manager: str | None = PField(description="the manager it falls to")
    kind: str = PField(description="the duty's code")
    kind_name: str = PField(description="the duty's Korean name")
    customer_id: int = PField(description="the customer it concerns")
    policy_id: int | None = PField(description="the policy it concerns, if any")
    due_on: Day = PField(description="when it is due")
    done_on: Day | None = PField(description="when it was done; null while open")
    overdue: bool = PField(description="open and past its due date")
    note: str | None = PField(description="what it is about")
    outcome: str | None = PField(description="what came of it")
    done_by: str | None = PField(description="who marked it done")


class TaskListed(TaskPublic):
    """A duty in a manager's list, with its customer and policy."""

    customer_name: str = PField(description="the customer's name (an audited read)")
    customer_segment: str | None = PField(description="the customer's segment")
    policy_number: str | None = PField(description="the policy's number, if any")


class TaskList(Answer):
    """GET /api/v1/account-managers/{username}/tasks."""

    items: list[TaskListed] = PField(description="in due-date order")
