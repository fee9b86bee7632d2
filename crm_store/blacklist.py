"""The company-wide blacklist: entries, the keys they are matched on, and matching a customer or a caller.

An entry is matched on the listed customer's registration-number hash, phone numbers and vehicle plates (and any
further numbers or plates given as evidence), whichever branch the customer turns up at. Matches are found at read
time, so no branch can hide them; only the listed customer's own record carries `Customer.blacklisted`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from pydantic import ConfigDict, StrictInt, field_validator
from sqlalchemy import literal, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.alerts import BlacklistHit
from crm_store.errors import CustomerNotFound
from crm_store.events import customer_event
from crm_store.models import (
    AlertLevel,
    BlacklistEntry,
    BlacklistKey,
    Customer,
    CustomerPhone,
    OrgUnit,
    Role,
    Vehicle,
)
from crm_store.phones import normalise_phone
from crm_store.rules import Rules
from crm_store.scope import Viewer, customer_in_scope
from crm_store.types import utcnow
from crm_store.validation import NotAllowed

# Korean plates: optional region (서울), 2 or 3 digits, one Hangul syllable, 4 digits: 12가3456, 서울12가3456.
_PLATE = re.compile(r"(?:[가-힣]{2})?\d{2,3}[가-힣]\d{4}")
APPROVERS = frozenset({Role.CENTER_MANAGER, Role.ADMIN})


def normalise_plate(raw: str) -> str | None:
    """A vehicle plate without spaces or hyphens, or None if it is not a Korean plate."""
    plate = re.sub(r"[\s\-]", "", raw)
    return plate if _PLATE.fullmatch(plate) else None


class BlacklistCreate(SQLModel):
    """A proposal to list a customer (POST /api/v1/blacklist)."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    customer_id: StrictInt = Field(gt=0)
    reason: str = Field(min_length=2, max_length=500)
    evidence: str | None = Field(default=None, max_length=2000)
    review_on: date | None = None
    phones: list[str] = Field(default_factory=list, max_length=10)
    plates: list[str] = Field(default_factory=list, max_length=10)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if len(value.strip()) < 2:
            raise ValueError("a reason a person can read is required")
        return value.strip()

    @field_validator("phones")
    @classmethod
    def _phones(cls, values: list[str]) -> list[str]:
        normalised = [normalise_phone(v) for v in values]
        if any(n is None for n in normalised):
            raise ValueError("not a Korean phone number")
        return [n for n in normalised if n is not None]

    @field_validator("plates")
    @classmethod
    def _plates(cls, values: list[str]) -> list[str]:
        plates = [normalise_plate(v) for v in values]
        if any(p is None for p in plates):
            raise ValueError("not a vehicle plate such as 12가3456")
        return [p for p in plates if p is not None]


def _entry_columns(entry: Any, unit: Any, matched_on: Any) -> tuple[Any, ...]:
    return (col(entry.id), col(entry.customer_id), col(entry.reason), matched_on, col(unit.name))


def blacklist_hits_query(customer_id: int | None, caller: str | None = None) -> Any:
    """Active entries matching the customer (own entry, registration hash, phones, plates) or the calling number."""
    entry, key, listed, unit = BlacklistEntry, BlacklistKey, aliased(Customer), OrgUnit

    def keyed(kind: str, condition: Any) -> Any:
        return (
            select(*_entry_columns(entry, unit, literal(kind)))
            .join(key, col(key.entry_id) == col(entry.id))
            .join(listed, col(listed.id) == col(entry.customer_id))
            .join(unit, col(unit.id) == col(listed.org_unit_id))
            .where(col(entry.revoked_at).is_(None), col(key.kind) == kind, condition)
        )

    parts = []
    if customer_id is not None:
        registration = select(col(Customer.registration_hash)).where(col(Customer.id) == customer_id)
        phones = select(col(CustomerPhone.e164)).where(col(CustomerPhone.customer_id) == customer_id)
        plates = select(col(Vehicle.plate)).where(col(Vehicle.customer_id) == customer_id)
        parts += [
            select(*_entry_columns(entry, unit, literal("customer")))
            .join(listed, col(listed.id) == col(entry.customer_id))
            .join(unit, col(unit.id) == col(listed.org_unit_id))
            .where(col(entry.revoked_at).is_(None), col(entry.customer_id) == customer_id),
            keyed("registration", col(key.value) == registration.scalar_subquery()),
            keyed("phone", col(key.value).in_(phones)),
            keyed("plate", col(key.value).in_(plates)),
        ]
    if caller is not None:
        parts.append(keyed("phone", col(key.value) == caller))
    if not parts:
        raise ValueError("a customer id or a calling number is needed")
    return union_all(*parts)


def hits_from_rows(rows: Iterable[Sequence[Any]], customer_id: int | None) -> list[BlacklistHit]:
    """One hit per entry: the customer's own entry first, else the first key it matched on."""
    hits: dict[int, BlacklistHit] = {}
    rank = {"customer": 0, "registration": 1, "phone": 2, "plate": 3}
    for entry_id, listed_id, reason, matched_on, unit_name in rows:
        hit = BlacklistHit(int(entry_id), int(listed_id), reason, matched_on, unit_name, listed_id == customer_id)
        known = hits.get(hit.entry_id)
        if known is None or rank[hit.matched_on] < rank[known.matched_on]:
            hits[hit.entry_id] = hit
    return sorted(hits.values(), key=lambda h: (not h.own, h.entry_id))


async def find_hits(session: AsyncSession, *, customer_id: int | None, caller: str | None = None) -> list[BlacklistHit]:
    """The active blacklist entries matching a customer or a calling number, company-wide."""
    if customer_id is None and caller is None:
        return []
    rows = (await session.exec(blacklist_hits_query(customer_id, caller))).all()
    return hits_from_rows(rows, customer_id)


def keys_of_customer(customer_id: int) -> Any:
    """The matching keys a listing of this customer gets: registration hash, phones, plates."""
    return union_all(
        select(literal("registration"), col(Customer.registration_hash)).where(
            col(Customer.id) == customer_id, col(Customer.registration_hash).is_not(None)
        ),
        select(literal("phone"), col(CustomerPhone.e164)).where(col(CustomerPhone.customer_id) == customer_id),
        select(literal("plate"), col(Vehicle.plate)).where(col(Vehicle.customer_id) == customer_id),
    )


def customers_matching_entry(entry_id: int) -> Any:
    """Ids of every customer, company-wide, that an entry's keys match (the listed customer included)."""
    key = BlacklistKey
    of_entry = col(key.entry_id) == entry_id
    return union_all(
        select(col(Customer.id))
        .join(key, (col(key.kind) == "registration") & (col(key.value) == col(Customer.registration_hash)))
        .where(of_entry),
        select(col(CustomerPhone.customer_id))
        .join(key, (col(key.kind) == "phone") & (col(key.value) == col(CustomerPhone.e164)))
        .where(of_entry),
        select(col(Vehicle.customer_id))
        .join(key, (col(key.kind) == "plate") & (col(key.value) == col(Vehicle.plate)))
        .where(of_entry),
    )


async def list_customer(
    session: AsyncSession, viewer: Viewer, data: BlacklistCreate, *, rules: Rules, as_of: date
) -> BlacklistEntry:
    """List a customer the viewer can see; a center manager's (or administrator's) listing is approved at once.

    The listed customer and every customer the listing matches elsewhere are re-segmented at once."""
    from crm_store.segment_store import recompute_customer  # segment_store reads blacklist matches from here

    customer = (
        await session.exec(select(Customer).where(col(Customer.id) == data.customer_id, customer_in_scope(viewer)))
    ).first()
    if customer is None:
        raise CustomerNotFound(f"no customer {data.customer_id}")
    now = utcnow()
    approved = viewer.role in APPROVERS
    entry = BlacklistEntry(
        customer_id=data.customer_id,
        reason=data.reason,
        evidence=data.evidence,
        review_on=data.review_on,
        proposed_by_id=viewer.staff_id,
        created_at=now,
        approved_by_id=viewer.staff_id if approved else None,
        approved_at=now if approved else None,
    )
    session.add(entry)
    await session.flush()
    assert entry.id is not None
    keys = {(kind, value) for kind, value in (await session.exec(keys_of_customer(data.customer_id))).all()}
    keys |= {("phone", p) for p in data.phones} | {("plate", p) for p in data.plates}
    for kind, value in sorted(keys):
        session.add(BlacklistKey(entry_id=entry.id, kind=kind, value=value))
    customer.blacklisted = True
    session.add(customer)
    await session.exec(
        customer_event(
            data.customer_id, kind="blacklisted", level=AlertLevel.CRITICAL, reason=f"블랙리스트 등재: {data.reason}"
        )
    )  # type: ignore[call-overload]
    await session.flush()
    matched = {int(c) for (c,) in (await session.exec(customers_matching_entry(entry.id))).all()}
    for customer_id in sorted(matched | {data.customer_id}):
        await recompute_customer(session, customer_id, rules=rules, as_of=as_of, changed_by=viewer.username)
    return entry


async def approve_entry(session: AsyncSession, viewer: Viewer, entry_id: int) -> BlacklistEntry:
    """A center manager (or administrator) whose scope holds the listed customer approves the entry."""
    entry = (
        await session.exec(
            select(BlacklistEntry)
            .join(Customer, col(Customer.id) == col(BlacklistEntry.customer_id))
            .where(col(BlacklistEntry.id) == entry_id, customer_in_scope(viewer))
        )
    ).first()
    if entry is None:
        from crm_store.errors import NotFound

        raise NotFound(f"no blacklist entry {entry_id}")
    if viewer.role not in APPROVERS:
        raise NotAllowed("only a center manager approves blacklist entries")
    if entry.approved_at is None:
        entry.approved_by_id, entry.approved_at = viewer.staff_id, utcnow()
        session.add(entry)
    return entry


def matched_customers_query(low: int, high: int) -> Any:
    """Customers with ids in [low, high] that an active entry lists or matches (for the segment run)."""
    entry, key = BlacklistEntry, BlacklistKey
    active = col(entry.revoked_at).is_(None)
    return union_all(
        select(col(entry.customer_id)).where(active, col(entry.customer_id).between(low, high)),
        select(col(Customer.id))
        .join(key, (col(key.kind) == "registration") & (col(key.value) == col(Customer.registration_hash)))
        .join(entry, col(entry.id) == col(key.entry_id))
        .where(active, col(Customer.id).between(low, high)),
        select(col(CustomerPhone.customer_id))
        .join(key, (col(key.kind) == "phone") & (col(key.value) == col(CustomerPhone.e164)))
        .join(entry, col(entry.id) == col(key.entry_id))
        .where(active, col(CustomerPhone.customer_id).between(low, high)),
        select(col(Vehicle.customer_id))
        .join(key, (col(key.kind) == "plate") & (col(key.value) == col(Vehicle.plate)))
        .join(entry, col(entry.id) == col(key.entry_id))
        .where(active, col(Vehicle.customer_id).between(low, high)),
    )


def backfill_keys_query() -> Any:
    """Keys for entries that have none (entries written before keys existed): registration hash and phones."""
    entry = BlacklistEntry
    without_keys = ~select(col(BlacklistKey.id)).where(col(BlacklistKey.entry_id) == col(entry.id)).exists()
    return union_all(
        select(col(entry.id), literal("registration"), col(Customer.registration_hash))
        .join(Customer, col(Customer.id) == col(entry.customer_id))
        .where(without_keys, col(Customer.registration_hash).is_not(None)),
        select(col(entry.id), literal("phone"), col(CustomerPhone.e164))
        .join(CustomerPhone, col(CustomerPhone.customer_id) == col(entry.customer_id))
        .where(without_keys),
        select(col(entry.id), literal("plate"), col(Vehicle.plate))
        .join(Vehicle, col(Vehicle.customer_id) == col(entry.customer_id))
        .where(without_keys),
    )


def backfill_keys(engine: Any) -> int:
    """Give every entry without keys the keys of its customer (entries listed before keys existed)."""
    from sqlalchemy import insert as core_insert

    with engine.begin() as conn:
        rows = [{"entry_id": e, "kind": k, "value": v} for e, k, v in conn.execute(backfill_keys_query()).all()]
        if rows:
            conn.execute(core_insert(BlacklistKey.__table__), rows)  # type: ignore[attr-defined]
    return len(rows)
