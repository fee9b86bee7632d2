"""Changes to a customer's record after creation: the inputs of the segment rules (fraud marker, late payments,
key-account flag), name, phone numbers and profile; and a claim's status, amount paid and closing date.

Every change is checked against the viewer's scope (an out-of-scope customer or claim is not found), keeps the
aggregates current, decides the segment again at once (a change of segment lands in its history with the rule's
reason) and appends an audit entry to the customer's trail naming what changed. Phone numbers appear there only
masked, and a profile change names the parts changed, not their contents.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from pydantic import StrictBool, StrictInt, field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_customer_change
from crm_store.customers.alerts import Alert
from crm_store.customers.blacklist import find_hits
from crm_store.customers.events import add_event
from crm_store.customers.phones import mask_phone
from crm_store.customers.profiles import merge_profile
from crm_store.customers.records import MAX_AMOUNT, ClaimStatus, claim_alerts, customer_phones, visible_customer
from crm_store.customers.rules import Rules
from crm_store.customers.segments import recompute_customer
from crm_store.customers.stats import OPEN_CLAIM, claim_adjustments
from crm_store.customers.tables import AlertLevel, Claim, Customer, CustomerKind, CustomerPhone, KeyAccount, Segment
from crm_store.errors import ClaimNotFound
from crm_store.org.scope import Viewer, customer_in_scope
from crm_store.types import SOME_TEXT, Change, stripped
from crm_store.validation import Conflict, InvalidInput


class CustomerUpdate(Change):
    """PATCH /api/v1/customers/{id}: only the fields given change (registration number, kind and owning unit never
    do here); `key_account` null removes the flag; `profile` keys replace the stored ones, null removes one."""

    name: str | None = Field(
        schema_extra=SOME_TEXT, default=None, min_length=1, max_length=100, description="the customer's name"
    )
    phones: list[str] | None = Field(
        default=None, min_length=1, max_length=5, description="every number of the customer, any common Korean format"
    )
    key_account: KeyAccount | None = Field(
        default=None, description="group, system or large_project; null removes the flag"
    )
    fraud_marker: StrictBool | None = Field(default=None, description="a fraud marker set on the customer")
    late_payments: StrictInt | None = Field(
        default=None, ge=0, le=1000, description="late premium payments counted by the rules"
    )
    profile: dict[str, Any] | None = Field(
        default=None, description="profile keys to replace; a null value removes one"
    )

    @field_validator("name", "phones", "fraud_marker", "late_payments", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be removed, only changed")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return stripped(value, "a name is required") if value is not None else None

    @field_validator("phones")
    @classmethod
    def _phones(cls, values: list[str] | None) -> list[str] | None:
        return customer_phones(values) if values is not None else None


class ClaimUpdate(Change):
    """PATCH /api/v1/claims/{id}: status, amount paid, closing date. A claim that leaves "open" is closed today
    unless `closed_on` says otherwise; reopening it clears the date."""

    status: ClaimStatus | None = Field(default=None, description="the claim's new state (cannot be removed)")
    paid_amount: StrictInt | None = Field(
        default=None, ge=0, le=MAX_AMOUNT, description="paid so far, KRW (cannot be removed)"
    )
    closed_on: date | None = Field(
        default=None, description="the closing day; by default today when the claim leaves open"
    )
    nothing_given: ClassVar[str] = "nothing to change: give status, paid_amount or closed_on"

    @field_validator("status", "paid_amount", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be removed, only changed")
        return value


def _change(old: Any, new: Any) -> dict[str, Any]:
    return {"from": old, "to": new}


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name  # type: ignore[union-attr]


async def _replace_phones(session: AsyncSession, customer: Customer, wanted: list[str]) -> tuple[list[str], list[str]]:
    """The customer's numbers become `wanted` (labels of kept numbers stay); answers the numbers added and removed."""
    assert customer.id is not None
    stored = (await session.exec(select(CustomerPhone).where(col(CustomerPhone.customer_id) == customer.id))).all()
    current = {p.e164: p for p in stored}
    added = [n for n in wanted if n not in current]
    removed = [n for n in current if n not in wanted]
    if added:
        taken = (
            await session.exec(
                select(col(CustomerPhone.e164)).where(
                    col(CustomerPhone.e164).in_(added), col(CustomerPhone.customer_id) != customer.id
                )
            )
        ).all()
        if taken:
            raise Conflict(
                {"phones": f"already a customer's number: {', '.join(mask_phone(p) or '' for p in taken)}"},
                "phone number already registered",
            )
    try:
        async with session.begin_nested():
            for number in removed:
                await session.delete(current[number])
            await session.flush()
            for number in added:
                label = "mobile" if number.startswith("+8210") else "phone"
                session.add(CustomerPhone(customer_id=customer.id, e164=number, label=label))
            await session.flush()
    except IntegrityError as err:
        raise Conflict({"phones": "registered to another customer at the same time"}, "phone number taken") from err
    return added, removed


async def update_customer(
    session: AsyncSession, viewer: Viewer, customer_id: int, data: CustomerUpdate, *, rules: Rules, as_of: date
) -> dict[str, Any]:
    """Change the fields given of a customer in scope, decide the segment again, audit; answers what changed."""
    customer = await visible_customer(session, viewer, customer_id)
    given = data.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("name", "key_account", "fraud_marker", "late_payments"):
        if name in given:
            old, new = getattr(customer, name), getattr(data, name)
            if old != new:
                changes[name] = _change(old, new)
                setattr(customer, name, new)
    if "profile" in given:
        kind = CustomerKind(customer.kind)
        old_profile = customer.profile or {}
        new_profile = merge_profile(kind, customer.profile, data.profile) or {}
        parts = sorted(k for k in set(old_profile) | set(new_profile) if old_profile.get(k) != new_profile.get(k))
        if parts:
            changes["profile"] = {"changed": parts}
            customer.profile = new_profile or None
    session.add(customer)
    await session.flush()
    if "phones" in given and data.phones is not None:
        before = {h.entry_id for h in await find_hits(session, customer_id=customer_id)}
        added, removed = await _replace_phones(session, customer, data.phones)
        if added or removed:
            changes["phones"] = {
                "added": [mask_phone(n) for n in added],
                "removed": [mask_phone(n) for n in removed],
            }
        for hit in await find_hits(session, customer_id=customer_id):
            if hit.entry_id not in before:
                await add_event(
                    session,
                    customer_id,
                    kind="blacklist_match",
                    level=AlertLevel.CRITICAL,
                    reason=f"새 연락처가 블랙리스트 #{hit.entry_id} ({hit.org_unit_name})와 일치",
                )
    if not changes:
        return changes
    segment, _facts = await recompute_customer(
        session, customer_id, rules=rules, as_of=as_of, changed_by=viewer.username
    )
    changes["segment"] = segment.value
    record_customer_change(
        session,
        viewer,
        customer_id=customer_id,
        org_unit_id=customer.org_unit_id,
        action="customer.changed",
        target=f"customer:{customer_id}",
        detail=changes,
    )
    return changes


def _closing_date(claim: Claim, data: ClaimUpdate, status: str, paid: int, *, as_of: date) -> date | None:
    """The claim's closing date after the change; InvalidInput when status, amount and date do not fit."""
    given = data.model_fields_set
    if status == "rejected" and paid > 0:
        raise InvalidInput({"paid_amount": "a rejected claim pays nothing"})
    if status == OPEN_CLAIM:
        if "closed_on" in given and data.closed_on is not None:
            raise InvalidInput({"closed_on": "an open claim has no closing date (set status too)"})
        return None
    closed = data.closed_on if "closed_on" in given else (claim.closed_on or as_of)
    if closed is None:
        raise InvalidInput({"closed_on": f"a {status} claim keeps its closing date"})
    if closed < claim.occurred_on:
        raise InvalidInput({"closed_on": f"before the loss occurred ({claim.occurred_on})"})
    if closed > as_of:
        raise InvalidInput({"closed_on": "in the future"})
    return closed


async def update_claim(
    session: AsyncSession, viewer: Viewer, claim_id: int, data: ClaimUpdate, *, rules: Rules, as_of: date
) -> tuple[Claim, Segment, list[Alert]]:
    """Change a claim of a customer in scope; aggregates, segment and claim alerts follow at once, audited."""
    row = (
        await session.exec(
            select(Claim, Customer.org_unit_id)
            .join(Customer, col(Customer.id) == col(Claim.customer_id))
            .where(col(Claim.id) == claim_id, customer_in_scope(viewer))
            # Two changes of one claim at once would each move the aggregates from the same old values.
            .with_for_update(of=Claim)  # type: ignore[arg-type]
        )
    ).first()
    if row is None:
        raise ClaimNotFound(f"no claim {claim_id}")
    claim, unit_id = row
    status = data.status if data.status is not None else claim.status
    paid = data.paid_amount if data.paid_amount is not None else claim.paid_amount
    closed = _closing_date(claim, data, status, paid, as_of=as_of)
    changes = {
        name: _change(
            old.isoformat() if isinstance(old, date) else old, new.isoformat() if isinstance(new, date) else new
        )
        for name, old, new in (
            ("status", claim.status, status),
            ("paid_amount", claim.paid_amount, paid),
            ("closed_on", claim.closed_on, closed),
        )
        if old != new
    }
    paid_delta = paid - claim.paid_amount
    open_delta = int(status == OPEN_CLAIM) - int(claim.status == OPEN_CLAIM)
    if paid_delta or open_delta:
        for statement in claim_adjustments(
            _dialect(session),
            customer_id=claim.customer_id,
            occurred_on=claim.occurred_on,
            paid_delta=paid_delta,
            open_delta=open_delta,
        ):
            await session.exec(statement)
    claim.status, claim.paid_amount, claim.closed_on = status, paid, closed
    session.add(claim)
    await session.flush()
    segment, facts = await recompute_customer(
        session, claim.customer_id, rules=rules, as_of=as_of, changed_by=viewer.username
    )
    alerts = claim_alerts(facts, segment, rules=rules, as_of=as_of)
    if paid_delta > 0:
        for alert in alerts:
            if alert.kind.value == "high_loss_ratio":
                await add_event(
                    session,
                    claim.customer_id,
                    kind=alert.kind.value,
                    level=alert.level,
                    reason=f"청구 {claim.claim_number} 지급액 변경: {alert.reason}",
                )
    if changes:
        record_customer_change(
            session,
            viewer,
            customer_id=claim.customer_id,
            org_unit_id=unit_id,
            action="claim.changed",
            target=f"claim:{claim_id}",
            detail=changes,
        )
    return claim, segment, alerts
