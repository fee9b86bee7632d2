"""The audit of reads of customer information: appended in the reading transaction, never changed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.errors import CustomerNotFound
from crm_store.models import AuditEntry, Customer
from crm_store.scope import Viewer, customer_in_scope
from crm_store.types import utcnow


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


def audit_page(customer_id: int, *, limit: int, before_id: int | None = None) -> Any:
    """Reads of one customer, newest first, keyset-paged by id."""
    query = select(AuditEntry).where(col(AuditEntry.customer_id) == customer_id)
    if before_id is not None:
        query = query.where(col(AuditEntry.id) < before_id)
    return query.order_by(col(AuditEntry.id).desc()).limit(limit)


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


def audit_public(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry as the API shows it."""
    return {
        "id": entry.id,
        "username": entry.username,
        "staff_id": entry.staff_id,
        "customer_id": entry.customer_id,
        "action": entry.action,
        "fields": entry.fields,
        "purpose": entry.purpose,
        "call_sid": entry.call_sid,
        "remote_addr": entry.remote_addr,
        "at": entry.created_at.isoformat(),
    }
