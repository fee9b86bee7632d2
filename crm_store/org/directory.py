"""The organisation as the API shows it: org units, and staff within the viewer's scope."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.org.scope import Viewer, unit_in_scope
from crm_store.org.tables import OrgUnit, OrgUnitPublic, Staff, StaffPublic


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
