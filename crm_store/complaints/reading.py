"""What the complaint screens show besides the complaints themselves: a page of the queue with its filters, the
names of the customers, units and handlers they refer to, and the review items of their linked calls. Synchronous,
like the store's other operations (the gateway runs them through `crm_store.db.run_async`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from crm_store.complaints.coordination import department_names, departments_of
from crm_store.complaints.store import ComplaintNotFound, complaints_public, complaints_query, get_complaint
from crm_store.complaints.wire import ComplaintPublic
from crm_store.customers.tables import Customer
from crm_store.org.chain import path_ids
from crm_store.org.scope import Viewer
from crm_store.org.tables import OrgUnit, Staff
from crm_store.review.tables import ReviewItem


@dataclass(frozen=True)
class QueuePage:
    """One page of the complaint queue, and whether more follow it."""

    complaints: list[ComplaintPublic]
    more: bool


@dataclass(frozen=True)
class QueueChoices:
    """What the queue may be narrowed to: the units of the viewer's part (by name) and their departments."""

    units: dict[int, str]
    departments: dict[str, str]


def _department_choices(session: Session, unit_ids: list[int]) -> dict[str, str]:
    found: dict[str, str] = {}
    for department in departments_of(session, unit_ids):
        found.setdefault(department.code, department.name)
    return found


def queue_choices(session: Session, viewer: Viewer) -> QueueChoices:
    """The active units of the viewer's part of the organisation (own first, then by path) and their departments."""
    own = session.get(OrgUnit, viewer.org_unit_id)
    assert own is not None
    units = session.exec(
        select(OrgUnit).where(col(OrgUnit.path).startswith(own.path, autoescape=True), col(OrgUnit.active))
        .order_by(col(OrgUnit.path))
    ).all()  # fmt: skip
    ids = [int(u.id) for u in units if u.id is not None]
    return QueueChoices({int(u.id): u.name for u in units if u.id is not None}, _department_choices(session, ids))


def transfer_choices(session: Session, viewer: Viewer, unit_id: int) -> QueueChoices:
    """Where a complaint of this unit may go: the viewer's part of the organisation and the units above the
    complaint's, with their departments."""
    choices = queue_choices(session, viewer)
    here = session.get(OrgUnit, unit_id)
    above = session.exec(select(OrgUnit).where(col(OrgUnit.id).in_(path_ids(here.path) if here else []))).all()
    units = {int(u.id): u.name for u in sorted(above, key=lambda u: u.level) if u.id is not None and u.active}
    units.update(choices.units)
    return QueueChoices(units, _department_choices(session, list(units)))


@dataclass(frozen=True)
class ComplaintNames:
    """Names by id of what complaints refer to; review items by the CallSid they review."""

    customers: dict[int, str] = field(default_factory=dict)
    units: dict[int, str] = field(default_factory=dict)
    staff: dict[int, str] = field(default_factory=dict)
    review_items: dict[str, int] = field(default_factory=dict)
    departments: dict[tuple[int, str], str] = field(default_factory=dict)


def queue_page(session: Session, viewer: Viewer, *, now: datetime, limit: int, **filters: Any) -> QueuePage:
    """A page of the viewer's complaints, soonest resolve limit first, as their readers see them; `filters` are
    those of `complaints_query` (state, overdue, category, number, after_id)."""
    found = list(session.exec(complaints_query(viewer, now=now, limit=limit + 1, **filters)).all())
    return QueuePage(complaints_public(session, found[:limit], now=now), more=len(found) > limit)


def _names(session: Session, id_column: object, name_column: object, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = session.exec(select(id_column, name_column).where(col(id_column).in_(wanted)))  # type: ignore[call-overload]
    return {int(i): str(name) for i, name in rows.all()}


def complaint_names(
    session: Session, complaints: Sequence[ComplaintPublic], *, units: Iterable[int] = ()
) -> ComplaintNames:
    """The customers', units' (the complaints' and `units`) and handlers' names, and the linked calls' review
    items; the caller has checked the complaints' scope."""
    calls = sorted({sid for c in complaints for sid in c.calls})
    items = {}
    if calls:
        found = session.exec(
            select(col(ReviewItem.call_sid), col(ReviewItem.id)).where(col(ReviewItem.call_sid).in_(calls))
        )
        items = {str(sid): int(item_id) for sid, item_id in found.all() if item_id is not None}
    return ComplaintNames(
        customers=_names(session, Customer.id, Customer.name, (c.customer_id for c in complaints)),
        units=_names(session, OrgUnit.id, OrgUnit.name, [*(c.org_unit_id for c in complaints), *units]),
        staff=_names(session, Staff.id, Staff.full_name, (c.handler_id for c in complaints)),
        review_items=items,
        departments=department_names(session, [c.org_unit_id for c in complaints]),
    )


def sees_complaint(session: Session, viewer: Viewer, complaint_id: int) -> bool:
    """Whether the complaint is in the viewer's part of the organisation (a transfer up may have taken it out)."""
    try:
        get_complaint(session, viewer, complaint_id)
    except ComplaintNotFound:
        return False
    return True
