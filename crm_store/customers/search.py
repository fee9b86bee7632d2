"""Customer search for the desk: an unknown caller linked to a customer by phone number (any Korean format), vehicle
plate, policy number or the start of a name, within the viewer's scope, masked by clearance and audited as a read.

What the text is decides the one look-up made, each an index probe: a plate (`12가 3456`) the vehicles' plate index,
a policy number (`AU-2024-0000001`) the policies' unique index, digits a phone number (the unique E.164 index),
anything else the start of a name (on PostgreSQL the pattern index that revision 0012 adds, whatever the collation).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field as PField
from sqlalchemy import Index
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_read
from crm_store.customers.blacklist import matched_among_query, normalise_plate
from crm_store.customers.phones import normalise_phone
from crm_store.customers.tables import Customer, CustomerPhone, Policy, Vehicle
from crm_store.org.clearance import mask_fields, shown_fields
from crm_store.org.scope import Viewer, customer_in_scope
from crm_store.org.tables import OrgUnit
from crm_store.paging import newest_first
from crm_store.types import Answer

# A name search by its start: `name LIKE '김민%'` is a range of this index on PostgreSQL under any collation.
NAME_PREFIX_INDEX = Index(
    "ix_customer_name_prefix", col(Customer.name), postgresql_ops={"name": "varchar_pattern_ops"}
).ddl_if(dialect="postgresql")

MatchedOn = Literal["phone", "plate", "policy", "name"]
_POLICY = re.compile(r"[A-Za-z]{2}-\d{4}-[0-9A-Za-z]{4,16}")
# What a phone number is written with; a text of these is never taken for a name.
_PHONE_TEXT = re.compile(r"[\d\s+().-]+")
# Dashes a word processor or a phone's keyboard writes for a hyphen (‐ ‑ ‒ – — ― −, full-width -): read as "-".
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d", "-"))
MIN_NAME = 2
EXPECTED = "a phone number, vehicle plate, policy number or at least two letters of a name"


class CustomerMatch(Answer):
    """A customer found by the search, as much as the desk needs to tell customers apart."""

    id: int = PField(gt=0, description="the customer")
    name: str = PField(description="the customer's name")
    phones: list[str] = PField(description="E.164, in the order they were added")
    kind: str = PField(description="individual or corporate")
    segment: str = PField(description="quality, key, ordinary or inferior")
    registration_number: str | None = PField(description="masked; hidden whole below its clearance")
    org_unit_id: int = PField(gt=0, description="the branch that owns the customer")
    org_unit_name: str = PField(description="its name")
    masked_fields: list[str] = PField(description="fields hidden at the viewer's clearance")
    blacklisted: bool = PField(
        description="listed or matched by a listing in force, as the customer picture says (the reason is there)"
    )
    matched_on: MatchedOn = PField(description="what the text was taken for: phone, plate, policy or name")


# What the audit row of a search names as read (at full clearance; `shown_fields` leaves out what is masked).
SEARCH_FIELDS = tuple(name for name in CustomerMatch.model_fields if name not in ("matched_on", "masked_fields"))


class CustomerSearchPage(Answer):
    """GET /api/v1/customers/search."""

    items: list[CustomerMatch] = PField(description="newest customers first")
    next: str | None = PField(description="the next page's address; null on the last page")


class UnsearchableText(ValueError):
    """The text is none of a phone number, plate, policy number or name."""


def _escaped_prefix(text: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", text) + "%"


def match_condition(text: str) -> tuple[MatchedOn, Any]:
    """What `text` is and the condition on Customer.id (or its name) that finds it; UnsearchableText otherwise."""
    text = text.strip().translate(_DASHES)
    plate = normalise_plate(text)
    if plate is not None:
        return "plate", col(Customer.id).in_(select(Vehicle.customer_id).where(col(Vehicle.plate) == plate))
    if _POLICY.fullmatch(text):
        number = text.upper()
        return "policy", col(Customer.id).in_(select(Policy.customer_id).where(col(Policy.policy_number) == number))
    if _PHONE_TEXT.fullmatch(text):
        phone = normalise_phone(text)
        if phone is None:
            raise UnsearchableText(EXPECTED)
        return "phone", col(Customer.id).in_(select(CustomerPhone.customer_id).where(col(CustomerPhone.e164) == phone))
    if len(text) < MIN_NAME:
        raise UnsearchableText(EXPECTED)
    return "name", col(Customer.name).like(_escaped_prefix(text), escape="\\")


def search_query(viewer: Viewer, condition: Any, *, limit: int, before_id: int | None) -> Any:
    """Customers in the viewer's scope meeting `condition`, with their unit's name, newest first."""
    query = (
        select(Customer, OrgUnit.name)
        .join(OrgUnit, col(OrgUnit.id) == col(Customer.org_unit_id))
        .where(condition, customer_in_scope(viewer))
    )
    return newest_first(query, Customer.id, before_id=before_id, limit=limit)


async def search_customers(
    session: AsyncSession, viewer: Viewer, text: str, *, limit: int, before_id: int | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` customers the text finds, masked for the viewer, each read audited (purpose `search`); and
    whether more follow."""
    matched_on, condition = match_condition(text)
    rows = (await session.exec(search_query(viewer, condition, limit=limit + 1, before_id=before_id))).all()
    more, rows = len(rows) > limit, rows[:limit]
    ids = [customer.id for customer, _ in rows]
    phones: dict[int, list[str]] = {customer_id: [] for customer_id in ids}
    if ids:
        numbers = select(CustomerPhone.customer_id, CustomerPhone.e164).where(col(CustomerPhone.customer_id).in_(ids))
        for customer_id, e164 in (await session.exec(numbers.order_by(col(CustomerPhone.id)))).all():
            phones[customer_id].append(e164)
    # Matches are found at read time, like the picture's: a listing matches customers whose own record is not listed.
    listed = {int(c) for (c,) in (await session.exec(matched_among_query(ids))).all()} if ids else set()
    audited = shown_fields(viewer.clearance, "customer", SEARCH_FIELDS)
    found = []
    for customer, unit_name in rows:
        item = {
            "id": customer.id,
            "name": customer.name,
            "kind": customer.kind,
            "org_unit_id": customer.org_unit_id,
            "org_unit_name": unit_name,
            "registration_number": customer.registration_masked,
            "segment": customer.segment,
            "blacklisted": customer.id in listed,
            "phones": phones[customer.id],
            "matched_on": matched_on,
        }
        found.append(mask_fields(viewer, "customer", item))
        record_read(session, viewer, customer_id=customer.id, fields=audited, purpose="search")
    return found, more
