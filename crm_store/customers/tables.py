"""Tables of customers (phones, policies, claims, vehicles, blacklist, aggregates, segments, events), with their wire
models."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Index, String, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel

from crm_store.types import JsonDocument, UtcDateTime, utcnow


class CustomerKind(StrEnum):
    INDIVIDUAL = "individual"
    CORPORATE = "corporate"


class Segment(StrEnum):
    QUALITY = "quality"
    KEY = "key"
    ORDINARY = "ordinary"
    INFERIOR = "inferior"


class KeyAccount(StrEnum):
    """Why a customer counts as key whatever its premium: a group, a system or a large-project customer."""

    GROUP = "group"
    SYSTEM = "system"
    LARGE_PROJECT = "large_project"


class AlertKind(StrEnum):
    BLACKLIST = "blacklist"
    FREQUENT_CLAIMS = "frequent_claims"
    HIGH_LOSS_RATIO = "high_loss_ratio"
    KEY_CUSTOMER = "key_customer"
    REPEAT_COMPLAINANT = "repeat_complainant"


class AlertLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


# -- customers ---------------------------------------------------------------------------------


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: CustomerKind = Field(sa_type=String(16))
    name: str = Field(max_length=100, index=True)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    # Registration numbers are never stored in clear: a keyed hash for matching, a mask for display.
    registration_hash: str | None = Field(default=None, max_length=64, index=True)
    registration_masked: str | None = Field(default=None, max_length=20)
    segment: Segment = Field(default=Segment.ORDINARY, sa_type=String(16))
    # Set only by the customer's own blacklist entry; a match on another customer's entry is found at read time.
    blacklisted: bool = Field(default=False, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # Inputs of the segment rules that are not in policies and claims.
    key_account: KeyAccount | None = Field(default=None, sa_type=String(16))
    fraud_marker: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    late_payments: int = Field(default=0, ge=0, sa_column_kwargs={"server_default": text("0")})
    # Family members (individuals) or business details and contacts (corporate customers).
    profile: dict[str, Any] | None = Field(default=None, sa_type=JsonDocument)
    segment_reason: str | None = Field(default=None, max_length=300)
    segment_changed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class CustomerPhone(SQLModel, table=True):
    __tablename__ = "customer_phone"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    # E.164; the screen-pop lookup on every incoming call goes through this unique index.
    e164: str = Field(max_length=20, unique=True, index=True)
    label: str = Field(default="mobile", max_length=20)


class Policy(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    policy_number: str = Field(max_length=32, unique=True, index=True)
    line: str = Field(max_length=32)
    premium: int = Field(ge=0, sa_type=BigInteger)
    start_date: date
    end_date: date


class Claim(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    policy_id: int = Field(foreign_key="policy.id", index=True)
    claim_number: str = Field(max_length=32, unique=True, index=True)
    occurred_on: date
    paid_amount: int = Field(default=0, ge=0, sa_type=BigInteger)
    status: str = Field(default="open", max_length=16)
    # Set when the claim leaves "open" (paid, closed, rejected); cleared when it is reopened.
    closed_on: date | None = None
    # How far the claim's handling has come beside its status (e.g. "survey_reported", 손해사정 보고 완료), and the
    # survey report that brought it there (dispatch's survey_report.id; no foreign key: that table points here).
    stage: str | None = Field(default=None, max_length=24)
    survey_report_id: int | None = None


class BlacklistEntry(SQLModel, table=True):
    __tablename__ = "blacklist_entry"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    reason: str = Field(max_length=500)
    proposed_by_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    evidence: str | None = Field(default=None, max_length=2000)
    approved_by_id: int | None = Field(default=None, foreign_key="staff.id")
    approved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    review_on: date | None = None
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class BlacklistKey(SQLModel, table=True):
    """What a listing is matched on company-wide: registration hash, phone numbers, vehicle plates."""

    __tablename__ = "blacklist_key"
    __table_args__ = (
        UniqueConstraint("entry_id", "kind", "value", name="uq_blacklist_key_entry_kind_value"),
        Index("ix_blacklist_key_kind_value", "kind", "value"),
    )
    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="blacklist_entry.id", index=True)
    kind: str = Field(max_length=16)  # registration, phone, plate
    value: str = Field(max_length=64)


class Vehicle(SQLModel, table=True):
    """A customer's vehicle; its plate is a blacklist matching key."""

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    plate: str = Field(max_length=16, index=True)
    policy_id: int | None = Field(default=None, foreign_key="policy.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


# -- aggregates, kept current in the transaction that changes policies or claims -----------------


class CustomerStats(SQLModel, table=True):
    __tablename__ = "customer_stats"
    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    policy_count: int = 0
    premium_total: int = Field(default=0, sa_type=BigInteger)
    claim_count: int = 0
    open_claims: int = 0
    paid_total: int = Field(default=0, sa_type=BigInteger)
    first_policy_on: date | None = None
    last_claim_on: date | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class CustomerYearStats(SQLModel, table=True):
    """Per calendar year: earned premium (each policy spread pro rata over its days), paid claims by accident year."""

    __tablename__ = "customer_year_stats"
    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    premium: int = Field(default=0, sa_type=BigInteger)
    paid: int = Field(default=0, sa_type=BigInteger)
    claims: int = 0


class OrgUnitPremium(SQLModel, table=True):
    """In-force premium per owning unit at the last full segment run: the base of the key customers' share."""

    __tablename__ = "org_unit_premium"
    org_unit_id: int = Field(foreign_key="org_unit.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    in_force_premium: int = Field(default=0, sa_type=BigInteger)
    computed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class SegmentChange(SQLModel, table=True):
    """Every change of a customer's segment, with its reason and date."""

    __tablename__ = "segment_change"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    old_segment: Segment | None = Field(default=None, sa_type=String(16))
    new_segment: Segment = Field(sa_type=String(16))
    reason: str = Field(max_length=300)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    changed_by: str = Field(default="rules", max_length=64)


class CustomerEvent(SQLModel, table=True):
    """A major customer event (alert raised, segment changed, blacklist hit), reported to the account manager."""

    __tablename__ = "customer_event"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    account_manager_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    kind: str = Field(max_length=32)
    level: AlertLevel = Field(sa_type=String(16))
    reason: str = Field(max_length=500)
    call_sid: str | None = Field(default=None, max_length=34)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
