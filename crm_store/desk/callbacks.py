"""Call-back tasks (회신 전화) as the queues' agents work them: the list of a viewer's queues and closing a task with
what came of it.

Who sees a task: an agent, the tasks of the queues they serve (a queue without skills is everybody's, as the call
distributor offers it); a center manager or administrator, those of the queues the agents of their part of the
organisation serve, every queue for the head office (as the wallboard cuts its board). The caller's customer is
named only when within the viewer's scope, each name shown audited as a read; otherwise `customer_status` says why
there is none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field as PField
from pydantic import field_validator
from sqlalchemy import and_, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_change, record_read
from crm_store.customers.tables import Customer
from crm_store.desk.agent_tables import AgentState, DeskAgent, serves_queue
from crm_store.desk.call_work import DESK_WRITERS, told
from crm_store.desk.tables import CallbackTask, DeskQueue
from crm_store.errors import NotFound
from crm_store.org.scope import Viewer, customer_in_scope
from crm_store.org.tables import OrgUnit, Role, Staff
from crm_store.types import SOME_TEXT, Answer, Input, Moment
from crm_store.validation import Conflict, NotAllowed

# Who works call-back tasks: the desk's agents and its supervisors (the route table's roles).
CALLBACK_WORKERS = DESK_WRITERS
NOT_A_WORKER = "회신 전화 목록은 상담원, 센터장, 관리자만 사용할 수 있습니다"
STATES = ("open", "done")
CustomerStatus = Literal["known", "unknown", "out_of_scope"]
CUSTOMER_NOTES = {
    "unknown": "발신 번호로 확인된 고객이 없습니다.",
    "out_of_scope": "조회 권한 밖의 고객입니다: 고객 정보는 표시되지 않습니다.",
}
_DONE_BY = aliased(Staff, name="callback_done_by")


class CallbackNotFound(NotFound):
    """No call-back task with this id among the viewer's queues."""


class CallbackDone(Input):
    """POST /api/v1/desk/callbacks/{id}/done: what came of the call back."""

    outcome: str = PField(**SOME_TEXT, min_length=1, max_length=1000, description="what happened (1 to 1000 chars)")

    _told = field_validator("outcome")(told)


class CallbackPublic(Answer):
    """One call-back task as the API shows it."""

    id: int = PField(description="the task")
    call_sid: str = PField(description="the call that left it")
    queue: str = PField(description="the queue's name")
    queue_label: str = PField(description="the queue's Korean name")
    reason: str = PField(description="abandoned (hung up while waiting), after_hours (a message left), unserved")
    caller: str | None = PField(description="the number to call back (E.164); null when withheld")
    customer_id: int | None = PField(description="the caller's customer when within your scope, else null")
    customer_name: str | None = PField(description="the customer's name when within your scope (audited), else null")
    customer_status: CustomerStatus = PField(description="known, unknown (no customer), out_of_scope")
    customer_note: str | None = PField(description="why no customer is named; null when one is")
    requested_at: Moment = PField(description="when the task was made")
    wait_seconds: int | None = PField(description="how long the caller waited before hanging up")
    message_left: bool = PField(description="whether the caller left a recorded message")
    done_at: Moment | None = PField(description="when it was closed; null while open")
    done_by: str | None = PField(description="who closed it")
    outcome: str | None = PField(description="what came of the call back")


class CallbackPage(Answer):
    """Call-back tasks of your queues, oldest first (done ones: most recently done first)."""

    items: list[CallbackPublic] = PField(description="this page's tasks")
    next: str | None = PField(description="the next page's address; null on the last page")


@dataclass(frozen=True)
class ServedQueues:
    """The queues whose tasks a viewer works: `ids` None for every queue."""

    ids: frozenset[int] | None

    def serves(self, queue_id: int) -> bool:
        return self.ids is None or queue_id in self.ids


async def served_queues(session: AsyncSession, viewer: Viewer) -> ServedQueues:
    """The queues of the viewer's call-back tasks; NotAllowed for a role that works none."""
    if viewer.role not in CALLBACK_WORKERS:
        raise NotAllowed(NOT_A_WORKER)
    queues = (await session.exec(select(col(DeskQueue.id), col(DeskQueue.skills)))).all()
    if viewer.role is Role.AGENT:
        own = await session.get(DeskAgent, viewer.staff_id)
        skills = set(own.skills) if own is not None else set()
    else:
        unit = await session.get(OrgUnit, viewer.org_unit_id)
        if unit is None:
            return ServedQueues(frozenset())
        if unit.level == 0:
            return ServedQueues(None)
        rows = await session.exec(
            select(col(DeskAgent.skills))
            .join(Staff, col(Staff.id) == col(DeskAgent.staff_id))
            .join(OrgUnit, col(OrgUnit.id) == col(Staff.org_unit_id))
            .where(col(OrgUnit.path).startswith(unit.path))
        )
        skills = {skill for row in rows.all() for skill in (row or ())}
    return ServedQueues(frozenset(int(qid or 0) for qid, qskills in queues if serves_queue(skills, qskills or ())))


def _listing(viewer: Viewer, served: ServedQueues) -> Any:
    in_scope = customer_in_scope(viewer)
    query = (
        select(CallbackTask, DeskQueue.name, DeskQueue.label, Customer.name, in_scope, _DONE_BY.username)  # type: ignore[call-overload]
        .join(DeskQueue, col(DeskQueue.id) == col(CallbackTask.queue_id))
        .outerjoin(Customer, col(Customer.id) == col(CallbackTask.customer_id))
        .outerjoin(_DONE_BY, col(_DONE_BY.id) == col(CallbackTask.done_by_id))
    )
    if served.ids is not None:
        query = query.where(col(CallbackTask.queue_id).in_(sorted(served.ids)))
    return query


def _public(session: AsyncSession, viewer: Viewer, row: Any) -> CallbackPublic:
    task, queue, label, name, in_scope, done_by = row
    if task.customer_id is None:
        status: CustomerStatus = "unknown"
    elif name is not None and in_scope:
        status = "known"
        record_read(session, viewer, customer_id=task.customer_id, fields=["name"], call_sid=task.call_sid,
                    purpose="callback")  # fmt: skip
    else:
        status = "out_of_scope"
    known = status == "known"
    return CallbackPublic.model_validate(
        {
            "id": task.id,
            "call_sid": task.call_sid,
            "queue": queue,
            "queue_label": label,
            "reason": task.reason,
            "caller": task.caller,
            "customer_id": task.customer_id if known else None,
            "customer_name": name if known else None,
            "customer_status": status,
            "customer_note": CUSTOMER_NOTES.get(status),
            "requested_at": task.requested_at,
            "wait_seconds": task.wait_seconds,
            "message_left": task.recording_sid is not None,
            "done_at": task.done_at,
            "done_by": done_by,
            "outcome": task.outcome,
        }
    )


async def list_callbacks(
    session: AsyncSession,
    viewer: Viewer,
    *,
    state: str = "open",
    queue: str | None = None,
    limit: int = 50,
    after_id: int | None = None,
) -> tuple[list[CallbackPublic], bool]:
    """Up to `limit` tasks of the viewer's queues (one queue by name if given): open ones oldest first, done ones
    most recently done first, after the task `after_id` (the last one seen); and whether more follow."""
    served = await served_queues(session, viewer)
    query = _listing(viewer, served)
    if queue is not None:
        query = query.where(col(DeskQueue.name) == queue)
    key: Any
    if state == "open":
        query = query.where(col(CallbackTask.done_at).is_(None))
        key, forward = col(CallbackTask.requested_at), True
    else:
        query = query.where(col(CallbackTask.done_at).is_not(None))
        key, forward = col(CallbackTask.done_at), False
    if after_id is not None:
        last = await session.get(CallbackTask, after_id)
        if last is not None:
            moment = last.requested_at if forward else last.done_at
            task_id = col(CallbackTask.id)
            if forward:
                query = query.where(or_(key > moment, and_(key == moment, task_id > after_id)))
            else:
                query = query.where(or_(key < moment, and_(key == moment, task_id < after_id)))
        else:
            query = query.where(col(CallbackTask.id) > after_id if forward else col(CallbackTask.id) < after_id)
    order = (key, col(CallbackTask.id)) if forward else (key.desc(), col(CallbackTask.id).desc())
    rows = (await session.exec(query.order_by(*order).limit(limit + 1))).all()
    return [_public(session, viewer, row) for row in rows[:limit]], len(rows) > limit


async def task_to_close(session: AsyncSession, viewer: Viewer, task_id: int) -> tuple[CallbackTask, ServedQueues]:
    """A task of the viewer's queues, locked for closing; NotAllowed for a role that works none, CallbackNotFound
    for a task not among their queues (checked before the body is read)."""
    served = await served_queues(session, viewer)
    query = select(CallbackTask).where(col(CallbackTask.id) == task_id).with_for_update()
    task = (await session.exec(query.execution_options(populate_existing=True))).first()
    if task is None or not served.serves(task.queue_id):
        raise CallbackNotFound("no such call-back task among your queues")
    return task, served


async def close_callback(
    session: AsyncSession,
    viewer: Viewer,
    task: CallbackTask,
    served: ServedQueues,
    done: CallbackDone,
    *,
    now: datetime,
) -> CallbackPublic:
    """Close a task (`task_to_close`) with its outcome, audited as a change; Conflict for one already done."""
    if task.done_at is not None:
        raise Conflict({"state": f"the call-back task is already done (at {task.done_at.isoformat()})"}, "task done")
    task.done_at, task.done_by_id, task.outcome = now.astimezone(UTC), viewer.staff_id, done.outcome
    session.add(task)
    record_change(
        session,
        viewer,
        action="desk.callback_done",
        target=f"callback:{task.id}",
        org_unit_id=viewer.org_unit_id,
        detail={"outcome": [None, done.outcome], "call_sid": task.call_sid},
        now=now,
        customer_id=task.customer_id,
    )
    await session.flush()
    row = (await session.exec(_listing(viewer, served).where(col(CallbackTask.id) == task.id))).one()
    return _public(session, viewer, row)


async def desks_serving(session: AsyncSession, queue_id: int, *, since: datetime) -> tuple[str | None, list[int]]:
    """The queue's name and the staff ids of the desks open now that show its tasks: its agents, and the center
    managers at a desk; open: online (the silence check makes a quiet desk's agent offline) or beating since `since`
    (a desk open while its agent chose offline). One statement over the desk profiles (a row per agent)."""
    queue = await session.get(DeskQueue, queue_id)
    if queue is None:
        return None, []
    rows = await session.exec(
        select(col(DeskAgent.staff_id), col(DeskAgent.skills), col(Staff.role))
        .join(Staff, col(Staff.id) == col(DeskAgent.staff_id))
        .where(or_(col(DeskAgent.state) != AgentState.OFFLINE.value, col(DeskAgent.heartbeat_at) >= since))
    )
    return queue.name, [
        int(staff_id)
        for staff_id, skills, role in rows.all()
        if role == Role.CENTER_MANAGER.value or serves_queue(set(skills or ()), queue.skills or ())
    ]
