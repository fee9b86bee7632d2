"""Account managers (고객지배인): grades and their yearly certification, one manager per customer, service duties,
events and the monthly visit analysis report.

Grades principal and senior are approved by a provincial branch, the others by a city branch, above (or at) the
manager's own grass-roots unit. The current assignment of a customer is unique in the database (a partial unique
index on account_assignment); ending and replacing it keeps the history.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from pydantic import Field as PField
from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_read
from crm_store.customers.events import events_shown
from crm_store.customers.rules import Rules
from crm_store.customers.tables import Customer, CustomerEvent, CustomerKind, Policy, Segment
from crm_store.errors import CustomerNotFound, NotFound
from crm_store.managers.certifications import CertifiedManager
from crm_store.managers.tables import AccountAssignment, AccountManager, ManagerCertification, ManagerGrade, ServiceTask
from crm_store.org.scope import SUPERVISORS, Viewer, customer_in_scope, unit_in_scope
from crm_store.org.tables import OrgLevel, OrgUnit, Role, Staff
from crm_store.types import Answer, Day, Input, Moment, utcnow
from crm_store.upsert import insert_ignoring_conflict
from crm_store.validation import Conflict, InvalidInput, NotAllowed, business_today

PROVINCE_APPROVED = frozenset({ManagerGrade.PRINCIPAL, ManagerGrade.SENIOR})
GRASS_ROOTS = frozenset({OrgLevel.CITY, OrgLevel.COUNTY})
# Audit trail of the reads here: which fields of the customer were shown, and why.
HISTORY_FIELDS = ("account_manager.history",)
HISTORY_PURPOSE = "account-manager-history"
EVENTS_PURPOSE = "account-manager-events"


class CertificationCreate(Input):
    """POST /api/v1/account-managers/{username}/certifications."""

    grade: ManagerGrade = Field(description="the grade certified")
    certified_on: date = Field(description="the day of the certification (valid for a year)")
    evaluation: str | None = Field(default=None, max_length=200, description="the evaluation's words")


class AssignmentCreate(Input):
    """PUT /api/v1/customers/{id}/account-manager."""

    username: str = Field(
        min_length=1,
        max_length=64,
        description="username of a certified account manager of the customer's branch or the city branch above",
    )
    reason: str = Field(default="", max_length=200, description="why (kept in the assignment history)")


def approving_level(grade: ManagerGrade) -> OrgLevel:
    """The level of the branch that approves this grade."""
    return OrgLevel.PROVINCE if grade in PROVINCE_APPROVED else OrgLevel.CITY


async def _manager(session: AsyncSession, viewer: Viewer, username: str) -> tuple[Staff, OrgUnit]:
    row = (
        await session.exec(
            select(Staff, OrgUnit)
            .join(OrgUnit, col(OrgUnit.id) == col(Staff.org_unit_id))
            .where(
                col(Staff.username) == username,
                col(Staff.role) == Role.ACCOUNT_MANAGER.value,
                unit_in_scope(viewer, col(Staff.org_unit_id)),
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"no account manager {username!r}")
    return row[0], row[1]


async def visible_manager(session: AsyncSession, viewer: Viewer, username: str) -> tuple[Staff, OrgUnit]:
    """An account manager of the viewer's part of the organisation, with their unit; NotFound otherwise."""
    return await _manager(session, viewer, username)


async def certify(session: AsyncSession, viewer: Viewer, username: str, data: CertificationCreate) -> AccountManager:
    """Certify (or re-rate) an account manager for a year; the approver's branch level must fit the grade."""
    staff, unit = await _manager(session, viewer, username)
    if OrgLevel(unit.level) not in GRASS_ROOTS:
        raise InvalidInput({"username": "account managers work at city or county branches"})
    approver = (await session.exec(select(OrgUnit).where(col(OrgUnit.id) == viewer.org_unit_id))).one()
    needed = approving_level(data.grade)
    if viewer.role not in SUPERVISORS or approver.level != needed or not unit.path.startswith(approver.path):
        raise NotAllowed(f"grade {data.grade.value} is approved by the {needed.name.lower()} branch above the manager")
    assert staff.id is not None and approver.id is not None
    valid_until = _next_year(data.certified_on)
    session.add(
        ManagerCertification(
            staff_id=staff.id,
            grade=data.grade,
            certified_on=data.certified_on,
            valid_until=valid_until,
            evaluation=data.evaluation,
            approved_by_id=viewer.staff_id,
            approving_unit_id=approver.id,
        )
    )
    manager = await session.get(AccountManager, staff.id)
    if manager is None:
        manager = AccountManager(
            staff_id=staff.id, grade=data.grade, certified_on=data.certified_on, valid_until=valid_until
        )
    else:
        manager.grade, manager.certified_on, manager.valid_until = data.grade, data.certified_on, valid_until
    session.add(manager)
    await session.flush()
    return manager


async def assign(
    session: AsyncSession, viewer: Viewer, customer_id: int, data: AssignmentCreate, *, as_of: date
) -> AccountAssignment:
    """Make a certified manager of a unit at or above the customer's the customer's one account manager."""
    customer = (
        await session.exec(
            select(Customer, OrgUnit.path)
            .join(OrgUnit, col(OrgUnit.id) == col(Customer.org_unit_id))
            .where(col(Customer.id) == customer_id, customer_in_scope(viewer))
        )
    ).first()
    if customer is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    customer_path: str = customer[1]
    staff, unit = await _manager(session, viewer, data.username)
    if OrgLevel(unit.level) not in GRASS_ROOTS or not customer_path.startswith(unit.path):
        raise InvalidInput({"username": "the manager must work at the customer's branch or the city branch above it"})
    assert staff.id is not None
    manager = await session.get(AccountManager, staff.id)
    if manager is None or manager.valid_until < as_of:
        raise InvalidInput({"username": "the manager holds no valid certification"})
    current = (
        await session.exec(
            select(AccountAssignment).where(
                col(AccountAssignment.customer_id) == customer_id, col(AccountAssignment.ended_at).is_(None)
            )
        )
    ).first()
    if current is not None and current.account_manager_id == staff.id:
        return current
    now = utcnow()
    try:
        async with session.begin_nested():
            if current is not None:
                current.ended_at = now
                session.add(current)
                await session.flush()
            assignment = AccountAssignment(
                customer_id=customer_id,
                account_manager_id=staff.id,
                assigned_by_id=viewer.staff_id,
                reason=data.reason,
                assigned_at=now,
            )
            session.add(assignment)
            # The customer's duties still to do go with the customer to the new manager; done ones stay.
            await session.exec(
                update(ServiceTask)
                .where(col(ServiceTask.customer_id) == customer_id, col(ServiceTask.done_on).is_(None))
                .values(account_manager_id=staff.id)
            )
            await session.flush()
    except IntegrityError as err:
        raise Conflict(
            {"username": "the customer's manager was changed at the same time; try again"}, "concurrent assignment"
        ) from err
    return assignment


NEW_CUSTOMER_REASON = "신규 고객 자동 배정 (지점의 인증 관리자 중 담당 고객이 가장 적은 관리자)"


async def assign_new_customer(
    session: AsyncSession, viewer: Viewer, customer_id: int, *, unit_path: str, requested: str | None, as_of: date
) -> AccountAssignment | None:
    """Every new customer gets its one account manager at once: the one asked for (checked as `assign` checks), or
    else a certified manager of the customer's branch or the city branch above it, the nearest unit first and
    among its managers the one with the fewest customers. None when the branch has no certified manager: the
    customer is then listed to the branch's supervisors through an unaddressed event (crm_store.customers.events)."""
    if requested is not None:
        return await assign(
            session,
            viewer,
            customer_id,
            AssignmentCreate(username=requested, reason="신규 고객 등록 시 지정"),
            as_of=as_of,
        )
    load = (
        select(func.count())
        .where(col(AccountAssignment.account_manager_id) == col(Staff.id), col(AccountAssignment.ended_at).is_(None))
        .scalar_subquery()
    )
    pick = (
        await session.exec(
            select(col(Staff.id))
            .join(OrgUnit, col(OrgUnit.id) == col(Staff.org_unit_id))
            .join(AccountManager, col(AccountManager.staff_id) == col(Staff.id))
            .where(
                col(Staff.role) == Role.ACCOUNT_MANAGER.value,
                col(Staff.active),
                col(AccountManager.valid_until) >= as_of,
                col(OrgUnit.level).in_([level.value for level in GRASS_ROOTS]),
                col(OrgUnit.path).in_(_ancestor_paths(unit_path)),
            )
            .order_by(col(OrgUnit.level).desc(), load, col(Staff.id))
            .limit(1)
        )
    ).first()
    if pick is None:
        return None
    assignment = AccountAssignment(
        customer_id=customer_id,
        account_manager_id=pick,
        assigned_by_id=viewer.staff_id,
        reason=NEW_CUSTOMER_REASON,
        assigned_at=utcnow(),
    )
    session.add(assignment)
    await session.flush()
    return assignment


def _ancestor_paths(path: str) -> list[str]:
    """ "/1/4/9/" -> ["/1/", "/1/4/", "/1/4/9/"]: the unit and every unit above it (an index probe each)."""
    ids = [part for part in path.split("/") if part]
    return ["/" + "/".join(ids[: i + 1]) + "/" for i in range(len(ids))]


def assignment_history_query(customer_id: int) -> Any:
    return (
        select(AccountAssignment, Staff.username, Staff.full_name)
        .join(Staff, col(Staff.id) == col(AccountAssignment.account_manager_id))
        .where(col(AccountAssignment.customer_id) == customer_id)
        .order_by(col(AccountAssignment.assigned_at).desc(), col(AccountAssignment.id).desc())
    )


async def assignment_history(session: AsyncSession, viewer: Viewer, customer_id: int) -> list[dict[str, Any]]:
    """Every manager the customer has had, newest first: a read of the customer, audited in the session."""
    visible = (
        await session.exec(select(col(Customer.id)).where(col(Customer.id) == customer_id, customer_in_scope(viewer)))
    ).first()
    if visible is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    rows = (await session.exec(assignment_history_query(customer_id))).all()
    record_read(session, viewer, customer_id=customer_id, fields=HISTORY_FIELDS, purpose=HISTORY_PURPOSE)
    return [
        {
            "username": username,
            "full_name": name,
            "assigned_at": a.assigned_at.isoformat(),
            "ended_at": a.ended_at.isoformat() if a.ended_at else None,
            "reason": a.reason,
            "current": a.ended_at is None,
        }
        for a, username, name in rows
    ]


async def manager_profile(session: AsyncSession, viewer: Viewer, username: str) -> dict[str, Any]:
    """An account manager with the current grade, certification history and customer count."""
    staff, unit = await _manager(session, viewer, username)
    approver = aliased(Staff)
    history = (
        await session.exec(
            select(ManagerCertification, approver.username)
            .join(approver, col(approver.id) == col(ManagerCertification.approved_by_id))
            .where(col(ManagerCertification.staff_id) == staff.id)
            .order_by(col(ManagerCertification.certified_on).desc())
        )
    ).all()
    customers = (
        await session.exec(
            select(func.count())
            .select_from(AccountAssignment)
            .where(col(AccountAssignment.account_manager_id) == staff.id, col(AccountAssignment.ended_at).is_(None))
        )
    ).one()
    current = await session.get(AccountManager, staff.id)
    return {
        "username": staff.username,
        "full_name": staff.full_name,
        "org_unit_id": staff.org_unit_id,
        "org_unit_name": unit.name,
        "grade": current.grade if current else None,
        "certified_on": current.certified_on.isoformat() if current else None,
        "valid_until": current.valid_until.isoformat() if current else None,
        "customers": int(customers),
        "certifications": [
            {
                "grade": c.grade,
                "certified_on": c.certified_on.isoformat(),
                "valid_until": c.valid_until.isoformat(),
                "evaluation": c.evaluation,
                "approved_by": by,
            }
            for c, by in history
        ],
    }


async def manager_events(
    session: AsyncSession, viewer: Viewer, username: str, *, limit: int = 100
) -> list[dict[str, Any]]:
    """The manager's events about customers in the viewer's scope, newest first. Graded text (a blacklist reason)
    is masked below its grade (the `customer_event` document of the field grades); each customer named is read,
    audited in the session with the fields shown."""
    staff, _ = await _manager(session, viewer, username)
    events = (
        await session.exec(
            select(CustomerEvent)
            .join(Customer, col(Customer.id) == col(CustomerEvent.customer_id))
            .where(col(CustomerEvent.account_manager_id) == staff.id, customer_in_scope(viewer))
            .order_by(col(CustomerEvent.id).desc())
            .limit(limit)
        )
    ).all()
    return events_shown(session, viewer, [(e, {}) for e in events], purpose=EVENTS_PURPOSE)


async def monthly_report(session: AsyncSession, viewer: Viewer, username: str, *, month: date) -> dict[str, Any]:
    """The monthly visit analysis of one manager: customers by segment, duties due and done, events by kind."""
    staff, _ = await _manager(session, viewer, username)
    first = month.replace(day=1)
    after = (first + timedelta(days=32)).replace(day=1)
    segments = (
        await session.exec(
            select(col(Customer.segment), func.count())
            .join(AccountAssignment, col(AccountAssignment.customer_id) == col(Customer.id))
            .where(col(AccountAssignment.account_manager_id) == staff.id, col(AccountAssignment.ended_at).is_(None))
            .group_by(col(Customer.segment))
        )
    ).all()
    tasks = (
        await session.exec(
            select(ServiceTask).where(
                col(ServiceTask.account_manager_id) == staff.id,
                col(ServiceTask.due_on) < after,
                (col(ServiceTask.due_on) >= first)
                | col(ServiceTask.done_on).is_(None)
                | (col(ServiceTask.done_on) >= first),
            )
        )
    ).all()
    due = Counter(t.kind for t in tasks if first <= t.due_on < after)
    done = Counter(t.kind for t in tasks if t.done_on is not None and first <= t.done_on < after)
    overdue = Counter(t.kind for t in tasks if t.done_on is None and t.due_on < min(after, business_today()))
    events = (
        await session.exec(
            select(col(CustomerEvent.kind), func.count())
            .where(
                col(CustomerEvent.account_manager_id) == staff.id,
                col(CustomerEvent.created_at) >= _midnight(first),
                col(CustomerEvent.created_at) < _midnight(after),
            )
            .group_by(col(CustomerEvent.kind))
        )
    ).all()
    return {
        "username": staff.username,
        "month": first.strftime("%Y-%m"),
        "customers_by_segment": {str(s): int(n) for s, n in segments},
        "tasks_due": dict(due),
        "tasks_done": dict(done),
        "tasks_overdue": dict(overdue),
        "visit_completion": round(sum(done.values()) / sum(due.values()), 3) if due else None,
        "events": {str(k): int(n) for k, n in events},
    }


def _midnight(day: date) -> Any:
    from datetime import UTC, datetime, time

    return datetime.combine(day, time(0), tzinfo=UTC)


def _next_year(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def schedule_service_tasks(engine: Engine, *, rules: Rules, as_of: date) -> int:
    """The scheduled duties (idempotent): key-customer visits, quality-individual interviews, renewal reminders."""
    duties = rules.service_duties
    manager = col(AccountAssignment.account_manager_id)
    current = (col(AccountAssignment.customer_id) == col(Customer.id)) & col(AccountAssignment.ended_at).is_(None)
    created = 0
    with engine.begin() as conn:
        dialect = conn.dialect.name
        rows: list[dict[str, Any]] = []
        for kind, segment, kinds, every in (
            ("key_visit", Segment.KEY, tuple(CustomerKind), duties.key_visit_days),
            ("quality_interview", Segment.QUALITY, (CustomerKind.INDIVIDUAL,), duties.quality_interview_days),
        ):
            recent = select(col(ServiceTask.id)).where(
                col(ServiceTask.customer_id) == col(Customer.id),
                col(ServiceTask.kind) == kind,
                col(ServiceTask.due_on) > as_of - timedelta(days=every),
            )
            for customer_id, manager_id in conn.execute(
                select(col(Customer.id), manager)
                .outerjoin(AccountAssignment, current)
                .where(
                    col(Customer.segment) == segment.value,
                    col(Customer.kind).in_([k.value for k in kinds]),
                    ~recent.exists(),
                )
            ):
                rows.append(
                    {
                        "customer_id": customer_id,
                        "account_manager_id": manager_id,
                        "kind": kind,
                        "due_on": as_of,
                        "note": "",
                    }
                )
        horizon = as_of + timedelta(days=duties.renewal_reminder_days)
        for customer_id, manager_id, policy_id, number, end in conn.execute(
            sa_select(col(Policy.customer_id), manager, col(Policy.id), col(Policy.policy_number), col(Policy.end_date))
            .join(Customer, col(Customer.id) == col(Policy.customer_id))
            .outerjoin(AccountAssignment, current)
            .where(col(Policy.end_date) > as_of, col(Policy.end_date) <= horizon)
        ):
            rows.append(
                {
                    "customer_id": customer_id,
                    "account_manager_id": manager_id,
                    "kind": "renewal_reminder",
                    "due_on": end - timedelta(days=duties.renewal_reminder_days),
                    "policy_id": policy_id,
                    "note": f"{number} 만기 {end.isoformat()}",
                }
            )
        now = utcnow()
        for row in rows:
            # Counted by the ids returned: psycopg reports no rowcount (-1) for INSERT ... ON CONFLICT DO NOTHING.
            inserted = conn.execute(
                insert_ignoring_conflict(dialect, ServiceTask, {"policy_id": None, **row, "created_at": now}).returning(
                    col(ServiceTask.id)
                )
            )
            created += len(inserted.all())
    return created


# -- wire models -------------------------------------------------------------------------------------


class AssignmentPublic(Answer):
    """One account manager's time with a customer."""

    username: str = PField(description="the manager's username")
    full_name: str = PField(description="the manager's name")
    assigned_at: Moment = PField(description="since when (UTC)")
    ended_at: Moment | None = PField(description="until when (UTC); null: still the manager")
    reason: str = PField(description="why the manager was assigned")
    current: bool = PField(description="the customer's manager now")


class AssignmentList(Answer):
    """GET /api/v1/customers/{customer_id}/account-manager/history."""

    items: list[AssignmentPublic] = PField(description="newest first")


class CertificationRecord(Answer):
    """One yearly certification of an account manager."""

    grade: str = PField(description="principal, senior, intermediate, junior or trainee")
    certified_on: Day = PField(description="when it was granted")
    valid_until: Day = PField(description="the last day it holds")
    evaluation: str | None = PField(description="the evaluation's words")
    approved_by: str | None = PField(description="username of who certified")


class ManagerProfile(CertifiedManager):
    """An account manager: grade, certifications, customers."""

    customers: int = PField(description="customers the manager looks after")
    certifications: list[CertificationRecord] = PField(description="every certification, newest first")


class ManagerReport(Answer):
    """A manager's monthly visit analysis."""

    username: str = PField(description="the manager's username")
    month: str = PField(pattern=r"^\d{4}-\d{2}$", description="the month, YYYY-MM")
    customers_by_segment: dict[str, int] = PField(description="customers per segment")
    tasks_due: dict[str, int] = PField(description="duties due in the month, per kind")
    tasks_done: dict[str, int] = PField(description="duties done in the month, per kind")
    tasks_overdue: dict[str, int] = PField(description="duties overdue, per kind")
    visit_completion: float | None = PField(description="share of due duties done; null when none was due")
    events: dict[str, int] = PField(description="customer events in the month, per kind")
