"""Tables of dispatch: surveyor profiles, roadside vendors, dispatch requests and their assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, LargeBinary
from sqlmodel import Field, SQLModel

from crm_store.indexes import partial_index
from crm_store.text_messages import OutgoingText
from crm_store.types import JsonDocument, UtcDateTime, utcnow


class SurveyorProfile(SQLModel, table=True):
    """A staff member with role `surveyor` as dispatch sees them: home unit (and its province, for the board's
    regional lookups), skills, shift, status, last reported position and how many assignments they carry at once.

    `shift` is an opening-hours spec (`crm_store.calendar.OpeningHours.parse`): "24h" or {"mon-fri": "09:00-18:00"}.
    `status`: available, en_route, on_site, reporting, off_duty."""

    __tablename__ = "dispatch_surveyor"
    __table_args__ = (Index("ix_dispatch_surveyor_board", "province_unit_id", "status"),)
    staff_id: int = Field(foreign_key="staff.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    home_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    province_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    skills: list[str] = Field(default_factory=list, sa_type=JsonDocument)
    shift: Any = Field(default="24h", sa_type=JsonDocument)
    status: str = Field(default="off_duty", max_length=16)
    capacity: int = Field(default=1, ge=1)
    lat: float | None = None
    lon: float | None = None
    position_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    phone: str | None = Field(default=None, max_length=20)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Vendor(SQLModel, table=True):
    """A partner for tow and roadside rescue: the services it offers (tow, battery, tyre, fuel, lockout), the org
    units it serves (provinces or branches), its base or last position, and how many jobs it takes at once."""

    __tablename__ = "dispatch_vendor"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    phone: str | None = Field(default=None, max_length=20)
    services: list[str] = Field(default_factory=list, sa_type=JsonDocument)
    service_unit_ids: list[int] = Field(default_factory=list, sa_type=JsonDocument)
    lat: float | None = None
    lon: float | None = None
    position_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    capacity: int = Field(default=3, ge=1)
    active: bool = Field(default=True, index=True)


class DispatchRequest(SQLModel, table=True):
    """Someone or something to send to a scene: a surveyor (`survey`) or a vendor (`tow`, `rescue` with its
    `rescue_kind`), the place, what happened, the customer and policy, the promise that applies and its due time,
    and the moment of each state (draft, open, assigned, accepted, en_route, on_site, reporting, done, cancelled)."""

    __tablename__ = "dispatch_request"
    __table_args__ = (
        # The board: live requests by due time, overall and per province.
        partial_index(
            "ix_dispatch_request_board",
            "province_unit_id",
            "due_at",
            where="state NOT IN ('done', 'cancelled')",
        ),
        Index("ix_dispatch_request_state_due", "state", "due_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    rescue_kind: str | None = Field(default=None, max_length=16)
    skill: str = Field(default="auto", max_length=16)
    state: str = Field(default="open", max_length=16)
    address: str = Field(default="", max_length=300)
    lat: float | None = None
    lon: float | None = None
    region: str = Field(default="city", max_length=8)
    org_unit_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    province_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    what_happened: str = Field(default="", max_length=2000)
    vehicles: list[dict[str, Any]] = Field(default_factory=list, sa_type=JsonDocument)
    injured: list[dict[str, Any]] = Field(default_factory=list, sa_type=JsonDocument)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    policy_id: int | None = Field(default=None, foreign_key="policy.id")
    call_sid: str | None = Field(default=None, max_length=34, index=True)
    contact_phone: str | None = Field(default=None, max_length=20)
    segment: str | None = Field(default=None, max_length=16)
    promise_minutes: int | None = None
    promise_reason: str = Field(default="", max_length=200)
    due_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    source: str = Field(default="api", max_length=16)
    created_by_id: int | None = Field(default=None, foreign_key="staff.id")
    dispatcher_id: int | None = Field(default=None, foreign_key="staff.id")
    surveyor_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    vendor_id: int | None = Field(default=None, foreign_key="dispatch_vendor.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    opened_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    assigned_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    en_route_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    on_site_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reporting_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    late_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    escalated_to_id: int | None = Field(default=None, foreign_key="staff.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DispatchAssignment(SQLModel, table=True):
    """One offer of a request to a surveyor or a vendor: who assigned it, by when it must be accepted, and how it
    ended (`outcome`: expired, declined, cancelled, done). At most one assignment of a request is live."""

    __tablename__ = "dispatch_assignment"
    __table_args__ = (
        partial_index(
            "ux_dispatch_assignment_live",
            "request_id",
            where="ended_at IS NULL",
            unique=True,
        ),
        # A surveyor's (a vendor's) load: their live assignments.
        Index("ix_dispatch_assignment_surveyor", "surveyor_id", "ended_at"),
        Index("ix_dispatch_assignment_vendor", "vendor_id", "ended_at"),
        partial_index(
            "ix_dispatch_assignment_unaccepted",
            "accept_by",
            where="ended_at IS NULL AND accepted_at IS NULL",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="dispatch_request.id")
    surveyor_id: int | None = Field(default=None, foreign_key="staff.id")
    vendor_id: int | None = Field(default=None, foreign_key="dispatch_vendor.id")
    assigned_by_id: int | None = Field(default=None, foreign_key="staff.id")
    assigned_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    accept_by: datetime = Field(sa_type=UtcDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    outcome: str | None = Field(default=None, max_length=16)


class SurveyReport(SQLModel, table=True):
    """The surveyor's report of a survey: the damage seen, the liability share of our insured (percent), the
    estimate (KRW), the customer's signature (a PNG) and the claim it is attached to. One report per request."""

    __tablename__ = "survey_report"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="dispatch_request.id", unique=True)
    claim_id: int | None = Field(default=None, foreign_key="claim.id", index=True)
    surveyor_id: int | None = Field(default=None, foreign_key="staff.id")
    damage: str = Field(max_length=4000)
    liability_percent: int = Field(ge=0, le=100)
    estimate_won: int = Field(default=0, ge=0, sa_type=BigInteger)
    signature_png: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class SurveyPhoto(SQLModel, table=True):
    """A photo of a survey report, stored in the database (bounded in size, its type checked on upload)."""

    __tablename__ = "survey_photo"
    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="survey_report.id", index=True)
    content_type: str = Field(max_length=32)
    size: int
    data: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DispatchMessage(OutgoingText, table=True):
    """A text message of dispatch (the surveyor's or vendor's assignment with its link, the customer's arrival
    estimate), written in the step's transaction and sent by the workers through Twilio's REST API: at once by its
    job, and retried with back-off by the dispatch timers' sweep until sent or given up. `status`: pending, sent,
    failed."""

    __tablename__ = "dispatch_message"
    __table_args__ = (
        # The sweep over the messages still to send.
        partial_index("ix_dispatch_message_pending", "next_attempt_at", where="status = 'pending'"),
    )
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="dispatch_request.id", index=True)
    purpose: str = Field(max_length=16)
    from_phone: str = Field(max_length=32)
