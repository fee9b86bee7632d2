"""Who may do what in dispatch: the board (dispatchers, center managers and above) within their part of the
organisation; surveyors with their own profile and assignments. Outside one's reach a request or surveyor is not
found (404); a role the step is not for is refused (403)."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.customers.tables import Customer
from crm_store.dispatch.board import visible_to
from crm_store.dispatch.errors import DispatchNotFound, InvalidDispatch, SurveyorNotFound
from crm_store.dispatch.tables import DispatchRequest
from crm_store.dispatch.wire import DispatchCreate, SurveyorUpdate
from crm_store.errors import CustomerNotFound
from crm_store.org.scope import Viewer, customer_in_scope, unit_in_scope
from crm_store.org.tables import OrgUnit, Role, Staff
from crm_store.validation import NotAllowed

# The board: opens requests, sees suggestions, assigns, cancels.
BOARD_ROLES = frozenset({Role.DISPATCHER, Role.CENTER_MANAGER, Role.EXECUTIVE, Role.ADMIN})
# Who answers an assignment and reports its steps: the surveyor sent, or the board on a vendor's behalf.
FIELD_ROLES = BOARD_ROLES | {Role.SURVEYOR}
# What a surveyor may set on their own profile.
OWN_FIELDS = frozenset({"status", "location"})


def board_only(viewer: Viewer) -> None:
    """NotAllowed unless the viewer works the dispatch board."""
    if viewer.role not in BOARD_ROLES:
        raise NotAllowed("only dispatchers and center managers work the dispatch board")


def field_or_board(viewer: Viewer) -> None:
    """NotAllowed unless the viewer works the board or is sent to scenes (a surveyor)."""
    if viewer.role not in FIELD_ROLES:
        raise NotAllowed("only dispatchers, center managers and surveyors see dispatch requests")


async def visible_request(session: AsyncSession, viewer: Viewer, request_id: int) -> None:
    """DispatchNotFound unless the request exists and the viewer may see it (their scope; a surveyor's own)."""
    query = select(col(DispatchRequest.id)).where(col(DispatchRequest.id) == request_id, visible_to(viewer))
    if (await session.exec(query)).first() is None:
        raise DispatchNotFound(f"dispatch request {request_id} not found")


async def check_new_request(session: AsyncSession, viewer: Viewer, data: DispatchCreate) -> None:
    """A board member opens requests for customers and units of their scope only (the customer unknown outside
    it; a unit outside it refused)."""
    board_only(viewer)
    if data.customer_id is not None:
        query = select(col(Customer.id)).where(col(Customer.id) == data.customer_id, customer_in_scope(viewer))
        if (await session.exec(query)).first() is None:
            raise CustomerNotFound(f"customer {data.customer_id} not found")
    await _unit_in_reach(session, viewer, data.org_unit_id, "org_unit_id")


async def _unit_in_reach(session: AsyncSession, viewer: Viewer, unit_id: int | None, field: str) -> None:
    """InvalidDispatch naming `field` when a unit is given and lies outside the viewer's scope."""
    if unit_id is None:
        return
    query = select(col(OrgUnit.id)).where(col(OrgUnit.id) == unit_id, unit_in_scope(viewer, unit_id))
    if (await session.exec(query)).first() is None:
        problem = "a unit of your part of the organisation"
        raise InvalidDispatch(f"{field}: {problem}", fields={field: problem})


def may_update_surveyor(viewer: Viewer, username: str) -> None:
    """NotAllowed unless the viewer works the board or is the surveyor `username` (what they may set aside)."""
    if not (viewer.role is Role.SURVEYOR and viewer.username == username) and viewer.role not in BOARD_ROLES:
        raise NotAllowed("only dispatchers and center managers set other surveyors' profiles")


async def check_surveyor_update(session: AsyncSession, viewer: Viewer, username: str, update: SurveyorUpdate) -> None:
    """A surveyor sets their own status and position; the board any profile of a staff member in its scope
    (SurveyorNotFound outside it, NotAllowed for other roles or fields)."""
    may_update_surveyor(viewer, username)
    if viewer.role is Role.SURVEYOR and viewer.username == username:
        others = update.model_fields_set - OWN_FIELDS
        if others:
            raise NotAllowed(f"a surveyor sets their own status and location only, not {', '.join(sorted(others))}")
        return
    query = select(col(Staff.id)).where(col(Staff.username) == username, unit_in_scope(viewer, col(Staff.org_unit_id)))
    if (await session.exec(query)).first() is None:
        raise SurveyorNotFound(f"{username!r} is not a surveyor")
    await _unit_in_reach(session, viewer, update.home_unit_id, "home_unit_id")
