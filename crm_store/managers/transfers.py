"""A customer moves to another branch (the customer moved house, or a corporate client's business moved).

Only a center manager or an administrator does it, and only between units both in their scope: a city center
moves customers between its county branches, a provincial one between its cities, the head office anywhere.
The customer keeps everything (policies, claims, history, blacklist listing: matching is company-wide, so
moving never hides a listed customer). The account manager stays when still within reach of the new branch
(its own unit or the city branch above); otherwise the assignment ends and the new branch's certified manager
with the fewest customers takes over, with the duties still to do. The segment is decided again at once, the
move is on the customer's audit trail, and the (new) manager is told.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field as PField
from sqlalchemy import update
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_customer_change
from crm_store.customers.events import add_event
from crm_store.customers.records import visible_customer
from crm_store.customers.rules import Rules
from crm_store.customers.segments import recompute_customer
from crm_store.customers.tables import AlertLevel
from crm_store.managers.account_managers import GRASS_ROOTS, assign_new_customer
from crm_store.managers.tables import AccountAssignment, ServiceTask
from crm_store.org.scope import Viewer, unit_in_scope
from crm_store.org.tables import OrgLevel, OrgUnit, Role, Staff
from crm_store.types import Answer, Input, RecordId, utcnow
from crm_store.validation import InvalidInput, NotAllowed

TRANSFERRERS = frozenset({Role.CENTER_MANAGER, Role.ADMIN})


class CustomerTransfer(Input):
    """POST /api/v1/customers/{id}/transfer."""

    org_unit_id: RecordId = Field(description="the new owning unit, within your scope")
    reason: str = Field(min_length=2, max_length=200, description="why the customer moves")


async def transfer_customer(
    session: AsyncSession, viewer: Viewer, customer_id: int, data: CustomerTransfer, *, rules: Rules, as_of: date
) -> dict[str, Any]:
    """Move a customer in scope to another unit in scope; what changed (the same answer when already there)."""
    customer = await visible_customer(session, viewer, customer_id)
    if viewer.role not in TRANSFERRERS:
        raise NotAllowed("only center managers and administrators move customers between branches")
    destination = (
        await session.exec(
            select(OrgUnit).where(
                col(OrgUnit.id) == data.org_unit_id, col(OrgUnit.active), unit_in_scope(viewer, col(OrgUnit.id))
            )
        )
    ).first()
    if destination is None:
        raise InvalidInput({"org_unit_id": "unknown or closed org unit, or outside your scope"})
    origin = await session.get(OrgUnit, customer.org_unit_id)
    assert origin is not None and origin.id is not None and destination.id is not None
    current = (
        await session.exec(
            select(AccountAssignment, Staff, OrgUnit)
            .join(Staff, col(Staff.id) == col(AccountAssignment.account_manager_id))
            .join(OrgUnit, col(OrgUnit.id) == col(Staff.org_unit_id))
            .where(col(AccountAssignment.customer_id) == customer_id, col(AccountAssignment.ended_at).is_(None))
        )
    ).first()
    before = current[1].username if current is not None else None
    answer: dict[str, Any] = {
        "customer_id": customer_id,
        "from": {"id": origin.id, "name": origin.name},
        "to": {"id": destination.id, "name": destination.name},
        "account_manager": before,
        "moved": destination.id != origin.id,
    }
    if not answer["moved"]:
        return answer
    customer.org_unit_id = destination.id
    session.add(customer)
    manager_unit = current[2] if current is not None else None
    in_reach = (
        manager_unit is not None
        and OrgLevel(manager_unit.level) in GRASS_ROOTS
        and destination.path.startswith(manager_unit.path)
    )
    after = before
    if not in_reach:
        if current is not None:
            current[0].ended_at = utcnow()
            session.add(current[0])
            await session.flush()  # the one-current-manager index must see the old assignment ended
        assignment = await assign_new_customer(
            session, viewer, customer_id, unit_path=destination.path, requested=None, as_of=as_of
        )
        after = None
        if assignment is not None:
            after = (await session.get(Staff, assignment.account_manager_id)).username  # type: ignore[union-attr]
            await session.exec(
                update(ServiceTask)  # type: ignore[call-overload]
                .where(col(ServiceTask.customer_id) == customer_id, col(ServiceTask.done_on).is_(None))
                .values(account_manager_id=assignment.account_manager_id)
            )
    answer["account_manager"] = after
    record_customer_change(
        session,
        viewer,
        customer_id=customer_id,
        org_unit_id=destination.id,
        action="customer.transferred",
        target=f"customer:{customer_id}",
        detail={
            "org_unit_id": [origin.id, destination.id],
            "account_manager": [before, after],
            "reason": data.reason,
        },
    )
    await add_event(
        session,
        customer_id,
        kind="transferred" if after is not None else "no_account_manager",
        level=AlertLevel.INFO if after is not None else AlertLevel.WARNING,
        reason=f"고객 이관: {origin.name} → {destination.name} ({data.reason})"
        + ("" if after is not None else "; 새 지점에 인증된 고객관리자가 없음"),
    )
    await recompute_customer(session, customer_id, rules=rules, as_of=as_of, changed_by=viewer.username)
    return answer


# -- wire models -------------------------------------------------------------------------------------


class UnitName(Answer):
    """A unit by id and name."""

    id: int = PField(description="the unit's id")
    name: str = PField(description="its name")


class TransferPublic(Answer):
    """What a transfer changed (the same answer when the customer already was there)."""

    customer_id: int = PField(description="the customer moved")
    from_: UnitName = PField(alias="from", description="the unit the customer belonged to")
    to: UnitName = PField(description="the unit the customer belongs to now")
    account_manager: str | None = PField(description="the manager kept if in reach, else the new branch's")
    moved: bool = PField(description="false: the customer already belonged to that unit")
