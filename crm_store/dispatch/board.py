"""The dispatch board's reads: the live requests a dispatcher may see (their unit and below), most urgent first,
with the time left against each promise; one request by id within that scope; a request as the wire shows it.

A surveyor's scope is their own assignments, wherever the scene is (they may be sent across provinces)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.dispatch.config import DispatchConfig
from crm_store.dispatch.errors import DispatchNotFound
from crm_store.dispatch.promises import CLOSED, is_late, time_left, urgency
from crm_store.dispatch.tables import DispatchRequest
from crm_store.dispatch.wire import DispatchPublic, Place
from crm_store.org.scope import Viewer, unit_in_scope
from crm_store.org.tables import Role, Staff
from crm_store.types import utcnow

_SURVEYOR = aliased(Staff, name="assigned_surveyor")


@dataclass(frozen=True)
class BoardRow:
    """A request on the board: the request, its colour (late, soon, ok), time left (None once nobody is awaited)."""

    request: DispatchPublic
    urgency: str
    time_left: timedelta | None


def to_public(
    request: DispatchRequest, *, surveyor: str | None, now: datetime, config: DispatchConfig
) -> DispatchPublic:
    """The request as the API and the board show it, with its colour and the time left against its promise."""
    location = None
    if request.lat is not None and request.lon is not None:
        location = Place(lat=request.lat, lon=request.lon, address=request.address)
    left = time_left(request, now)
    return DispatchPublic.model_validate(
        {
            **request.model_dump(include=set(DispatchPublic.model_fields) - {"location", "surveyor", "late"}),
            "location": location,
            "surveyor": surveyor,
            "late": is_late(request, now) or request.late_at is not None,
            "urgency": urgency(request, now, config),
            "time_left_minutes": None if left is None else math.floor(left.total_seconds() / 60),
        }
    )


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """The requests a viewer may see: a surveyor their own assignments, anyone else their unit's and below."""
    if viewer.role is Role.SURVEYOR:
        return col(DispatchRequest.surveyor_id) == viewer.staff_id
    return unit_in_scope(viewer, col(DispatchRequest.org_unit_id))


def _scoped(viewer: Viewer) -> Any:
    return (
        select(DispatchRequest, col(_SURVEYOR.username))
        .outerjoin(_SURVEYOR, col(_SURVEYOR.id) == col(DispatchRequest.surveyor_id))
        .where(visible_to(viewer))
    )


@dataclass(frozen=True)
class BoardFilter:
    """Which requests of the board: those in one `state` (None: the live ones), `limit` of them from `offset`."""

    state: str | None = None
    limit: int = 200
    offset: int = 0


async def board_requests(
    session: AsyncSession,
    viewer: Viewer,
    *,
    config: DispatchConfig,
    now: datetime | None = None,
    only: BoardFilter = BoardFilter(),
) -> list[BoardRow]:
    """The requests of the viewer's scope in one state, or the live ones (draft to reporting): the late first, then
    by due time; drafts, which have no promise yet, after them (a page by position)."""
    now = now or utcnow()
    state = col(DispatchRequest.state)
    wanted = state == only.state if only.state is not None else state.not_in(sorted(CLOSED))
    query = (
        _scoped(viewer)
        .where(wanted)
        .order_by(
            case((col(DispatchRequest.due_at).is_(None), 1), else_=0),
            col(DispatchRequest.due_at),
            col(DispatchRequest.id),
        )
        .offset(only.offset)
        .limit(only.limit)
    )
    rows = []
    for request, surveyor in (await session.exec(query)).all():
        public = to_public(request, surveyor=surveyor, now=now, config=config)
        rows.append(BoardRow(public, public.urgency, time_left(request, now)))
    return rows


async def board_row(
    session: AsyncSession, viewer: Viewer, request_id: int, *, config: DispatchConfig, now: datetime | None = None
) -> BoardRow:
    """One request the viewer may see, as a row of their board (whatever its state); DispatchNotFound when it does
    not exist or lies outside their scope."""
    now = now or utcnow()
    query = _scoped(viewer).where(col(DispatchRequest.id) == request_id)
    row = (await session.exec(query)).first()
    if row is None:
        raise DispatchNotFound(f"dispatch request {request_id} not found")
    request, surveyor = row
    public = to_public(request, surveyor=surveyor, now=now, config=config)
    return BoardRow(public, public.urgency, time_left(request, now))


async def dispatch_in_scope(
    session: AsyncSession, viewer: Viewer, request_id: int, *, config: DispatchConfig, now: datetime | None = None
) -> DispatchPublic:
    """One request the viewer may see; DispatchNotFound when it does not exist or lies outside their scope."""
    return (await board_row(session, viewer, request_id, config=config, now=now)).request


async def public_of(
    session: AsyncSession, request: DispatchRequest, *, config: DispatchConfig, now: datetime
) -> DispatchPublic:
    """A request just changed, as the wire shows it (whoever changed it may no longer see it on the board)."""
    surveyor = None
    if request.surveyor_id is not None:
        surveyor = (await session.exec(select(col(Staff.username)).where(col(Staff.id) == request.surveyor_id))).first()
    return to_public(request, surveyor=surveyor, now=now, config=config)
