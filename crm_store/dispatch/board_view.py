"""What the dispatch board shows besides its requests: the surveyors of the viewer's part of the organisation and
the vendors serving it by status (with their positions, for the map), and the history of assignments, all within
scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.dispatch.board import visible_to
from crm_store.dispatch.tables import DispatchAssignment, DispatchRequest, SurveyorProfile, Vendor
from crm_store.org.scope import Viewer, unit_in_scope
from crm_store.org.tables import OrgUnit, Staff

_ASSIGNER = aliased(Staff, name="assigner")
_SENT = aliased(Staff, name="sent")


@dataclass(frozen=True)
class FieldWorker:
    """A surveyor or a vendor as the board lists and maps them."""

    key: str
    name: str
    status: str
    lat: float | None
    lon: float | None
    skills: tuple[str, ...]
    load: int
    capacity: int
    position_at: datetime | None = None
    areas: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistoryRow:
    """One offer of a request: to whom, by whom, when, and how it ended (None while live)."""

    request_id: int
    kind: str
    who: str
    assigned_by: str | None
    assigned_at: datetime
    accepted_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    assignment_id: int = 0


def _loads(column: Any) -> Any:
    return (
        select(column.label("owner"), func.count().label("open"))
        .where(col(DispatchAssignment.ended_at).is_(None), column.is_not(None))
        .group_by(column)
        .subquery()
    )


async def surveyors_in_scope(
    session: AsyncSession, viewer: Viewer, *, username: str | None = None
) -> list[FieldWorker]:
    """The active surveyors whose home unit is in the viewer's scope (the one named `username` when given), by
    status then name."""
    loads = _loads(col(DispatchAssignment.surveyor_id))
    query: Any = (
        select(Staff.username, Staff.full_name, SurveyorProfile, loads.c.open)
        .join(SurveyorProfile, col(SurveyorProfile.staff_id) == col(Staff.id))
        .outerjoin(loads, loads.c.owner == col(Staff.id))
        .where(col(Staff.active), unit_in_scope(viewer, col(SurveyorProfile.home_unit_id)))
        .order_by(col(SurveyorProfile.status), col(Staff.username))
        .limit(500)
    )
    if username is not None:
        query = query.where(col(Staff.username) == username)
    return [
        FieldWorker(username, name, p.status, p.lat, p.lon, tuple(p.skills), int(n or 0), p.capacity, p.position_at)
        for username, name, p, n in (await session.exec(query)).all()
    ]


async def vendors_on_board(
    session: AsyncSession, viewer: Viewer | None = None, *, vendor_id: int | None = None
) -> list[FieldWorker]:
    """The active vendors (the one of `vendor_id` when given) by name, with their services as skills and whether
    they are busy; with a viewer, only those serving the viewer's part of the organisation (a service unit in it or
    above it)."""
    loads = _loads(col(DispatchAssignment.vendor_id))
    query: Any = (
        select(Vendor, loads.c.open)
        .outerjoin(loads, loads.c.owner == col(Vendor.id))
        .where(col(Vendor.active))
        .order_by(col(Vendor.name))
        .limit(200)
    )
    if vendor_id is not None:
        query = query.where(col(Vendor.id) == vendor_id)
    rows = (await session.exec(query)).all()
    unit_ids = sorted({unit for vendor, _ in rows for unit in vendor.service_unit_ids})
    if viewer is not None:
        unit_ids.append(viewer.org_unit_id)
    units = {
        unit_id: (path, name)
        for unit_id, path, name in (
            await session.exec(select(OrgUnit.id, OrgUnit.path, OrgUnit.name).where(col(OrgUnit.id).in_(unit_ids)))
        ).all()
    }
    mine = units[viewer.org_unit_id][0] if viewer is not None and viewer.org_unit_id in units else None
    out = []
    for vendor, n in rows:
        paths = [units[unit][0] for unit in vendor.service_unit_ids if unit in units]
        if viewer is not None and not any(mine and (p.startswith(mine) or mine.startswith(p)) for p in paths):
            continue
        load = int(n or 0)
        status = "busy" if load >= vendor.capacity else "available"
        areas = tuple(units[unit][1] if unit in units else str(unit) for unit in vendor.service_unit_ids)
        place = (vendor.lat, vendor.lon, tuple(vendor.services), load, vendor.capacity, vendor.position_at, areas)
        out.append(FieldWorker(str(vendor.id), vendor.name, status, *place))
    return out


async def assignment_history(
    session: AsyncSession, viewer: Viewer, *, request_id: int | None = None, limit: int = 30
) -> list[HistoryRow]:
    """The latest offers of the requests in the viewer's scope (of one request when given), newest first."""
    query: Any = (
        select(  # type: ignore[call-overload]
            DispatchAssignment, DispatchRequest.kind, _SENT.username, Vendor.name, _ASSIGNER.username
        )
        .join(DispatchRequest, col(DispatchRequest.id) == col(DispatchAssignment.request_id))
        .outerjoin(_SENT, col(_SENT.id) == col(DispatchAssignment.surveyor_id))
        .outerjoin(Vendor, col(Vendor.id) == col(DispatchAssignment.vendor_id))
        .outerjoin(_ASSIGNER, col(_ASSIGNER.id) == col(DispatchAssignment.assigned_by_id))
        .where(visible_to(viewer))
        .order_by(col(DispatchAssignment.id).desc())
        .limit(limit)
    )
    if request_id is not None:
        query = query.where(col(DispatchAssignment.request_id) == request_id)
    return [
        HistoryRow(
            a.request_id,
            kind,
            surveyor or vendor or "",
            by,
            a.assigned_at,
            a.accepted_at,
            a.ended_at,
            a.outcome,
            int(a.id or 0),
        )  # fmt: skip
        for a, kind, surveyor, vendor, by in (await session.exec(query)).all()
    ]


async def contact_of_surveyor(session: AsyncSession, staff_id: int) -> str | None:
    """The phone a surveyor is told on (their profile's)."""
    return (
        await session.exec(select(col(SurveyorProfile.phone)).where(col(SurveyorProfile.staff_id) == staff_id))
    ).first()
