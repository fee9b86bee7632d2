"""The audit trail: reads of customer information and administrative changes, appended in the transaction that
reads or changes, never changed afterwards; queried by auditors (administrators and executives) within their scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import Field as PField
from sqlalchemy import ColumnElement, and_, exists, or_
from sqlalchemy.orm import aliased
from sqlmodel import Field, Session, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.customers.tables import Customer
from crm_store.errors import CustomerNotFound
from crm_store.org.scope import Viewer, customer_in_scope, unit_in_scope
from crm_store.org.tables import Role
from crm_store.paging import newest_first
from crm_store.types import Answer, JsonDocument, Moment, UtcDateTime, utcnow
from crm_store.validation import NotAllowed


class AuditEntry(SQLModel, table=True):
    """The audit trail, append-only: every read of customer information (who, which customer, which fields, when,
    from where, for which call) and every administrative change (org units, staff, roles, grades, passwords).

    A change made from the command line has no staff member: `username` then names the operating-system user.
    """

    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    username: str = Field(max_length=64, index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    action: str = Field(default="read", max_length=32)
    fields: list[str] = Field(default_factory=list, sa_type=JsonDocument)
    purpose: str | None = Field(default=None, max_length=64)
    call_sid: str | None = Field(default=None, max_length=34)
    remote_addr: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    # Administrative changes: what was changed ("staff:12", "org_unit:5"), the org unit it concerns (the scope an
    # auditor needs to see it), and the values before and after (never a password or its hash).
    target: str | None = Field(default=None, max_length=64)
    org_unit_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    detail: dict[str, Any] | None = Field(default=None, sa_type=JsonDocument)


# Who may query the whole trail (by person, date, action) of their part of the organisation. Anyone may still read
# the trail of one customer they can see.
AUDITORS = frozenset({Role.ADMIN, Role.EXECUTIVE})
# Who may read the trail of one customer in their scope: the auditors, and a center manager (the branch's
# supervisor). Agents, operators and the rest do not learn who else looked at a customer.
CUSTOMER_TRAIL_READERS = AUDITORS | {Role.CENTER_MANAGER}
READ = "read"
# `action` filter value that selects every administrative change (anything but a read).
CHANGES = "change"
_AUDITED_CUSTOMER = aliased(Customer, name="audited_customer")


class Actor(Protocol):
    """Whoever reads or changes: a signed-in staff member (Viewer) or the command line (no staff id)."""

    @property
    def staff_id(self) -> int | None: ...

    @property
    def username(self) -> str: ...

    @property
    def remote_addr(self) -> str | None: ...


def record_read(
    session: AsyncSession,
    viewer: Viewer,
    *,
    customer_id: int,
    fields: Iterable[str],
    call_sid: str | None = None,
    purpose: str | None = None,
) -> None:
    """Append who read which fields of which customer, when, from where and for which call."""
    session.add(
        AuditEntry(
            staff_id=viewer.staff_id,
            username=viewer.username,
            customer_id=customer_id,
            action="read",
            fields=sorted(fields),
            purpose=purpose,
            call_sid=call_sid,
            remote_addr=(viewer.remote_addr or "")[:64] or None,
            created_at=utcnow(),
        )
    )


def record_change(
    session: AsyncSession | Session,
    actor: Actor,
    *,
    action: str,
    target: str,
    org_unit_id: int,
    detail: dict[str, Any],
    now: datetime | None = None,
    customer_id: int | None = None,
) -> None:
    """Append an administrative change: who changed what (`staff:12`), in which unit, values before and after; a
    change of a customer's record (a blacklist decision) names the customer, so it is in the customer's trail."""
    session.add(
        AuditEntry(
            staff_id=actor.staff_id,
            username=actor.username[:64],
            customer_id=customer_id,
            action=action,
            fields=sorted(detail),
            target=target,
            org_unit_id=org_unit_id,
            detail=detail,
            remote_addr=(actor.remote_addr or "")[:64] or None,
            created_at=now or utcnow(),
        )
    )


def record_customer_change(
    session: AsyncSession,
    viewer: Viewer,
    *,
    customer_id: int,
    org_unit_id: int,
    action: str,
    target: str,
    detail: dict[str, Any],
) -> None:
    """Append a change to a customer's record (its data, a claim, a service duty): in the customer's own trail."""
    record_change(
        session, viewer, action=action, target=target, org_unit_id=org_unit_id, detail=detail, customer_id=customer_id
    )


@dataclass(frozen=True)
class AuditFilter:
    """What an auditor asks for; every part is optional (`until` is exclusive)."""

    customer_id: int | None = None
    username: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    target: str | None = None


def entry_in_scope(viewer: Viewer) -> ColumnElement[bool]:
    """A read is visible with its customer; a change with the org unit it concerns."""
    return or_(
        exists().where(
            col(_AUDITED_CUSTOMER.id) == col(AuditEntry.customer_id),
            unit_in_scope(viewer, col(_AUDITED_CUSTOMER.org_unit_id)),
        ),
        and_(col(AuditEntry.customer_id).is_(None), unit_in_scope(viewer, col(AuditEntry.org_unit_id))),
    )


def audit_query(viewer: Viewer, wanted: AuditFilter, *, limit: int, before_id: int | None = None) -> Any:
    """Entries in the viewer's scope matching the filter, newest first, keyset-paged by id."""
    query = select(AuditEntry).where(entry_in_scope(viewer))
    if wanted.customer_id is not None:
        query = query.where(col(AuditEntry.customer_id) == wanted.customer_id)
    if wanted.username:
        query = query.where(col(AuditEntry.username) == wanted.username)
    if wanted.action == CHANGES:
        query = query.where(col(AuditEntry.action) != READ)
    elif wanted.action:
        query = query.where(col(AuditEntry.action) == wanted.action)
    if wanted.target:
        query = query.where(col(AuditEntry.target) == wanted.target)
    if wanted.since is not None:
        query = query.where(col(AuditEntry.created_at) >= wanted.since)
    if wanted.until is not None:
        query = query.where(col(AuditEntry.created_at) < wanted.until)
    return newest_first(query, AuditEntry.id, before_id=before_id, limit=limit)


async def search_audit(
    session: AsyncSession, viewer: Viewer, wanted: AuditFilter, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    """The trail as an auditor queries it. One customer's trail is open to auditors and center managers who can
    see the customer (CustomerNotFound otherwise); the rest (by person, date, action) to auditors only."""
    if wanted.customer_id is not None:
        if viewer.role not in CUSTOMER_TRAIL_READERS:
            raise NotAllowed("a customer's audit trail is read by center managers, executives and administrators")
        visible = await session.exec(
            select(col(Customer.id)).where(col(Customer.id) == wanted.customer_id, customer_in_scope(viewer))
        )
        if visible.first() is None:
            raise CustomerNotFound(f"no customer {wanted.customer_id}")
    elif viewer.role not in AUDITORS:
        raise NotAllowed("the audit trail is queried by administrators and executives; name a customer_id")
    return list((await session.exec(audit_query(viewer, wanted, limit=limit, before_id=before_id))).all())


def audit_page(customer_id: int, *, limit: int, before_id: int | None = None) -> Any:
    """Reads of one customer, newest first, keyset-paged by id."""
    query = select(AuditEntry).where(col(AuditEntry.customer_id) == customer_id)
    return newest_first(query, AuditEntry.id, before_id=before_id, limit=limit)


async def audit_of_customer(
    session: AsyncSession, viewer: Viewer, customer_id: int, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    """The audit trail of a customer the viewer can see (CustomerNotFound otherwise)."""
    visible = await session.exec(
        select(col(Customer.id)).where(col(Customer.id) == customer_id, customer_in_scope(viewer))
    )
    if visible.first() is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    return list((await session.exec(audit_page(customer_id, limit=limit, before_id=before_id))).all())


def audit_public(entry: AuditEntry) -> AuditEntryPublic:
    """An audit entry as the API shows it."""
    return AuditEntryPublic.model_validate(entry, from_attributes=True)


# -- wire models -------------------------------------------------------------------------------------


class AuditEntryPublic(Answer):
    """An audit entry as the API shows it."""

    id: int = PField(description="the entry's id (pass as `before` for the next page)")
    username: str = PField(description="who read or changed")
    staff_id: int | None = PField(description="their staff id")
    customer_id: int | None = PField(description="the customer read or changed; null for an administrative change")
    action: str = PField(description="read, or the change made")
    fields: list[str] = PField(description="the fields read or changed")
    purpose: str | None = PField(description="why (call-record, blacklist, ...)")
    call_sid: str | None = PField(description="the call the read served")
    remote_addr: str | None = PField(description="the client's address")
    at: Moment = PField(validation_alias="created_at", description="when (UTC)")
    target: str | None = PField(description="what a change concerned: staff:12, org_unit:5")
    org_unit_id: int | None = PField(description="the unit a change concerned")
    detail: dict[str, Any] | None = PField(description="values before and after, never a password")


class AuditPage(Answer):
    """GET /api/v1/audit."""

    items: list[AuditEntryPublic] = PField(description="newest first")
    next: str | None = PField(description="the next page's address; null on the last page")
