"""Who is asking, and the part of the organisation they may see: applied inside every customer query.

A staff member sees the customers owned by their own org unit and the units below it (a materialised-path
prefix match); the head office sees everyone. The viewer's clearance (`Viewer.clearance`) decides which graded fields
are masked (`crm_store.org.clearance`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists
from sqlalchemy.orm import aliased
from sqlmodel import col

from crm_store.customers.tables import Customer
from crm_store.org.tables import OrgUnit, Role, Staff

_UNIT = aliased(OrgUnit, name="scope_unit")
_VIEWER_UNIT = aliased(OrgUnit, name="viewer_unit")


# Who oversees a branch's customers (events nobody is addressed to, managers' duties and certifications, the
# blacklist's listing): its center managers, and executives and administrators.
SUPERVISORS = frozenset({Role.CENTER_MANAGER, Role.EXECUTIVE, Role.ADMIN})


@dataclass(frozen=True)
class Viewer:
    """The staff member on whose behalf the store reads or writes, with where the request came from."""

    staff_id: int
    username: str
    role: Role
    org_unit_id: int
    clearance: int = 1
    remote_addr: str | None = None

    @classmethod
    def of(cls, staff: Staff, *, remote_addr: str | None = None) -> Viewer:
        """The viewer for an authenticated staff member."""
        assert staff.id is not None
        return cls(
            staff_id=staff.id,
            username=staff.username,
            role=Role(staff.role),
            org_unit_id=staff.org_unit_id,
            clearance=staff.clearance,
            remote_addr=remote_addr,
        )


@dataclass(frozen=True)
class CommandLine:
    """The server's operator at the command line: full authority, recorded under the operating-system user."""

    username: str
    staff_id: int | None = None
    remote_addr: str | None = None


def unit_in_scope(viewer: Viewer, unit_id: Any) -> ColumnElement[bool]:
    """True where the org unit is the viewer's own unit or below it (two primary-key probes, no round trip)."""
    return exists().where(
        col(_UNIT.id) == unit_id,
        col(_VIEWER_UNIT.id) == viewer.org_unit_id,
        col(_UNIT.path).startswith(col(_VIEWER_UNIT.path)),
    )


def customer_in_scope(viewer: Viewer) -> ColumnElement[bool]:
    """True for the customers the viewer may see."""
    return unit_in_scope(viewer, col(Customer.org_unit_id))
