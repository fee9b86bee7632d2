"""The dispatch board's reads: the live requests a dispatcher may see (their unit and below), most urgent first,
with the time left against each promise; one request by id within that scope; a request as the wire shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.dispatch.config import DispatchConfig
from crm_store.dispatch.errors import DispatchNotFound
from crm_store.dispatch.promises import CLOSED, is_late, time_left, urgency
from crm_store.dispatch.tables import DispatchRequest
from crm_store.dispatch.wire import DispatchPublic, Place
from crm_store.org.scope import Viewer, unit_in_scope
from crm_store.org.tables import Staff
from crm_store.types import utcnow

_SURVEYOR = aliased(Staff, name="assigned_surveyor")


@dataclass(frozen=True)
class BoardRow:
    """A request on the board: the request, its colour (late, soon, ok), time left (None once nobody is awaited)."""

    request: DispatchPublic
    urgency: str
    time_left: timedelta | None


def to_public(request: DispatchRequest, *, surveyor: str | None, now: datetime) -> DispatchPublic:
    """The request as the API and the board show it."""
    location = None
    if request.lat is not None and request.lon is not None:
        location = Place(lat=request.lat, lon=request.lon, address=request.address)
    return DispatchPublic.model_validate(
        {
            **request.model_dump(include=set(DispatchPublic.model_fields) - {"location", "surveyor", "late"}),
            "location": location,
            "surveyor": surveyor,
            "late": is_late(request, now) or request.late_at is not None,
        }
    )


def _scoped(viewer: Viewer) -> Any:
    return (
        select(DispatchRequest, col(_SURVEYOR.username))
        .outerjoin(_SURVEYOR, col(_SURVEYOR.id) == col(DispatchRequest.surveyor_id))
        .where(unit_in_scope(viewer, col(DispatchRequest.org_unit_id)))
    )


async def board_requests(
    session: AsyncSession, viewer: Viewer, *, config: DispatchConfig, now: datetime | None = None, limit: int = 200
) -> list[BoardRow]:
    """The live requests (draft to reporting) of the viewer's scope: the late first, then by due time; drafts,
    which have no promise yet, after them."""
    now = now or utcnow()
    query = (
        _scoped(viewer)
        .where(col(DispatchRequest.state).not_in(sorted(CLOSED)))
        .order_by(case((col(DispatchRequest.due_at).is_(None), 1), else_=0), col(DispatchRequest.due_at))
        .limit(limit)
    )
    rows = []
    for request, surveyor in (await session.exec(query)).all():
        rows.append(
            BoardRow(
                to_public(request, surveyor=surveyor, now=now), urgency(request, now, config), time_left(request, now)
            )
        )
    return rows


async def dispatch_in_scope(
    session: AsyncSession, viewer: Viewer, request_id: int, *, now: datetime | None = None
) -> DispatchPublic:
    """One request the viewer may see; DispatchNotFound when it does not exist or lies outside their scope."""
    query = _scoped(viewer).where(col(DispatchRequest.id) == request_id)
    row = (await session.exec(query)).first()
    if row is None:
        raise DispatchNotFound(f"dispatch request {request_id} not found")
    request, surveyor = row
    return to_public(request, surveyor=surveyor, now=now or utcnow())
