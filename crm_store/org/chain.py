"""The chain of command above an org unit, read from its materialised path ("/1/5/12/", the root first): the
unit that owns a complaint or a review item at a given level, and the rows an escalation moves one level up."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, col, select

from crm_store.org.tables import OrgUnit

Owned = TypeVar("Owned", bound=SQLModel)


def path_ids(path: str) -> list[int]:
    """The unit ids of a materialised path ("/1/5/12/"), root first."""
    return [int(part) for part in path.strip("/").split("/") if part]


def ancestor_at(session: Session, unit: OrgUnit, level: int) -> OrgUnit:
    """The unit itself or its ancestor at `level` (the nearest one at or above it when the chain skips a level)."""
    if unit.level <= level:
        return unit
    ancestors = session.exec(select(OrgUnit).where(col(OrgUnit.id).in_(path_ids(unit.path)))).all()
    candidates = [a for a in ancestors if a.level <= level]
    return max(candidates, key=lambda a: a.level) if candidates else unit


def owned_below_a_parent(
    session: Session, model: type[Owned], *where: ColumnElement[bool]
) -> list[tuple[Owned, OrgUnit, OrgUnit]]:
    """The rows of `model` meeting `where` whose owning unit (`org_unit_id`) has a parent, in id order, each with
    that unit and its parent: what an escalation moves one level up."""
    owned: Any = model
    parent = aliased(OrgUnit)
    rows = session.exec(
        select(owned, OrgUnit, parent)
        .join(OrgUnit, col(OrgUnit.id) == owned.org_unit_id)
        .join(parent, col(parent.id) == col(OrgUnit.parent_id))
        .where(*where)
        .order_by(owned.id)
    ).all()
    return [(row, unit, above) for row, unit, above in rows]
