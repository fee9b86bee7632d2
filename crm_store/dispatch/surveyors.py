"""Surveyor profiles (for staff with role `surveyor`) and roadside vendors: created or updated, positions reported,
and listed for the board with their open assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import Actor, record_change
from crm_store.calendar import OpeningHours
from crm_store.dispatch.config import DispatchConfig
from crm_store.dispatch.errors import InvalidDispatch, SurveyorNotFound
from crm_store.dispatch.tables import DispatchAssignment, SurveyorProfile, Vendor
from crm_store.dispatch.units import place_of_unit
from crm_store.dispatch.wire import Position, SurveyorPublic, SurveyorUpdate
from crm_store.org.tables import Role, Staff
from crm_store.types import utcnow


async def put_surveyor(
    session: AsyncSession,
    actor: Actor,
    username: str,
    update: SurveyorUpdate,
    *,
    config: DispatchConfig,
    now: datetime | None = None,
) -> SurveyorProfile:
    """Create or update the profile of a staff member with role `surveyor` (SurveyorNotFound for anyone else);
    fields not given keep their value. Audited."""
    now = now or utcnow()
    staff = (await session.exec(select(Staff).where(col(Staff.username) == username))).first()
    if staff is None or staff.role != Role.SURVEYOR.value:
        raise SurveyorNotFound(f"{username!r} is not a surveyor")
    assert staff.id is not None
    profile = await session.get(SurveyorProfile, staff.id, with_for_update=True)
    created = profile is None
    if profile is None:
        profile = SurveyorProfile(staff_id=staff.id, home_unit_id=staff.org_unit_id, capacity=config.surveyor_capacity)
    if update.shift is not None:
        try:
            OpeningHours.parse(update.shift)
        except ValueError as err:
            raise InvalidDispatch(f"shift: {err}") from err
        profile.shift = update.shift
    if update.home_unit_id is not None or created:
        place = await place_of_unit(session, update.home_unit_id or profile.home_unit_id)
        profile.home_unit_id, profile.province_unit_id = place.unit_id, place.province_unit_id
    if update.skills is not None:
        profile.skills = sorted(set(update.skills))
    if update.status is not None:
        profile.status = update.status
    if update.location is not None:
        profile.lat, profile.lon, profile.position_at = update.location.lat, update.location.lon, now
    profile.updated_at = now
    session.add(profile)
    record_change(
        session,
        actor,
        action="surveyor_created" if created else "surveyor_updated",
        target=f"staff:{staff.id}",
        org_unit_id=profile.home_unit_id,
        detail=update.model_dump(exclude_none=True, mode="json"),
        now=now,
    )
    return profile


async def report_position(
    session: AsyncSession, staff_id: int, position: Position, *, now: datetime | None = None
) -> SurveyorProfile:
    """A surveyor's phone reports where they are (not audited: it is the surveyor's own, frequent report)."""
    now = now or utcnow()
    profile = await session.get(SurveyorProfile, staff_id)
    if profile is None:
        raise SurveyorNotFound(f"staff {staff_id} has no surveyor profile")
    profile.lat, profile.lon, profile.position_at, profile.updated_at = position.lat, position.lon, now, now
    session.add(profile)
    return profile


async def surveyors_of_province(
    session: AsyncSession, province_unit_id: int | None, *, username: str | None = None
) -> list[SurveyorPublic]:
    """The surveyors of a province (all when None; the one of `username` when given) with their open
    assignments, for the board."""
    loads = (
        select(col(DispatchAssignment.surveyor_id), func.count().label("open"))
        .where(col(DispatchAssignment.ended_at).is_(None), col(DispatchAssignment.surveyor_id).is_not(None))
        .group_by(col(DispatchAssignment.surveyor_id))
        .subquery()
    )
    query: Any = (
        select(Staff.username, SurveyorProfile, loads.c.open)
        .join(SurveyorProfile, col(SurveyorProfile.staff_id) == col(Staff.id))
        .outerjoin(loads, loads.c.surveyor_id == col(Staff.id))
        .order_by(col(Staff.username))
    )
    if province_unit_id is not None:
        query = query.where(col(SurveyorProfile.province_unit_id) == province_unit_id)
    if username is not None:
        query = query.where(col(Staff.username) == username)
    out = []
    for username, profile, open_count in (await session.exec(query)).all():
        location = (
            Position(lat=profile.lat, lon=profile.lon) if profile.lat is not None and profile.lon is not None else None
        )
        out.append(
            SurveyorPublic(
                username=username,
                home_unit_id=profile.home_unit_id,
                skills=profile.skills,
                status=profile.status,
                location=location,
                position_at=profile.position_at,
                open_assignments=int(open_count or 0),
            )
        )
    return out


async def add_vendor(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    services: list[str],
    service_unit_ids: list[int],
    position: Position | None,
    org_unit_id: int,
    phone: str | None = None,
    capacity: int = 3,
    now: datetime | None = None,
) -> Vendor:
    """Register a tow and rescue partner with its services and the units it serves. Audited."""
    now = now or utcnow()
    vendor = Vendor(
        name=name,
        phone=phone,
        services=sorted(set(services)),
        service_unit_ids=sorted(set(service_unit_ids)),
        lat=position.lat if position else None,
        lon=position.lon if position else None,
        position_at=now if position else None,
        capacity=capacity,
    )
    session.add(vendor)
    await session.flush()
    record_change(
        session,
        actor,
        action="vendor_created",
        target=f"vendor:{vendor.id}",
        org_unit_id=org_unit_id,
        detail={"name": name, "services": vendor.services, "units": vendor.service_unit_ids},
        now=now,
    )
    return vendor
