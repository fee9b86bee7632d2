"""Major customer events (alerts raised, segment changes, blacklist hits), addressed to the account manager."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.sql.dml import Insert
from sqlmodel import col, select

from crm_store.models import AccountAssignment, AlertLevel, CustomerEvent
from crm_store.types import utcnow


def current_manager_id(customer_id: int) -> object:
    """The staff id of the customer's current account manager, as a scalar subquery."""
    return (
        select(col(AccountAssignment.account_manager_id))
        .where(col(AccountAssignment.customer_id) == customer_id, col(AccountAssignment.ended_at).is_(None))
        .scalar_subquery()
    )


def customer_event(
    customer_id: int, *, kind: str, level: AlertLevel, reason: str, call_sid: str | None = None
) -> Insert:
    """An event for the customer, addressed to whoever manages the customer when it happens."""
    return insert(CustomerEvent).values(
        customer_id=customer_id,
        account_manager_id=current_manager_id(customer_id),
        kind=kind,
        level=level.value,
        reason=reason[:500],
        call_sid=call_sid,
        created_at=utcnow(),
    )
