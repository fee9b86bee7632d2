"""Customers: creation, policies and claims (aggregates and segment kept current).

Every read goes through the viewer's scope and appends an audit row in the same transaction; an out-of-scope
customer is not found. Registration numbers are stored only as a keyed hash (matching) and a mask (display).
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import ConfigDict, SecretStr, StrictInt, field_validator, model_validator
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.customers.alerts import Alert, evaluate_alerts
from crm_store.customers.blacklist import PLATE_EXPECTED, find_hits, normalise_plate
from crm_store.customers.events import add_event
from crm_store.customers.identity import (
    InvalidRegistrationNumber,
    registration_digits,
    registration_hash,
    registration_mask,
)
from crm_store.customers.phones import mask_phone, normalise_phone
from crm_store.customers.profiles import parse_profile
from crm_store.customers.rules import Rules
from crm_store.customers.segment_rules import CustomerFacts
from crm_store.customers.segments import recompute_customer
from crm_store.customers.stats import claim_increments, policy_increments
from crm_store.customers.tables import (
    AlertKind,
    AlertLevel,
    Claim,
    Customer,
    CustomerKind,
    CustomerPhone,
    CustomerStats,
    KeyAccount,
    Policy,
    Segment,
    Vehicle,
)
from crm_store.errors import CustomerNotFound
from crm_store.managers.account_managers import assign_new_customer
from crm_store.org.scope import Viewer, customer_in_scope, unit_in_scope
from crm_store.org.tables import OrgUnit
from crm_store.validation import MAX_ID, Conflict, InvalidInput, all_normalised

log = logging.getLogger(__name__)

LINE_CODES = {
    "auto": "AU",
    "home": "HM",
    "fire": "FI",
    "cargo": "CG",
    "liability": "LI",
    "personal_accident": "PA",
    "travel": "TR",
    "property": "PR",
}
Line = Literal["auto", "home", "fire", "cargo", "liability", "personal_accident", "travel", "property"]
ClaimStatus = Literal["open", "paid", "closed", "rejected"]
MAX_AMOUNT = 10**13


class _Input(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


def customer_phones(values: list[str]) -> list[str]:
    """A customer's numbers in E.164, each once, in the order given; ValueError names the format expected."""
    return all_normalised(
        values, normalise_phone, "not a Korean phone number (010-1234-5678, 02-123-4567, +82 10 ...)", once=True
    )


class CustomerCreate(_Input):
    """POST /api/v1/customers."""

    kind: CustomerKind
    name: str = Field(min_length=1, max_length=100)
    phones: list[str] = Field(min_length=1, max_length=5)
    registration_number: SecretStr
    org_unit_id: StrictInt = Field(gt=0, le=MAX_ID)
    vehicles: list[str] = Field(default_factory=list, max_length=10)
    key_account: KeyAccount | None = None
    profile: dict[str, Any] | None = None
    # The customer's account manager; by default a certified manager of the branch
    # (crm_store.managers.account_managers).
    account_manager: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a name is required")
        return value.strip()

    @field_validator("phones")
    @classmethod
    def _phones(cls, values: list[str]) -> list[str]:
        return customer_phones(values)

    @field_validator("registration_number")
    @classmethod
    def _registration(cls, value: SecretStr) -> SecretStr:
        try:
            registration_digits(value.get_secret_value())
        except InvalidRegistrationNumber as err:
            raise ValueError(str(err)) from None
        return value

    @field_validator("vehicles")
    @classmethod
    def _plates(cls, values: list[str]) -> list[str]:
        return all_normalised(values, normalise_plate, PLATE_EXPECTED, once=True)


class PolicyCreate(_Input):
    """POST /api/v1/customers/{id}/policies."""

    line: Line
    premium: StrictInt = Field(ge=0, le=MAX_AMOUNT)
    start_date: date
    end_date: date
    vehicle_plate: str | None = None

    @field_validator("vehicle_plate")
    @classmethod
    def _plate(cls, value: str | None) -> str | None:
        if value is None:
            return None
        plate = normalise_plate(value)
        if plate is None:
            raise ValueError("not a vehicle plate such as 12가3456")
        return plate

    @model_validator(mode="after")
    def _period(self) -> PolicyCreate:
        if self.end_date <= self.start_date:
            raise ValueError("end_date must be after start_date")
        if self.end_date > self.start_date + timedelta(days=5 * 366):
            raise ValueError("a policy runs at most five years")
        return self


class ClaimCreate(_Input):
    """POST /api/v1/customers/{id}/claims."""

    policy_id: StrictInt = Field(gt=0, le=MAX_ID)
    occurred_on: date
    paid_amount: StrictInt = Field(default=0, ge=0, le=MAX_AMOUNT)
    status: ClaimStatus = "open"


class PolicyPublic(SQLModel):
    id: int
    policy_number: str
    line: str
    premium: int
    start_date: date
    end_date: date


class ClaimPublic(SQLModel):
    id: int
    policy_id: int
    claim_number: str
    occurred_on: date
    paid_amount: int
    status: str
    closed_on: date | None = None


# -- writing -------------------------------------------------------------------------------------


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name  # type: ignore[union-attr]


async def visible_customer(session: AsyncSession, viewer: Viewer, customer_id: int) -> Customer:
    """The customer if the viewer may see it; CustomerNotFound otherwise."""
    customer = (
        await session.exec(select(Customer).where(col(Customer.id) == customer_id, customer_in_scope(viewer)))
    ).first()
    if customer is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    return customer


async def create_customer(
    session: AsyncSession, viewer: Viewer, data: CustomerCreate, *, secret_key: str, rules: Rules, as_of: date
) -> int:
    """A new customer owned by a unit in the viewer's scope; a blacklist match elsewhere is reported at once."""
    profile = parse_profile(data.kind, data.profile)
    unit_path = (
        await session.exec(
            select(col(OrgUnit.path)).where(col(OrgUnit.id) == data.org_unit_id, unit_in_scope(viewer, col(OrgUnit.id)))
        )
    ).first()
    if unit_path is None:
        raise InvalidInput({"org_unit_id": "unknown org unit, or outside your scope"})
    taken = (await session.exec(select(col(CustomerPhone.e164)).where(col(CustomerPhone.e164).in_(data.phones)))).all()
    if taken:
        raise Conflict(
            {"phones": f"already a customer's number: {', '.join(mask_phone(p) or '' for p in taken)}"},
            "phone number already registered",
        )
    raw = data.registration_number.get_secret_value()
    customer = Customer(
        kind=data.kind,
        name=data.name,
        org_unit_id=data.org_unit_id,
        registration_hash=registration_hash(raw, key=secret_key),
        registration_masked=registration_mask(raw),
        key_account=data.key_account,
        profile=profile,
    )
    session.add(customer)
    await session.flush()
    assert customer.id is not None
    for e164 in data.phones:
        session.add(
            CustomerPhone(customer_id=customer.id, e164=e164, label="mobile" if e164.startswith("+8210") else "phone")
        )
    for plate in data.vehicles:
        session.add(Vehicle(customer_id=customer.id, plate=plate))
    session.add(CustomerStats(customer_id=customer.id))
    await session.flush()
    manager = await assign_new_customer(
        session, viewer, customer.id, unit_path=unit_path, requested=data.account_manager, as_of=as_of
    )
    if manager is None:
        await add_event(
            session,
            customer.id,
            kind="no_account_manager",
            level=AlertLevel.WARNING,
            reason="담당 관리자 미지정: 고객 지점과 상위 시 지점에 인증된 고객관리자가 없음",
        )
    hits = await find_hits(session, customer_id=customer.id)
    if hits:
        hit = hits[0]
        log.warning(
            "new customer %s matches blacklist entry %s (%s) of %s",
            customer.id,
            hit.entry_id,
            hit.matched_on,
            hit.org_unit_name,
        )
        await add_event(
            session,
            customer.id,
            kind="blacklist_match",
            level=AlertLevel.CRITICAL,
            reason=f"신규 고객이 블랙리스트 #{hit.entry_id} ({hit.org_unit_name})와 일치",
        )
    await recompute_customer(session, customer.id, rules=rules, as_of=as_of, changed_by=viewer.username)
    return customer.id


async def add_policy(
    session: AsyncSession, viewer: Viewer, customer_id: int, data: PolicyCreate, *, rules: Rules, as_of: date
) -> tuple[Policy, Segment]:
    """A policy for a customer in scope; aggregates and segment follow in the same transaction."""
    customer = await visible_customer(session, viewer, customer_id)
    number = f"{LINE_CODES[data.line]}-{data.start_date.year}-{secrets.token_hex(5).upper()}"
    policy = Policy(
        customer_id=customer_id,
        policy_number=number,
        line=data.line,
        premium=data.premium,
        start_date=data.start_date,
        end_date=data.end_date,
    )
    session.add(policy)
    await session.flush()
    if data.vehicle_plate:
        known = (
            await session.exec(
                select(col(Vehicle.id)).where(
                    col(Vehicle.customer_id) == customer_id, col(Vehicle.plate) == data.vehicle_plate
                )
            )
        ).first()
        if known is None:
            session.add(Vehicle(customer_id=customer_id, plate=data.vehicle_plate, policy_id=policy.id))
    for statement in policy_increments(
        _dialect(session), customer_id=customer_id, premium=data.premium, start=data.start_date, end=data.end_date
    ):
        await session.exec(statement)
    segment, _facts = await recompute_customer(
        session, customer.id or customer_id, rules=rules, as_of=as_of, changed_by=viewer.username
    )
    return policy, segment


async def add_claim(
    session: AsyncSession, viewer: Viewer, customer_id: int, data: ClaimCreate, *, rules: Rules, as_of: date
) -> tuple[Claim, Segment, list[Alert]]:
    """A claim on one of the customer's policies; aggregates, segment and claim alerts follow at once."""
    await visible_customer(session, viewer, customer_id)
    policy = (
        await session.exec(
            select(Policy).where(col(Policy.id) == data.policy_id, col(Policy.customer_id) == customer_id)
        )
    ).first()
    if policy is None:
        raise InvalidInput({"policy_id": "no such policy of this customer"})
    if not policy.start_date <= data.occurred_on < policy.end_date:
        raise InvalidInput({"occurred_on": f"outside the policy period {policy.start_date} to {policy.end_date}"})
    if data.occurred_on > as_of:
        raise InvalidInput({"occurred_on": "in the future"})
    number = f"CL-{data.occurred_on.year}-{secrets.token_hex(5).upper()}"
    claim = Claim(
        customer_id=customer_id,
        policy_id=data.policy_id,
        claim_number=number,
        occurred_on=data.occurred_on,
        paid_amount=data.paid_amount,
        status=data.status,
    )
    session.add(claim)
    await session.flush()
    for statement in claim_increments(
        _dialect(session),
        customer_id=customer_id,
        occurred_on=data.occurred_on,
        paid=data.paid_amount,
        status=data.status,
    ):
        await session.exec(statement)
    segment, facts = await recompute_customer(
        session, customer_id, rules=rules, as_of=as_of, changed_by=viewer.username
    )
    alerts = claim_alerts(facts, segment, rules=rules, as_of=as_of)
    for alert in alerts:
        await add_event(
            session, customer_id, kind=alert.kind.value, level=alert.level, reason=f"청구 {number}: {alert.reason}"
        )
    return claim, segment, alerts


def claim_alerts(facts: CustomerFacts, segment: Segment, *, rules: Rules, as_of: date) -> list[Alert]:
    """The alerts a claim can raise (frequent claims, high loss ratio), on the customer's facts after it."""
    return [
        a
        for a in evaluate_alerts(
            facts,
            segment=segment,
            hits=(),
            complaint_dates=(),
            rules=rules.alerts,
            window_years=rules.segments.window_years,
            as_of=as_of,
        )
        if a.kind in (AlertKind.FREQUENT_CLAIMS, AlertKind.HIGH_LOSS_RATIO)
    ]
