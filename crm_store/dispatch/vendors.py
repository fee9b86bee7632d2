"""Tow and roadside-rescue vendors (협력업체): their registration and changes, and who sees which.

A vendor serves org units (provinces or branches). A board member sees the vendors that serve their part of the
organisation, whether a service unit lies in it or above it (a province-wide vendor serves every branch of that
province); they register and change only vendors all of whose service units lie in their own part. The vendor's
phone, where the board's offers go by text message, is shown masked."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.customers.phones import mask_phone, normalise_phone
from crm_store.dispatch.access import board_only
from crm_store.dispatch.errors import InvalidDispatch, VendorNotFound
from crm_store.dispatch.tables import Vendor
from crm_store.dispatch.wire import Position, _Strict
from crm_store.org.scope import Viewer
from crm_store.org.tables import OrgUnit
from crm_store.types import Answer, RecordId
from crm_store.validation import Conflict, NotAllowed

Service = Literal["tow", "battery", "tyre", "fuel", "lockout"]


class VendorUpdate(_Strict):
    """A vendor's registration as changed through the API or the console: any of its fields."""

    name: str | None = Field(default=None, min_length=1, max_length=100, description="the company's name")
    services: list[Service] | None = Field(
        default=None, min_length=1, description="what it does: tow, battery, tyre, fuel, lockout"
    )
    service_unit_ids: list[RecordId] | None = Field(
        default=None, min_length=1, max_length=50, description="org units whose area it serves (provinces, branches)"
    )
    phone: str | None = Field(default=None, max_length=20, description="where offers are sent by text message")
    location: Position | None = Field(default=None, description="its base (for the arrival estimate)")
    capacity: int | None = Field(default=None, ge=1, le=50, description="jobs it takes at once")
    active: bool | None = Field(default=None, description="offered on the board (false: kept, not offered)")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        number = normalise_phone(value)
        if number is None:
            raise ValueError("a Korean phone number, e.g. 010-1234-5678")
        return number


class VendorCreate(VendorUpdate):
    """A vendor to register: its name, services, service areas and base at least."""

    name: str = Field(min_length=1, max_length=100, description="the company's name")  # type: ignore[assignment]
    services: list[Service] = Field(  # type: ignore[assignment]
        min_length=1, description="what it does: tow, battery, tyre, fuel, lockout"
    )
    service_unit_ids: list[RecordId] = Field(  # type: ignore[assignment]
        min_length=1, max_length=50, description="org units whose area it serves (provinces, branches)"
    )
    location: Position = Field(description="its base (suggestions rank vendors by the arrival estimated from it)")  # type: ignore[assignment]


class VendorPublic(Answer):
    """A vendor as the board and the API show it (its phone masked)."""

    id: int = Field(description="the vendor's number")
    name: str = Field(description="the company's name")
    services: list[str] = Field(description="what it does: tow, battery, tyre, fuel, lockout")
    service_unit_ids: list[int] = Field(description="org units whose area it serves")
    areas: list[str] = Field(description="the names of those units")
    phone: str | None = Field(description="where offers are sent, masked")
    location: Position | None = Field(description="its base or last position")
    capacity: int = Field(description="jobs it takes at once")
    active: bool = Field(description="offered on the board")


class VendorList(Answer):
    """The vendors serving your part of the organisation, by name."""

    items: list[VendorPublic] = Field(description="the vendors")


async def _paths(session: AsyncSession, unit_ids: set[int]) -> dict[int, tuple[str, str]]:
    rows = await session.exec(select(OrgUnit.id, OrgUnit.path, OrgUnit.name).where(col(OrgUnit.id).in_(unit_ids)))
    return {int(unit_id): (path, name) for unit_id, path, name in rows.all() if unit_id is not None}


async def _viewer_path(session: AsyncSession, viewer: Viewer) -> str:
    found = (await session.exec(select(col(OrgUnit.path)).where(col(OrgUnit.id) == viewer.org_unit_id))).first()
    return found or "/-/"


def _serves(mine: str, paths: list[str]) -> bool:
    return any(path.startswith(mine) or mine.startswith(path) for path in paths)


def _public(vendor: Vendor, units: dict[int, tuple[str, str]]) -> VendorPublic:
    location = None if vendor.lat is None or vendor.lon is None else Position(lat=vendor.lat, lon=vendor.lon)
    return VendorPublic(
        id=int(vendor.id or 0), name=vendor.name, services=list(vendor.services),
        service_unit_ids=list(vendor.service_unit_ids),
        areas=[units[u][1] if u in units else str(u) for u in vendor.service_unit_ids],
        phone=mask_phone(vendor.phone), location=location, capacity=vendor.capacity, active=vendor.active,
    )  # fmt: skip


async def list_vendors(session: AsyncSession, viewer: Viewer) -> list[VendorPublic]:
    """The vendors (active or not) serving the viewer's part of the organisation, by name."""
    board_only(viewer)
    vendors = (await session.exec(select(Vendor).order_by(col(Vendor.name)).limit(1000))).all()
    units = await _paths(session, {u for v in vendors for u in v.service_unit_ids})
    mine = await _viewer_path(session, viewer)
    return [
        _public(v, units)
        for v in vendors
        if _serves(mine, [units[u][0] for u in v.service_unit_ids if u in units])
    ]  # fmt: skip


async def _visible(session: AsyncSession, viewer: Viewer, vendor_id: int) -> tuple[Vendor, str]:
    board_only(viewer)
    vendor = await session.get(Vendor, vendor_id)
    mine = await _viewer_path(session, viewer)
    if vendor is None:
        raise VendorNotFound(f"vendor {vendor_id} not found")
    units = await _paths(session, set(vendor.service_unit_ids))
    if not _serves(mine, [path for path, _ in units.values()]):
        raise VendorNotFound(f"vendor {vendor_id} not found")
    return vendor, mine


async def get_vendor(session: AsyncSession, viewer: Viewer, vendor_id: int) -> VendorPublic:
    """One vendor serving the viewer's part (VendorNotFound otherwise)."""
    vendor, _ = await _visible(session, viewer, vendor_id)
    return _public(vendor, await _paths(session, set(vendor.service_unit_ids)))


async def _check_units(session: AsyncSession, mine: str, unit_ids: list[int]) -> None:
    units = await _paths(session, set(unit_ids))
    outside = [u for u in unit_ids if u not in units or not units[u][0].startswith(mine)]
    if outside:
        problem = "units of your part of the organisation"
        raise InvalidDispatch(f"service_unit_ids: {problem} ({outside})", fields={"service_unit_ids": problem})


async def _name_free(session: AsyncSession, name: str, vendor_id: int | None) -> None:
    found = (await session.exec(select(col(Vendor.id)).where(col(Vendor.name) == name))).first()
    if found is not None and found != vendor_id:
        raise Conflict({"name": "another vendor has this name"}, f"a vendor named {name!r} exists")


def _apply(vendor: Vendor, data: VendorUpdate, now: datetime) -> None:
    given = data.model_fields_set
    for field in ("name", "services", "service_unit_ids", "phone", "capacity", "active"):
        if field in given and (getattr(data, field) is not None or field == "phone"):
            setattr(vendor, field, getattr(data, field))
    if "location" in given:
        vendor.lat, vendor.lon = (data.location.lat, data.location.lon) if data.location else (None, None)
        vendor.position_at = now if data.location else None


async def register_vendor(session: AsyncSession, viewer: Viewer, data: VendorCreate, *, now: datetime) -> VendorPublic:
    """A new vendor serving units of the viewer's part of the organisation."""
    board_only(viewer)
    await _check_units(session, await _viewer_path(session, viewer), data.service_unit_ids)
    await _name_free(session, data.name, None)
    vendor = Vendor(name=data.name, services=list(data.services), service_unit_ids=list(data.service_unit_ids))
    _apply(vendor, data, now)
    session.add(vendor)
    await session.flush()
    return _public(vendor, await _paths(session, set(vendor.service_unit_ids)))


async def update_vendor(
    session: AsyncSession, viewer: Viewer, vendor_id: int, data: VendorUpdate, *, now: datetime
) -> VendorPublic:
    """Change a vendor the viewer sees; only one whose service units (before and after) all lie in their part."""
    vendor, mine = await _visible(session, viewer, vendor_id)
    units = await _paths(session, set(vendor.service_unit_ids))
    if any(not path.startswith(mine) for path, _ in units.values()):
        raise NotAllowed("this vendor also serves units outside your part of the organisation")
    if data.service_unit_ids is not None:
        await _check_units(session, mine, data.service_unit_ids)
    if data.name is not None:
        await _name_free(session, data.name, vendor_id)
    _apply(vendor, data, now)
    session.add(vendor)
    await session.flush()
    return _public(vendor, await _paths(session, set(vendor.service_unit_ids)))


async def service_units(session: AsyncSession, viewer: Viewer) -> list[tuple[int, str]]:
    """The org units a viewer may name as a vendor's service areas (their part of the organisation), by path."""
    mine = await _viewer_path(session, viewer)
    query = (
        select(OrgUnit.id, OrgUnit.name)
        .where(col(OrgUnit.path).startswith(mine), col(OrgUnit.level) <= 2)
        .order_by(col(OrgUnit.path))
        .limit(500)
    )
    return [(int(unit_id), name) for unit_id, name in (await session.exec(query)).all() if unit_id is not None]
