"""Customers: creation, policies and claims (aggregates and segment kept current).

Every read goes through the viewer's scope and appends an audit row in the same transaction; an out-of-scope
customer is not found. Registration numbers are stored only as a keyed hash (matching) and a mask (display).
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import Field as PField
from pydantic import SecretStr, StrictInt, field_validator, model_validator
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
from crm_store.types import SOME_TEXT, Answer, Day, Input, Moment, RecordId, stripped
from crm_store.validation import Conflict, InvalidInput, all_normalised

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
# A claim's stage beside its status: the survey report filed for it (손해사정 보고 완료).
SURVEY_REPORTED = "survey_reported"
MAX_AMOUNT = 10**13


def customer_phones(values: list[str]) -> list[str]:
    """A customer's numbers in E.164, each once, in the order given; ValueError names the format expected."""
    return all_normalised(
        values, normalise_phone, "not a Korean phone number (010-1234-5678, 02-123-4567, +82 10 ...)", once=True
    )


class CustomerCreate(Input):
    """POST /api/v1/customers."""

    kind: CustomerKind = Field(description="individual or corporate")
    name: str = Field(schema_extra=SOME_TEXT, min_length=1, max_length=100, description="the customer's name")
    phones: list[str] = Field(min_length=1, max_length=5, description="any common Korean format; stored as E.164")
    registration_number: SecretStr = Field(
        description="13-digit resident or 10-digit business number; stored only as a keyed hash and a mask"
    )
    org_unit_id: RecordId = Field(description="the owning unit, within your scope")
    vehicles: list[str] = Field(default_factory=list, max_length=10, description="plates such as 12가3456")
    key_account: KeyAccount | None = Field(default=None, description="group, system or large_project")
    profile: dict[str, Any] | None = Field(
        default=None, description="by kind: family, occupation, contact preferences; or industry, size, contacts"
    )
    # The customer's account manager; by default a certified manager of the branch (crm_store.account_managers).
    account_manager: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="username of a certified manager of the customer's branch or the city branch above; by default"
        " the nearest branch's certified manager with the fewest customers",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return stripped(value, "a name is required")

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


class PolicyCreate(Input):
    """POST /api/v1/customers/{id}/policies."""

    line: Line = Field(description="the line of business")
    premium: StrictInt = Field(ge=0, le=MAX_AMOUNT, description="annual premium, KRW")
    start_date: date = Field(description="first day covered")
    end_date: date = Field(description="the day cover ends: after start_date, at most five years later")
    vehicle_plate: str | None = Field(default=None, description="the insured vehicle's plate, for auto")

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


class ClaimCreate(Input):
    """POST /api/v1/customers/{id}/claims."""

    policy_id: RecordId = Field(description="one of this customer's policies")
    occurred_on: date = Field(description="when the loss occurred: within the policy period, not in the future")
    paid_amount: StrictInt = Field(default=0, ge=0, le=MAX_AMOUNT, description="paid so far, KRW")
    status: ClaimStatus = Field(default="open", description="the claim's state")


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
    stage: str | None = None
    survey_report_id: int | None = None


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
    return await open_claim(session, customer_id, data, rules=rules, as_of=as_of, changed_by=viewer.username)


async def open_claim(
    session: AsyncSession, customer_id: int, data: ClaimCreate, *, rules: Rules, as_of: date, changed_by: str
) -> tuple[Claim, Segment, list[Alert]]:
    """A claim on one of the customer's policies, the caller having checked it may act for the customer (a viewer's
    scope in `add_claim`, a dispatch request's survey); aggregates, segment and claim alerts follow at once."""
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
    segment, facts = await recompute_customer(session, customer_id, rules=rules, as_of=as_of, changed_by=changed_by)
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


# -- wire models -------------------------------------------------------------------------------------


class AlertPublic(Answer):
    """An alert on a customer."""

    kind: str = PField(description="blacklist, frequent_claims, high_loss_ratio, key_customer, repeat_complainant")
    level: str = PField(description="info, warning or critical")
    reason: str = PField(description="why, for a person; a blacklist reason masked below its grade")


class PolicyAnswer(Answer):
    """POST /api/v1/customers/{customer_id}/policies: the policy, and the customer's segment after it."""

    id: int = PField(description="the policy's id")
    policy_number: str = PField(description="the policy number")
    line: str = PField(description="the line of business")
    premium: int = PField(description="annual premium, KRW")
    start_date: Day = PField(description="first day covered")
    end_date: Day = PField(description="the day cover ends")
    customer_id: int = PField(description="the policy holder")
    segment: str = PField(description="the customer's segment after the change")


class ClaimAnswer(Answer):
    """A claim after a change, with the customer's segment and the claim alerts it raised."""

    id: int = PField(description="the claim's id")
    policy_id: int = PField(description="the policy claimed on")
    claim_number: str = PField(description="the claim number")
    occurred_on: Day = PField(description="when the loss occurred")
    paid_amount: int = PField(description="paid so far, KRW")
    status: str = PField(description="open, paid, closed or rejected")
    closed_on: Day | None = PField(description="when it was closed; null while open")
    stage: str | None = PField(
        description="how far its handling has come beside the status: survey_reported once the survey report is "
        "filed; null before"
    )
    survey_report_id: int | None = PField(
        description="the survey report filed for it (GET /api/v1/dispatches/{id}/report); null before"
    )
    customer_id: int = PField(description="the claimant")
    segment: str = PField(description="the customer's segment after the change")
    alerts: list[AlertPublic] = PField(description="alerts the claim raised")


class SegmentChangePublic(Answer):
    """One change of a customer's segment."""

    from_: str | None = PField(alias="from", description="the segment before; null for the first")
    to: str = PField(description="the segment after")
    reason: str = PField(description="why, in words")
    at: Moment = PField(description="when (UTC)")
    by: str = PField(description="who or what decided (a username, or the rules)")


class SegmentHistory(Answer):
    """GET /api/v1/customers/{customer_id}/segment-history."""

    items: list[SegmentChangePublic] = PField(description="every change, newest first")


class PictureManager(Answer):
    """The customer's account manager on the picture."""

    username: str = PField(description="the manager's username")
    full_name: str = PField(description="the manager's name")
    grade: str | None = PField(description="the current grade; null: never certified")
    org_unit_id: int = PField(description="the manager's branch")
    since: Moment = PField(description="the manager's since when (UTC)")
    certified_on: Day | None = PField(description="the current certification's date; null: never certified")
    valid_until: Day | None = PField(description="the last day it holds; null: never certified")
    certification_lapsed: bool = PField(description="the yearly certification ran out (or was never granted)")


class CustomerPicture(Answer):
    """The customer picture: who, segment and why, alerts, loss ratio, policies, claims, calls, manager; graded
    fields masked below the viewer's clearance (`masked_fields` names them)."""

    id: int = PField(description="the customer's id")
    name: str = PField(description="name")
    kind: str = PField(description="individual or corporate")
    org_unit_id: int = PField(description="owning unit")
    org_unit_name: str = PField(description="its name")
    registration_number: str | None = PField(description="masked (900101-1******)")
    phones: list[dict[str, Any]] = PField(description="numbers with their labels")
    vehicles: list[str] = PField(description="plates such as 12가3456")
    profile: dict[str, Any] | None = PField(description="family, occupation, contacts; or industry, size, contacts")
    segment: str = PField(description="quality, key, ordinary or inferior")
    segment_reason: str | None = PField(description="why, in words")
    segment_changed_at: Moment | None = PField(description="when the segment last changed (UTC)")
    segment_history: list[SegmentChangePublic] = PField(description="recent segment changes, newest first")
    key_account: str | None = PField(description="group, system or large_project")
    blacklisted: bool = PField(description="listed, or matching a listing anywhere in the company")
    blacklist: list[dict[str, Any]] = PField(
        description="matching entries: entry_id, reason, matched_on, listed_at_unit, own_entry"
    )
    alerts: list[AlertPublic] = PField(description="what the agent should know first")
    loss_ratio: float | None = PField(description="paid claims / earned premium over the window")
    loss_ratio_window_years: int = PField(description="the window, years")
    years: list[dict[str, Any]] = PField(description="per year: earned_premium, paid, claims, loss_ratio")
    premium_total: int = PField(description="premium of every policy, KRW")
    paid_total: int = PField(description="paid on every claim, KRW")
    claim_count: int = PField(description="claims")
    open_claims: int = PField(description="claims still open")
    in_force_premium: int = PField(description="premium of the policies in force, KRW")
    account_manager: PictureManager | None = PField(description="the customer's account manager")
    entitlements: list[dict[str, Any]] = PField(description="services the segment entitles to: code, name")
    policies: list[dict[str, Any]] = PField(description="policies, newest first")
    claims: list[dict[str, Any]] = PField(description="claims, newest first; injury details masked by grade")
    recent_calls: list[dict[str, Any]] = PField(description="the latest calls: call_sid, type, topic, status")
    requests_90_days: dict[str, Any] = PField(description="complaint, report, dispatch calls per type")
    open_requests: list[dict[str, Any]] = PField(
        description="complaints, accident reports and dispatch requests whose review is not closed"
    )
    masked_fields: list[str] = PField(description="fields hidden from the viewer's clearance")
