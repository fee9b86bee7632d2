"""Wire models of complaints: what opening one takes, the form of each step, and what a reader is shown (times
in KST with their offset)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer

from crm_store.calendar import KST
from crm_store.validation import MAX_ID


class Channel(StrEnum):
    """The door a complaint came in by; `fss` is a referral by the Financial Supervisory Service (금융감독원 이첩)."""

    CALL = "call"
    VISIT = "visit"
    LETTER = "letter"
    WEB = "web"
    FSS = "fss"


class Category(StrEnum):
    """The disclosure classes of non-life insurers' complaints: sales, policy maintenance, claims payment, other."""

    SALES = "sales"
    MAINTENANCE = "maintenance"
    CLAIMS_PAYMENT = "claims_payment"
    OTHER = "other"


class Severity(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class State(StrEnum):
    """Where a complaint stands: the last of the seven steps done (접수·확인·등록·이전·조정·처리·피드백), closed, or
    reopened after the customer disputed the outcome."""

    RECEIPT = "receipt"
    VERIFICATION = "verification"
    REGISTRATION = "registration"
    TRANSFER = "transfer"
    COORDINATION = "coordination"
    HANDLING = "handling"
    FEEDBACK = "feedback"
    CLOSED = "closed"
    REOPENED = "reopened"


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AcknowledgementForm(_Form):
    """The customer told at once that the complaint is received, with the handler's name and number."""

    handler_name: str = Field(min_length=1, max_length=100, description="who handles it, as told to the customer")
    handler_phone: str = Field(min_length=3, max_length=32, description="the number the customer may call")
    via: str = Field(default="call", pattern=r"^(call|sms|letter|email|visit)$", description="how it was told")


class ComplaintCreate(_Form):
    """A complaint to open (the receipt step)."""

    customer_id: int = Field(ge=1, le=MAX_ID, description="the complaining customer")
    channel: Channel = Field(description="the door it came in by: call, visit, letter, web, fss (FSS referral)")
    category: Category = Field(description="disclosure class: sales, maintenance, claims_payment, other")
    summary: str = Field(min_length=1, max_length=2000, description="what the customer complains of")
    call_sid: str | None = Field(default=None, min_length=1, max_length=34, description="the call it came on")
    topic: str | None = Field(
        default=None, max_length=64, pattern=r"^complaint\.[a-z_]+$", description="a complaint topic of the taxonomy"
    )
    received_at: AwareDatetime | None = Field(default=None, description="when it was received; now when absent")
    severity: Severity = Field(default=Severity.NORMAL, description="low, normal or high")
    fss_reference: str | None = Field(default=None, max_length=64, description="the FSS's reference of a referral")
    acknowledgement: AcknowledgementForm | None = Field(
        default=None, description="the customer was told at once (an agent's form during the call): who handles it"
    )


class VerificationForm(_Form):
    """확인 양식: the facts checked, the policy concerned, the prior contacts."""

    facts: str = Field(min_length=1, max_length=4000, description="the facts as verified")
    policy_number: str | None = Field(default=None, max_length=32, description="the policy concerned")
    prior_contacts: str | None = Field(default=None, max_length=2000, description="earlier calls, visits, letters")


class RegistrationForm(_Form):
    """등록 양식: the complaint entered in the register with its class, topic and severity."""

    category: Category = Field(description="disclosure class as registered")
    topic: str | None = Field(default=None, max_length=64, pattern=r"^complaint\.[a-z_]+$", description="topic")
    severity: Severity = Field(description="low, normal or high")
    note: str | None = Field(default=None, max_length=2000)


class TransferForm(_Form):
    """이전 양식: handed to a responsible unit and department at any level, with the reason."""

    to_unit_id: int = Field(ge=1, le=MAX_ID, description="the responsible org unit")
    department: str = Field(min_length=1, max_length=64, description="the responsible department")
    reason: str = Field(min_length=1, max_length=1000, description="why it goes there")
    handler_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="the staff member who handles it")


class SubTask(_Form):
    what: str = Field(min_length=1, max_length=500)
    owner: str = Field(min_length=1, max_length=64, description="username of the owner")
    due: AwareDatetime | None = None


class CoordinationForm(_Form):
    """조정: a department's comment, whether it agrees, and the sub-tasks it takes on."""

    department: str = Field(min_length=1, max_length=64)
    comment: str = Field(min_length=1, max_length=4000)
    agreed: bool = Field(description="whether the department agrees with the proposed handling")
    subtasks: list[SubTask] = Field(default_factory=list, max_length=50)


class HandlingForm(_Form):
    """처리 양식: the decision, the remedy and the amount paid or refunded."""

    decision: str = Field(min_length=1, max_length=4000, description="what was decided")
    upheld: bool = Field(description="whether the complaint was found justified")
    remedy: str | None = Field(default=None, max_length=2000, description="apology, correction, payment, ...")
    amount: int | None = Field(default=None, ge=0, le=10**12, description="won paid or refunded")


class FeedbackForm(_Form):
    """피드백: the result told to the customer, and how satisfied they are."""

    method: str = Field(pattern=r"^(callback|message|letter|visit)$", description="how the customer was told")
    satisfaction: int = Field(ge=1, le=5, description="1 (very dissatisfied) .. 5 (very satisfied)")
    disputed: bool = Field(default=False, description="the customer disputes the outcome")
    comment: str | None = Field(default=None, max_length=2000)


class CloseForm(_Form):
    note: str | None = Field(default=None, max_length=2000)


class ReopenForm(_Form):
    """재민원: reopened because the customer disputes the outcome."""

    reason: str = Field(min_length=1, max_length=2000)


class ExtensionForm(_Form):
    """기한 연장 통지: the one extension, its reason and how the customer was told."""

    reason: str = Field(min_length=1, max_length=1000)
    notice_via: str = Field(pattern=r"^(call|sms|letter|email)$", description="how the customer was notified")


class ComplaintPublic(BaseModel):
    """A complaint as its readers see it; times in KST with their offset."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str = Field(description="C-YYYY-NNNNNN")
    customer_id: int
    channel: Channel
    category: Category
    topic: str | None
    severity: Severity
    summary: str
    state: State
    org_unit_id: int = Field(description="the responsible unit")
    department: str
    handler_id: int | None
    received_at: datetime
    acknowledge_by: datetime
    acknowledged_at: datetime | None
    resolve_by: datetime
    mediation_by: datetime | None
    step_due_at: datetime
    extensions: int
    extension_reason: str | None
    escalations: int
    repeats: int
    closed_at: datetime | None
    calls: list[str] = Field(default_factory=list, description="CallSids linked")
    overdue: bool = Field(default=False, description="open past a limit (resolve, next step, acknowledgement)")

    @field_serializer(
        "received_at", "acknowledge_by", "acknowledged_at", "resolve_by", "mediation_by", "step_due_at", "closed_at"
    )
    def _kst(self, value: datetime | None) -> str | None:
        return value.astimezone(KST).isoformat() if value is not None else None


class StepPublic(BaseModel):
    """One entry of the dossier."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    action: str
    from_state: str | None
    to_state: str
    username: str
    org_unit_id: int
    form: dict[str, Any]
    created_at: datetime

    @field_serializer("created_at")
    def _kst(self, value: datetime) -> str:
        return value.astimezone(KST).isoformat()
