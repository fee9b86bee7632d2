"""Tables of the CRM store, with their families (Base, Create, Public) where they reach the wire."""

from __future__ import annotations

from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Index, LargeBinary, String, UniqueConstraint, false, text, true
from sqlmodel import Field, SQLModel

from crm_store.types import JsonDocument, UtcDateTime, utcnow


class OrgLevel(IntEnum):
    HEAD_OFFICE = 0
    PROVINCE = 1
    CITY = 2
    COUNTY = 3


class Role(StrEnum):
    AGENT = "agent"
    OPERATOR = "operator"
    CENTER_MANAGER = "center_manager"
    ACCOUNT_MANAGER = "account_manager"
    DISPATCHER = "dispatcher"
    SURVEYOR = "surveyor"
    EXECUTIVE = "executive"
    ADMIN = "admin"


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


class ManagerGrade(StrEnum):
    """The five account-manager grades, highest first (수석, 고급, 중급, 초급, 수습)."""

    PRINCIPAL = "principal"
    SENIOR = "senior"
    INTERMEDIATE = "intermediate"
    JUNIOR = "junior"
    TRAINEE = "trainee"


class CallType(StrEnum):
    REPORT = "report"
    INQUIRY = "inquiry"
    COMPLAINT = "complaint"
    NOTIFICATION = "notification"
    DISPATCH = "dispatch"


class PipelineState(StrEnum):
    """How far a call's record has come through the jobs."""

    RECEIVED = "received"
    RECORDING_READY = "recording_ready"
    RECORDING_FETCHED = "recording_fetched"
    TRANSCRIBED = "transcribed"
    CLASSIFIED = "classified"
    FAILED = "failed"


# -- organisation -----------------------------------------------------------------------------


class OrgUnitBase(SQLModel):
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=100)
    level: int = Field(ge=0, le=3)
    parent_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)


class OrgUnit(OrgUnitBase, table=True):
    __tablename__ = "org_unit"
    id: int | None = Field(default=None, primary_key=True)
    # Materialised path "/1/4/17/": a subtree is one indexed prefix match.
    path: str = Field(default="/", max_length=255, index=True)
    # A closed branch keeps its history (staff, customers, audit) but takes no new staff, units or calls.
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class OrgUnitPublic(OrgUnitBase):
    id: int
    active: bool = True


class StaffBase(SQLModel):
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str = Field(max_length=100)
    role: Role = Field(sa_type=String(32))
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    clearance: int = Field(default=1, ge=0, le=5)


class Staff(StaffBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class StaffPublic(StaffBase):
    id: int


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    # SHA-256 of the token: a stolen table gives no usable token.
    token_hash: str = Field(max_length=64, unique=True, index=True)
    label: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


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


# -- account managers --------------------------------------------------------------------------


class AccountManager(SQLModel, table=True):
    """An account manager's current grade; the certifications behind it are in account_manager_grade."""

    __tablename__ = "account_manager"
    staff_id: int = Field(foreign_key="staff.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    grade: ManagerGrade = Field(sa_type=String(16))
    certified_on: date
    valid_until: date


class ManagerCertification(SQLModel, table=True):
    """A yearly certification (or re-rating) of an account manager, with who approved it."""

    __tablename__ = "account_manager_grade"
    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    grade: ManagerGrade = Field(sa_type=String(16))
    certified_on: date
    valid_until: date
    evaluation: str | None = Field(default=None, max_length=200)
    approved_by_id: int = Field(foreign_key="staff.id")
    approving_unit_id: int = Field(foreign_key="org_unit.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class AccountAssignment(SQLModel, table=True):
    """Who manages a customer; the partial unique index allows one current assignment per customer."""

    __tablename__ = "account_assignment"
    __table_args__ = (
        Index(
            "ux_account_assignment_current",
            "customer_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    account_manager_id: int = Field(foreign_key="staff.id", index=True)
    assigned_by_id: int | None = Field(default=None, foreign_key="staff.id")
    reason: str = Field(default="", max_length=200)
    assigned_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


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


class ServiceTask(SQLModel, table=True):
    """A scheduled service duty: visit of a key customer, phone interview of a quality one, renewal reminder.

    One duty per customer, kind, due date and policy: two partial unique indexes, because a NULL policy_id never
    equals another in a unique key (a renewal reminder names its policy, a visit or an interview names none)."""

    __tablename__ = "service_task"
    __table_args__ = (
        Index(
            "ux_service_task_duty",
            "customer_id",
            "kind",
            "due_on",
            unique=True,
            postgresql_where=text("policy_id IS NULL"),
            sqlite_where=text("policy_id IS NULL"),
        ),
        Index(
            "ux_service_task_policy_duty",
            "customer_id",
            "kind",
            "due_on",
            "policy_id",
            unique=True,
            postgresql_where=text("policy_id IS NOT NULL"),
            sqlite_where=text("policy_id IS NOT NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    account_manager_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    kind: str = Field(max_length=32)
    due_on: date = Field(index=True)
    done_on: date | None = None
    policy_id: int | None = Field(default=None, foreign_key="policy.id")
    note: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # What came of the visit, interview or reminder, and who marked it done (the manager or a center manager).
    outcome: str | None = Field(default=None, max_length=1000)
    done_by_id: int | None = Field(default=None, foreign_key="staff.id")


# -- audit -------------------------------------------------------------------------------------


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


# -- calls -------------------------------------------------------------------------------------


class Call(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=34, unique=True, index=True)
    account_sid: str | None = Field(default=None, max_length=34)
    # As Twilio sends them, unbounded: a SIP URI or a client name is no E.164 number, and new Direction values
    # (trunking-originating) appear without notice. The status is one of Twilio's (telephony.webhooks).
    from_number: str | None = None
    to_number: str | None = None
    direction: str | None = None
    status: str | None = Field(default=None, max_length=16)
    # Highest SequenceNumber applied: an older status callback arriving late changes nothing.
    status_sequence: int = Field(default=-1)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    started_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    duration: int | None = None
    recording_sid: str | None = Field(default=None, max_length=34)
    recording_url: str | None = None  # Twilio documents no length
    recording_duration: int | None = None
    recording_channels: int | None = None
    pipeline_state: PipelineState = Field(default=PipelineState.RECEIVED, sa_type=String(24), index=True)
    failure_reason: str | None = Field(default=None, max_length=500)
    transcript: str | None = None
    transcript_raw: str | None = None
    transcript_detail: dict[str, Any] | None = Field(default=None, sa_type=JsonDocument)
    asr_model: str | None = Field(default=None, max_length=64)
    asr_sample_rate: int | None = None
    type: CallType | None = Field(default=None, sa_type=String(16), index=True)
    topic: str | None = Field(default=None, max_length=64)
    urgency: str | None = Field(default=None, max_length=16)
    entities: list[dict[str, Any]] | None = Field(default=None, sa_type=JsonDocument)
    classification: dict[str, Any] | None = Field(default=None, sa_type=JsonDocument)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class CallEvent(SQLModel, table=True):
    """Every webhook as received, append-only; the dedup key makes a redelivery a no-op."""

    __tablename__ = "call_event"
    __table_args__ = (Index("ix_call_event_call_sid_sequence", "call_sid", "sequence_number"),)
    id: int | None = Field(default=None, primary_key=True)
    # No foreign key: a callback for a call we never saw is kept, not dropped.
    call_sid: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    dedup_key: str = Field(max_length=200, unique=True)
    sequence_number: int | None = None
    payload: dict[str, Any] = Field(sa_type=JsonDocument)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Recording(SQLModel, table=True):
    """The audio as fetched from Twilio; the database is the source of truth, not a worker's disk."""

    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=34, index=True)
    recording_sid: str = Field(max_length=34, unique=True)
    content_type: str = Field(max_length=64)
    audio: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class OutboxJob(SQLModel, table=True):
    """Work promised in the same transaction as the data; relayed to the queue until it gets there."""

    __tablename__ = "outbox_job"
    __table_args__ = (UniqueConstraint("job_id"),)
    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=120)
    queue: str = Field(max_length=32)
    func: str = Field(max_length=120)
    call_sid: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    enqueued_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    # Times the stuck-work duty enqueued it again because its call had stopped moving (workers.stuck).
    recoveries: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


# -- sign-in: sessions and lockout (issue 5) ---------------------------------------------------


class LoginSession(SQLModel, table=True):
    """A console (browser) session: only the SHA-256 of the cookie value is stored, with its CSRF token."""

    __tablename__ = "login_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    csrf_token: str = Field(max_length=64)
    remote_addr: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class LoginLockout(SQLModel, table=True):
    """Failed password attempts of a staff member; too many in a row lock the account for a while."""

    __tablename__ = "login_lockout"
    staff_id: int = Field(foreign_key="staff.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    failures: int = 0
    last_failure_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UtcDateTime)


# -- review of call records by the operators (issue 5) -----------------------------------------


class ReviewState(StrEnum):
    OPEN = "open"
    TAKEN = "taken"
    CLOSED = "closed"


class ReviewItem(SQLModel, table=True):
    """A processed call record waiting in (or taken from) the review queue of one org unit's operators."""

    __tablename__ = "review_item"
    __table_args__ = (Index("ix_review_item_queue", "org_unit_id", "state", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=34, unique=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    org_unit_id: int = Field(foreign_key="org_unit.id")
    state: ReviewState = Field(default=ReviewState.OPEN, sa_type=String(16))
    type: str | None = Field(default=None, max_length=16)
    topic: str | None = Field(default=None, max_length=64)
    urgency: str | None = Field(default=None, max_length=16)
    route_reason: str = Field(default="", max_length=300)
    due_at: datetime = Field(sa_type=UtcDateTime)
    escalations: int = 0
    taken_by_id: int | None = Field(default=None, foreign_key="staff.id")
    taken_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    note: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ReviewEvent(SQLModel, table=True):
    """What happened to a review item, append-only: routed, taken, escalated, forwarded, change decided, closed."""

    __tablename__ = "review_event"
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="review_item.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    action: str = Field(max_length=32)
    from_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    to_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    note: str | None = Field(default=None, max_length=1000)
    detail: dict[str, Any] | None = Field(default=None, sa_type=JsonDocument)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ClassificationCorrection(SQLModel, table=True):
    """An operator's confirmation or correction of the classifier's type, topic and entities: training data."""

    __tablename__ = "classification_correction"
    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=34, index=True)
    item_id: int | None = Field(default=None, foreign_key="review_item.id")
    staff_id: int = Field(foreign_key="staff.id")
    predicted: dict[str, Any] = Field(sa_type=JsonDocument)
    corrected: dict[str, Any] = Field(sa_type=JsonDocument)
    changed: bool = False
    model: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
