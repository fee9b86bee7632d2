"""The yearly certification of account managers as their approvers follow it: who is certified until when, whose
certification has lapsed, who is due for re-certification (re-rated on last year's evaluation).

A certification is valid for a year (`valid_until`, the day it ends, inclusive). A manager is `lapsed` once that day
has passed, `due` when it ends within the look-ahead, `uncertified` without any; all three need a certification.
The customer picture says when its account manager's certification has lapsed (`crm_store.customers.picture`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from pydantic import Field as PField
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.managers.tables import AccountAssignment, AccountManager
from crm_store.org.scope import Viewer, unit_in_scope
from crm_store.org.tables import OrgUnit, Role, Staff
from crm_store.types import Answer, Day

DUE_DAYS = 30


def certification_status(valid_until: date | None, *, as_of: date, within_days: int = DUE_DAYS) -> str:
    """uncertified, lapsed, due (ends within `within_days`) or valid."""
    if valid_until is None:
        return "uncertified"
    if valid_until < as_of:
        return "lapsed"
    return "due" if valid_until <= as_of + timedelta(days=within_days) else "valid"


def managers_query(viewer: Viewer) -> Any:
    """Active account managers of the viewer's part of the organisation with their certification and customers."""
    customers = (
        select(func.count())
        .select_from(AccountAssignment)
        .where(col(AccountAssignment.account_manager_id) == col(Staff.id), col(AccountAssignment.ended_at).is_(None))
        .scalar_subquery()
    )
    return (
        select(  # type: ignore[call-overload]
            Staff.username,
            Staff.full_name,
            Staff.org_unit_id,
            OrgUnit.name,
            AccountManager.grade,
            AccountManager.certified_on,
            AccountManager.valid_until,
            customers,
        )
        .join(OrgUnit, col(OrgUnit.id) == col(Staff.org_unit_id))
        .outerjoin(AccountManager, col(AccountManager.staff_id) == col(Staff.id))
        .where(
            col(Staff.role) == Role.ACCOUNT_MANAGER.value,
            col(Staff.active),
            unit_in_scope(viewer, col(Staff.org_unit_id)),
        )
        .order_by(col(AccountManager.valid_until).asc().nulls_first(), col(Staff.username))
    )


async def list_managers(
    session: AsyncSession, viewer: Viewer, *, as_of: date, due_only: bool = False, within_days: int = DUE_DAYS
) -> list[dict[str, Any]]:
    """The account managers of the viewer's part of the organisation, those needing a certification first; with
    `due_only`, only those (lapsed, due within `within_days`, or never certified)."""
    items = []
    for username, name, unit_id, unit_name, grade, certified_on, valid_until, customers in (
        await session.exec(managers_query(viewer))
    ).all():
        status = certification_status(valid_until, as_of=as_of, within_days=within_days)
        if due_only and status == "valid":
            continue
        items.append(
            {
                "username": username,
                "full_name": name,
                "org_unit_id": unit_id,
                "org_unit_name": unit_name,
                "grade": grade,
                "certified_on": certified_on.isoformat() if certified_on else None,
                "valid_until": valid_until.isoformat() if valid_until else None,
                "certification": status,
                "recertification_due": status != "valid",
                "customers": int(customers or 0),
            }
        )
    return items


# -- wire models -------------------------------------------------------------------------------------


class CertifiedManager(Answer):
    """An account manager with their branch and current certification (the parts every view of one shares)."""

    username: str = PField(description="the manager's username")
    full_name: str = PField(description="the manager's name")
    org_unit_id: int = PField(description="the manager's branch")
    org_unit_name: str = PField(description="the branch's name")
    grade: str | None = PField(description="the current grade; null: never certified")
    certified_on: Day | None = PField(description="the current certification's date")
    valid_until: Day | None = PField(description="the last day the current certification holds")


class ManagerCertificationState(CertifiedManager):
    """An account manager of the listing with the state of their yearly certification."""

    certification: Literal["uncertified", "lapsed", "due", "valid"] = PField(
        description="the yearly certification's state"
    )
    recertification_due: bool = PField(description="uncertified, lapsed or due within the window")
    customers: int = PField(description="customers the manager looks after")


class ManagerCertificationList(Answer):
    """GET /api/v1/account-managers."""

    items: list[ManagerCertificationState] = PField(description="those needing a certification first")
