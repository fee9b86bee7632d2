"""Where an org unit sits: its level (city or county area) and the provincial branch above it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.dispatch.errors import UnitNotFound
from crm_store.dispatch.promises import region_of_level
from crm_store.org.chain import path_ids
from crm_store.org.tables import OrgLevel, OrgUnit


@dataclass(frozen=True)
class UnitPlace:
    """An org unit with its region (city or county) and its provincial branch (None for the head office)."""

    unit_id: int
    region: str
    province_unit_id: int | None


async def place_of_unit(session: AsyncSession, unit_id: int) -> UnitPlace:
    """The region and province of a unit (a provincial branch is its own province)."""
    unit = await session.get(OrgUnit, unit_id)
    if unit is None:
        raise UnitNotFound(f"org unit {unit_id} not found")
    ids = path_ids(unit.path) or [unit_id]
    province = (
        await session.exec(
            select(col(OrgUnit.id)).where(col(OrgUnit.id).in_(ids), col(OrgUnit.level) == int(OrgLevel.PROVINCE))
        )
    ).first()
    return UnitPlace(unit_id=unit_id, region=region_of_level(unit.level), province_unit_id=province)
