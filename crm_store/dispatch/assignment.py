"""Assignment of a request to a surveyor or a vendor, acceptance, the surveyor's status steps, and cancellation.

Two dispatchers may click at once: the request's row and the surveyor's (vendor's) profile row are locked for the
transaction (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers), the request must still be `open`, the
surveyor's live assignments are counted under that lock against their capacity, and a partial unique index allows
one live assignment per request whatever happens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import Actor
from crm_store.calendar import BusinessCalendar
from crm_store.dispatch.config import DispatchConfig
from crm_store.dispatch.errors import (
    NotAvailable,
    NotYours,
    SurveyorNotFound,
    VendorNotFound,
    WrongState,
)
from crm_store.dispatch.requests import audit_request, get_request
from crm_store.dispatch.suggest import in_shift, service_of
from crm_store.dispatch.tables import DispatchAssignment, DispatchRequest, SurveyorProfile, Vendor
from crm_store.org.tables import Role, Staff
from crm_store.types import utcnow

# The steps of a request; `assigned` -> `open` is the way back to the board (declined, not accepted in time).
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"open", "cancelled"}),
    "open": frozenset({"assigned", "cancelled"}),
    "assigned": frozenset({"accepted", "open", "cancelled"}),
    "accepted": frozenset({"en_route", "cancelled"}),
    "en_route": frozenset({"on_site", "cancelled"}),
    "on_site": frozenset({"reporting", "done", "cancelled"}),
    "reporting": frozenset({"done"}),
    "done": frozenset(),
    "cancelled": frozenset(),
}
# The steps the one sent reports, and the status the surveyor is in after each.
FIELD_STEPS: dict[str, str] = {
    "en_route": "en_route",
    "on_site": "on_site",
    "reporting": "reporting",
    "done": "available",
}
STAMPS = {
    "open": "opened_at",
    "assigned": "assigned_at",
    "accepted": "accepted_at",
    "en_route": "en_route_at",
    "on_site": "on_site_at",
    "reporting": "reporting_at",
    "done": "done_at",
    "cancelled": "cancelled_at",
}


def can_move(request: DispatchRequest, to_state: str) -> bool:
    """True when the request may go from its state to `to_state` (a survey reports before it is done; a tow or
    rescue is done on site)."""
    if to_state not in TRANSITIONS.get(request.state, frozenset()):
        return False
    if request.state == "on_site":
        return to_state != ("done" if request.kind == "survey" else "reporting")
    return True


def move(request: DispatchRequest, to_state: str, now: datetime) -> None:
    """Put the request in `to_state`, stamping the moment; WrongState when the step is not allowed."""
    if not can_move(request, to_state):
        raise WrongState(f"request {request.id}: {request.state} cannot become {to_state}", state=request.state)
    request.state = to_state
    setattr(request, STAMPS[to_state], now)
    request.updated_at = now
    if to_state == "on_site" and request.due_at is not None and now > request.due_at and request.late_at is None:
        request.late_at = now


async def _live_assignment(session: AsyncSession, request_id: int) -> DispatchAssignment | None:
    query = select(DispatchAssignment).where(
        col(DispatchAssignment.request_id) == request_id, col(DispatchAssignment.ended_at).is_(None)
    )
    return (await session.exec(query.with_for_update())).first()


async def _load(session: AsyncSession, column: Any, owner_id: int) -> int:
    query = select(func.count()).where(column == owner_id, col(DispatchAssignment.ended_at).is_(None))
    return int((await session.exec(query)).one())


async def surveyor_by_username(
    session: AsyncSession, username: str, *, lock: bool = False
) -> tuple[Staff, SurveyorProfile]:
    """An active surveyor and their profile (the profile row locked when `lock`); SurveyorNotFound otherwise."""
    staff = (await session.exec(select(Staff).where(col(Staff.username) == username))).first()
    if staff is None or staff.role != Role.SURVEYOR.value or not staff.active:
        raise SurveyorNotFound(f"no active surveyor {username!r}")
    query = select(SurveyorProfile).where(col(SurveyorProfile.staff_id) == staff.id)
    profile = (await session.exec(query.with_for_update() if lock else query)).first()
    if profile is None:
        raise SurveyorNotFound(f"surveyor {username!r} has no profile yet")
    return staff, profile


async def assign(
    session: AsyncSession,
    actor: Actor,
    request_id: int,
    *,
    username: str | None = None,
    vendor_id: int | None = None,
    config: DispatchConfig,
    calendar: BusinessCalendar | None = None,
    now: datetime | None = None,
) -> DispatchAssignment:
    """Offer an open request to a surveyor (a survey) or a vendor (tow, rescue), to be accepted within the
    configured minutes; the request becomes `assigned`. Audited."""
    now = now or utcnow()
    request = await get_request(session, request_id, lock=True)
    if request.state != "open":
        raise WrongState(f"request {request_id} is {request.state}, not open", state=request.state)
    assignment = DispatchAssignment(
        request_id=request_id,
        assigned_by_id=actor.staff_id,
        assigned_at=now,
        accept_by=now + timedelta(minutes=config.accept_minutes),
    )
    if request.kind == "survey":
        if username is None:
            raise NotAvailable("a survey is assigned to a surveyor (username)")
        staff, profile = await surveyor_by_username(session, username, lock=True)
        await _check_surveyor(session, request, profile, calendar or BusinessCalendar(), now)
        assignment.surveyor_id = request.surveyor_id = staff.id
        who: dict[str, Any] = {"surveyor": staff.username}
    else:
        if vendor_id is None:
            raise NotAvailable("a tow or rescue is assigned to a vendor (vendor_id)")
        vendor = await _check_vendor(session, request, vendor_id)
        assignment.vendor_id = request.vendor_id = vendor.id
        who = {"vendor": vendor.name}
    move(request, "assigned", now)
    request.dispatcher_id = actor.staff_id or request.dispatcher_id
    session.add_all([request, assignment])
    await session.flush()
    audit_request(
        session, actor, request, "dispatch_assigned", {**who, "accept_by": assignment.accept_by.isoformat()}, now
    )
    return assignment


async def _check_surveyor(
    session: AsyncSession, request: DispatchRequest, profile: SurveyorProfile, calendar: BusinessCalendar, now: datetime
) -> None:
    if profile.status == "off_duty" or not in_shift(profile.shift, now, calendar):
        raise NotAvailable("the surveyor is off duty")
    if request.skill not in profile.skills:
        raise NotAvailable(f"the surveyor lacks the skill {request.skill}")
    if await _load(session, col(DispatchAssignment.surveyor_id), profile.staff_id) >= profile.capacity:
        raise NotAvailable("the surveyor already carries as many assignments as they can")


async def _check_vendor(session: AsyncSession, request: DispatchRequest, vendor_id: int) -> Vendor:
    vendor = (await session.exec(select(Vendor).where(col(Vendor.id) == vendor_id).with_for_update())).first()
    if vendor is None or not vendor.active:
        raise VendorNotFound(f"no active vendor {vendor_id}")
    if service_of(request) not in vendor.services:
        raise NotAvailable(f"the vendor does not offer {service_of(request)}")
    if await _load(session, col(DispatchAssignment.vendor_id), vendor_id) >= vendor.capacity:
        raise NotAvailable("the vendor already carries as many jobs as it can")
    return vendor


async def _awaiting_answer(
    session: AsyncSession, actor: Actor, request_id: int
) -> tuple[DispatchRequest, DispatchAssignment]:
    """The request (locked) and its live assignment, waiting for this actor's answer (accept or decline)."""
    request = await get_request(session, request_id, lock=True)
    live = await _live_assignment(session, request_id)
    if request.state != "assigned" or live is None:
        raise WrongState(f"request {request_id} is {request.state}, not waiting for acceptance", state=request.state)
    if live.surveyor_id is not None and live.surveyor_id != actor.staff_id:
        raise NotYours(f"request {request_id} is not assigned to {actor.username}")
    return request, live


async def accept(
    session: AsyncSession, actor: Actor, request_id: int, *, now: datetime | None = None
) -> DispatchRequest:
    """The surveyor (or, for a vendor, the dispatcher on its behalf) accepts the assignment in time."""
    now = now or utcnow()
    request, live = await _awaiting_answer(session, actor, request_id)
    if now > live.accept_by:
        raise WrongState(f"request {request_id}: the time to accept ran out", state=request.state)
    live.accepted_at = now
    move(request, "accepted", now)
    session.add_all([live, request])
    audit_request(session, actor, request, "dispatch_accepted", {"assignment": live.id}, now)
    return request


async def decline(
    session: AsyncSession, actor: Actor, request_id: int, *, now: datetime | None = None
) -> DispatchRequest:
    """The one assigned declines: the request goes back to the board, open."""
    now = now or utcnow()
    request, live = await _awaiting_answer(session, actor, request_id)
    live.ended_at, live.outcome = now, "declined"
    back_to_board(request, now)
    session.add_all([live, request])
    audit_request(session, actor, request, "dispatch_declined", {"assignment": live.id}, now)
    return request


def back_to_board(request: DispatchRequest, now: datetime) -> None:
    """An assigned request nobody took: open again, without its surveyor or vendor; its promise keeps running."""
    move(request, "open", now)
    request.surveyor_id = request.vendor_id = None
    request.assigned_at = None


async def advance(
    session: AsyncSession, actor: Actor, request_id: int, to_state: str, *, now: datetime | None = None
) -> DispatchRequest:
    """The surveyor's (vendor's) step: en_route, on_site, reporting (a survey), done; their status follows."""
    now = now or utcnow()
    if to_state not in FIELD_STEPS:
        raise WrongState(f"{to_state} is not a step of the one sent", state=to_state)
    request = await get_request(session, request_id, lock=True)
    if request.surveyor_id is not None and request.surveyor_id != actor.staff_id:
        raise NotYours(f"request {request_id} is not assigned to {actor.username}")
    move(request, to_state, now)
    if request.surveyor_id is not None:
        profile = await session.get(SurveyorProfile, request.surveyor_id, with_for_update=True)
        if profile is not None:
            profile.status, profile.updated_at = FIELD_STEPS[to_state], now
            session.add(profile)
    if to_state == "done":
        live = await _live_assignment(session, request_id)
        if live is not None:
            live.ended_at, live.outcome = now, "done"
            session.add(live)
    session.add(request)
    audit_request(session, actor, request, f"dispatch_{to_state}", {"late": request.late_at is not None}, now)
    return request


async def cancel(
    session: AsyncSession,
    actor: Actor,
    request_id: int,
    *,
    reason: str,
    unit_id: int | None = None,
    now: datetime | None = None,
) -> DispatchRequest:
    """Cancel a request that is not done; its live assignment ends and the surveyor is available again. A draft
    of an unknown caller, placed nowhere yet, is placed in `unit_id` (the dispatcher's)."""
    now = now or utcnow()
    request = await get_request(session, request_id, lock=True)
    request.org_unit_id = request.org_unit_id or unit_id
    live = await _live_assignment(session, request_id)
    move(request, "cancelled", now)
    if live is not None:
        live.ended_at, live.outcome = now, "cancelled"
        session.add(live)
        if live.surveyor_id is not None and live.accepted_at is not None:
            profile = await session.get(SurveyorProfile, live.surveyor_id, with_for_update=True)
            if profile is not None and profile.status in ("en_route", "on_site", "reporting"):
                profile.status, profile.updated_at = "available", now
                session.add(profile)
    session.add(request)
    audit_request(session, actor, request, "dispatch_cancelled", {"reason": reason[:200]}, now)
    return request
