"""Major customer events (alerts raised, segment changes, blacklist hits), addressed to the account manager.

An event goes to whoever manages the customer when it happens. A customer without an account manager gets the
event with no addressee; `list_events(unaddressed=True)` shows those to the branch's center managers, so none is
lost silently (and a manager assigned later does not inherit the past: the history stays as it happened).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field as PField
from sqlalchemy import insert
from sqlalchemy.sql.dml import Insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_read
from crm_store.customers.tables import AlertLevel, Customer, CustomerEvent
from crm_store.managers.tables import AccountAssignment
from crm_store.org.clearance import mask_fields
from crm_store.org.scope import SUPERVISORS, Viewer, customer_in_scope
from crm_store.org.tables import Staff
from crm_store.paging import newest_first
from crm_store.types import Answer, Moment, utcnow
from crm_store.validation import NotAllowed


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


async def add_event(
    session: AsyncSession, customer_id: int, *, kind: str, level: AlertLevel, reason: str, call_sid: str | None = None
) -> None:
    """Add an event for the customer in the session's transaction (see `customer_event`)."""
    statement = customer_event(customer_id, kind=kind, level=level, reason=reason, call_sid=call_sid)
    await session.exec(statement)  # type: ignore[call-overload]


# What an event read shows of a customer, for the audit trail (its reason too when shown unmasked).
EVENT_FIELDS = ("customer_event.at", "customer_event.kind", "customer_event.level")


def events_shown(
    session: AsyncSession,
    viewer: Viewer,
    events: Sequence[tuple[CustomerEvent, dict[str, Any]]],
    *,
    purpose: str,
) -> list[dict[str, Any]]:
    """Events as this viewer may see them (with what each listing adds): graded text such as a blacklist reason
    masked below its grade (the `customer_event` document of the field grades); each customer named is read,
    audited in the session with the fields shown."""
    shown = mask_fields(
        viewer,
        "customer_event",
        {
            "events": [
                {
                    "id": e.id,
                    "customer_id": e.customer_id,
                    **extra,
                    "kind": e.kind,
                    "level": e.level,
                    "reason": e.reason,
                    "call_sid": e.call_sid,
                    "at": e.created_at.isoformat(),
                }
                for e, extra in events
            ]
        },
    )
    masked = {int(path[len("events[") : path.index("]")]) for path in shown["masked_fields"]}
    fields: dict[int, set[str]] = {}
    items = []
    for index, event in enumerate(shown["events"]):
        items.append({**event, "masked_fields": ["reason"] if index in masked else []})
        seen = fields.setdefault(event["customer_id"], set(EVENT_FIELDS))
        if index not in masked:
            seen.add("customer_event.reason")
    for customer_id in sorted(fields):
        record_read(session, viewer, customer_id=customer_id, fields=fields[customer_id], purpose=purpose)
    return items


def events_query(
    viewer: Viewer,
    *,
    unaddressed: bool,
    customer_id: int | None,
    kind: str | None,
    limit: int,
    before_id: int | None,
) -> Any:
    """Events of customers in the viewer's scope, newest first, with the username they are addressed to."""
    query = (
        select(CustomerEvent, Staff.username)
        .join(Customer, col(Customer.id) == col(CustomerEvent.customer_id))
        .outerjoin(Staff, col(Staff.id) == col(CustomerEvent.account_manager_id))
        .where(customer_in_scope(viewer))
    )
    if unaddressed:
        query = query.where(col(CustomerEvent.account_manager_id).is_(None))
    if customer_id is not None:
        query = query.where(col(CustomerEvent.customer_id) == customer_id)
    if kind:
        query = query.where(col(CustomerEvent.kind) == kind)
    return newest_first(query, CustomerEvent.id, before_id=before_id, limit=limit)


async def list_events(
    session: AsyncSession,
    viewer: Viewer,
    *,
    unaddressed: bool = False,
    customer_id: int | None = None,
    kind: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Customer events of the viewer's part of the organisation for center managers, executives and administrators:
    with `unaddressed`, those of customers without an account manager, which no manager's list shows. Each
    customer shown is an audited read."""
    if viewer.role not in SUPERVISORS:
        raise NotAllowed("customer events are listed by center managers, executives and administrators")
    rows = (
        await session.exec(
            events_query(
                viewer,
                unaddressed=unaddressed,
                customer_id=customer_id,
                kind=kind,
                limit=limit,
                before_id=before_id,
            )
        )
    ).all()
    return events_shown(session, viewer, [(e, {"account_manager": m}) for e, m in rows], purpose="customer-events")


# -- wire models -------------------------------------------------------------------------------------


class CustomerEventPublic(Answer):
    """A major customer event as a viewer may see it."""

    id: int = PField(description="the event's id (pass as `before` for the next page)")
    customer_id: int = PField(description="the customer it concerns")
    account_manager: str | None = PField(
        default=None, description="in the listing: the customer's manager; null: the customer has no manager"
    )
    kind: str = PField(description="what happened: blacklisted, frequent_claims, ...")
    level: str = PField(description="info, warning or critical")
    reason: str = PField(description="why, for a person; masked below its confidentiality grade")
    call_sid: str | None = PField(description="the call that raised it")
    at: Moment = PField(description="when it happened (UTC)")
    masked_fields: list[str] = PField(description="fields hidden from the viewer's clearance")


class CustomerEventList(Answer):
    """GET /api/v1/account-managers/{username}/events."""

    items: list[CustomerEventPublic] = PField(description="newest first")


class CustomerEventPage(Answer):
    """GET /api/v1/customer-events."""

    items: list[CustomerEventPublic] = PField(description="newest first")
    next: str | None = PField(description="the next page's address; null on the last page")
