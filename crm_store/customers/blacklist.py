"""The company-wide blacklist: entries, the keys they are matched on, and matching a customer or a caller.

An entry is matched on the listed customer's registration-number hash, phone numbers and vehicle plates (and any
further numbers or plates given as evidence), whichever branch the customer turns up at. Matches are found at read
time, so no branch can hide them; only the listed customer's own record carries `Customer.blacklisted`.

Only entries in force match: approved by a center manager and not revoked (`in_force`). Proposals, approval,
revocation and the center managers' listing are in `crm_store.customers.blacklist_decisions`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date
from typing import Any

from pydantic import field_validator
from sqlalchemy import literal, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.customers.alerts import BlacklistHit
from crm_store.customers.phones import normalise_phone
from crm_store.customers.tables import BlacklistEntry, BlacklistKey, Customer, CustomerPhone, Vehicle
from crm_store.org.tables import OrgUnit, Role
from crm_store.types import TWO_CHARACTERS, Input, RecordId
from crm_store.validation import all_normalised, readable_reason

# Korean plates: optional region (서울), 2 or 3 digits, one Hangul syllable, 4 digits: 12가3456, 서울12가3456.
_PLATE = re.compile(r"(?:[가-힣]{2})?\d{2,3}[가-힣]\d{4}")
PLATE_EXPECTED = "not a vehicle plate such as 12가3456"
APPROVERS = frozenset({Role.CENTER_MANAGER, Role.ADMIN})


def normalise_plate(raw: str) -> str | None:
    """A vehicle plate without spaces or hyphens, or None if it is not a Korean plate."""
    plate = re.sub(r"[\s\-]", "", raw)
    return plate if _PLATE.fullmatch(plate) else None


class BlacklistCreate(Input):
    """A proposal to list a customer (POST /api/v1/blacklist)."""

    customer_id: RecordId = Field(description="the customer to list, in your scope")
    reason: str = Field(
        schema_extra=TWO_CHARACTERS,
        min_length=2,
        max_length=500,
        description="why, for a person (graded: masked below clearance 3)",
    )
    evidence: str | None = Field(default=None, max_length=2000, description="what supports it (graded like reason)")
    review_on: date | None = Field(default=None, description="when the listing is to be reviewed")
    phones: list[str] = Field(default_factory=list, max_length=10, description="further numbers to match on")
    plates: list[str] = Field(default_factory=list, max_length=10, description="further vehicle plates to match on")

    _reason = field_validator("reason")(readable_reason)

    @field_validator("phones")
    @classmethod
    def _phones(cls, values: list[str]) -> list[str]:
        return all_normalised(values, normalise_phone, "not a Korean phone number")

    @field_validator("plates")
    @classmethod
    def _plates(cls, values: list[str]) -> list[str]:
        return all_normalised(values, normalise_plate, PLATE_EXPECTED)


def in_force(entry: Any = BlacklistEntry) -> Any:
    """True for entries that match: approved by a center manager and not revoked."""
    return col(entry.approved_at).is_not(None) & col(entry.revoked_at).is_(None)


def _entry_columns(entry: Any, unit: Any, matched_on: Any) -> tuple[Any, ...]:
    return (col(entry.id), col(entry.customer_id), col(entry.reason), matched_on, col(unit.name))


def blacklist_hits_query(customer_id: int | None, caller: str | None = None) -> Any:
    """Entries in force matching the customer (own entry, registration hash, phones, plates) or the calling number."""
    entry, key, listed, unit = BlacklistEntry, BlacklistKey, aliased(Customer), OrgUnit

    def keyed(kind: str, condition: Any) -> Any:
        return (
            select(*_entry_columns(entry, unit, literal(kind)))
            .join(key, col(key.entry_id) == col(entry.id))
            .join(listed, col(listed.id) == col(entry.customer_id))
            .join(unit, col(unit.id) == col(listed.org_unit_id))
            .where(in_force(entry), col(key.kind) == kind, condition)
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
            .where(in_force(entry), col(entry.customer_id) == customer_id),
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
    """The blacklist entries in force matching a customer or a calling number, company-wide."""
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


def matched_customers_query(low: int, high: int) -> Any:
    """Customers with ids in [low, high] that an entry in force lists or matches (for the segment run)."""
    return _matched_customers(lambda customer_id: customer_id.between(low, high))


def matched_among_query(customer_ids: Collection[int]) -> Any:
    """Those of the customers that an entry in force lists or matches, as the picture's `blacklisted` says."""
    return _matched_customers(lambda customer_id: customer_id.in_(customer_ids))


def _matched_customers(among: Callable[[Any], Any]) -> Any:
    entry, key = BlacklistEntry, BlacklistKey
    active = in_force(entry)
    return union_all(
        select(col(entry.customer_id)).where(active, among(col(entry.customer_id))),
        select(col(Customer.id))
        .join(key, (col(key.kind) == "registration") & (col(key.value) == col(Customer.registration_hash)))
        .join(entry, col(entry.id) == col(key.entry_id))
        .where(active, among(col(Customer.id))),
        select(col(CustomerPhone.customer_id))
        .join(key, (col(key.kind) == "phone") & (col(key.value) == col(CustomerPhone.e164)))
        .join(entry, col(entry.id) == col(key.entry_id))
        .where(active, among(col(CustomerPhone.customer_id))),
        select(col(Vehicle.customer_id))
        .join(key, (col(key.kind) == "plate") & (col(key.value) == col(Vehicle.plate)))
        .join(entry, col(entry.id) == col(key.entry_id))
        .where(active, among(col(Vehicle.customer_id))),
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
