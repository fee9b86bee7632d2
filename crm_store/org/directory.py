"""The organisation as the API shows it: org units, and staff within the viewer's scope."""

from __future__ import annotations

from typing import Any

from pydantic import Field as PField
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.org.scope import Viewer, unit_in_scope
from crm_store.org.tables import OrgUnit, OrgUnitPublic, Role, Staff, StaffPublic
from crm_store.types import Answer


def org_units_query() -> Any:
    """Every org unit, head office first, then by path."""
    return select(OrgUnit).order_by(col(OrgUnit.level), col(OrgUnit.path))


def staff_query(viewer: Viewer, *, role: str | None = None, org_unit_id: int | None = None) -> Any:
    """Active staff of the viewer's unit and the units below it."""
    query = select(Staff).where(col(Staff.active), unit_in_scope(viewer, col(Staff.org_unit_id)))
    if role is not None:
        query = query.where(col(Staff.role) == role)
    if org_unit_id is not None:
        query = query.where(col(Staff.org_unit_id) == org_unit_id)
    return query.order_by(col(Staff.org_unit_id), col(Staff.username))


async def list_org_units(session: AsyncSession) -> list[dict[str, Any]]:
    """The org tree (`id`, `code`, `name`, `level`, `parent_id`, `path`)."""
    units = (await session.exec(org_units_query())).all()
    return [{**OrgUnitPublic.model_validate(u).model_dump(), "path": u.path} for u in units]


async def list_staff(
    session: AsyncSession, viewer: Viewer, *, role: str | None = None, org_unit_id: int | None = None
) -> list[dict[str, Any]]:
    """Staff in the viewer's scope (`username`, `role`, `org_unit_id`, ...), never password hashes."""
    staff = (await session.exec(staff_query(viewer, role=role, org_unit_id=org_unit_id))).all()
    return [StaffPublic.model_validate(s).model_dump(mode="json") for s in staff]


# -- wire models -------------------------------------------------------------------------------------


class OrgUnitAnswer(Answer):
    """An org unit as the API shows it."""

    id: int = PField(description="the unit's id")
    code: str = PField(description="its code, such as SEOUL-GANGNAM-SEOCHO")
    name: str = PField(description="its name")
    level: int = PField(ge=0, le=3, description="0 head office, 1 provincial, 2 city, 3 county branch")
    parent_id: int | None = PField(description="the unit above; null for head office")
    active: bool = PField(description="false: closed (keeps its history, takes nothing new)")
    path: str = PField(description="ids from head office down, such as /1/4/17/")


class OrgUnitList(Answer):
    """GET /api/v1/org-units."""

    items: list[OrgUnitAnswer] = PField(description="the whole org tree")


class StaffSummary(Answer):
    """A staff member as the directory lists them."""

    id: int = PField(description="the staff member's id")
    username: str = PField(description="their sign-in name")
    full_name: str = PField(description="their name")
    role: Role = PField(description="their role")
    org_unit_id: int = PField(description="their unit")
    clearance: int = PField(ge=0, le=5, description="the confidentiality grade they are cleared for")


class StaffList(Answer):
    """GET /api/v1/staff."""

    items: list[StaffSummary] = PField(description="staff in the viewer's scope")
