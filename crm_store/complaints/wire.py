"""Wire models of complaints: what opening one takes, the form of each step, and what a reader is shown (times
in KST with their offset)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, ConfigDict, Field

from crm_store.calendar import KST
from crm_store.types import Answer, Input, RecordId, iso


def _in_kst(value: Any) -> Any:
    return iso(value.astimezone(KST)) if isinstance(value, datetime) else value


# A moment of a complaint on the wire: ISO 8601 in Korea time with its offset (+09:00), as the limits are reckoned.
KstMoment = Annotated[str, BeforeValidator(_in_kst), Field(json_schema_extra={"format": "date-time"})]


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


class _Form(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)  # type: ignore[assignment]


class AcknowledgementForm(_Form):
    """The customer told at once that the complaint is received, with the handler's name and number."""

    handler_name: str = Field(min_length=1, max_length=100, description="who handles it, as told to the customer")
    handler_phone: str = Field(min_length=3, max_length=32, description="the number the customer may call")
    via: str = Field(default="call", pattern=r"^(call|sms|letter|email|visit)$", description="how it was told")


class ComplaintCreate(_Form):
    """A complaint to open (the receipt step)."""

    customer_id: RecordId = Field(description="the complaining customer")
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
    note: str | None = Field(default=None, max_length=2000, description="a note to the register")


class TransferForm(_Form):
    """이전 양식: handed to a responsible unit and department at any level, with the reason."""

    to_unit_id: RecordId = Field(description="the responsible org unit")
    department: str = Field(min_length=1, max_length=64, description="the responsible department")
    reason: str = Field(min_length=1, max_length=1000, description="why it goes there")
    handler_id: RecordId | None = Field(default=None, description="the staff member who handles it")


class SubTask(_Form):
    """A piece of the handling a department takes on."""

    what: str = Field(min_length=1, max_length=500, description="what is to be done")
    owner: str = Field(min_length=1, max_length=64, description="username of the owner")
    due: AwareDatetime | None = Field(default=None, description="by when")


class CoordinationForm(_Form):
    """조정: a department's comment, whether it agrees, and the sub-tasks it takes on."""

    department: str = Field(min_length=1, max_length=64, description="the department commenting")
    comment: str = Field(min_length=1, max_length=4000, description="its comment")
    agreed: bool = Field(description="whether the department agrees with the proposed handling")
    subtasks: list[SubTask] = Field(default_factory=list, max_length=50, description="what it takes on")


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
    comment: str | None = Field(default=None, max_length=2000, description="what the customer said")


class CloseForm(_Form):
    """Closed once the customer has had the result and does not dispute it."""

    note: str | None = Field(default=None, max_length=2000, description="a closing note")


class ReopenForm(_Form):
    """재민원: reopened because the customer disputes the outcome."""

    reason: str = Field(min_length=1, max_length=2000, description="what the customer disputes")


class ExtensionForm(_Form):
    """기한 연장 통지: the one extension, its reason and how the customer was told."""

    reason: str = Field(min_length=1, max_length=1000, description="why the limit is extended")
    notice_via: str = Field(pattern=r"^(call|sms|letter|email)$", description="how the customer was notified")


class ComplaintPublic(Answer):
    """A complaint as its readers see it; times in KST with their offset."""

    model_config = ConfigDict(from_attributes=True)
    id: int = Field(description="the complaint's id")
    number: str = Field(description="C-YYYY-NNNNNN, told to the customer")
    customer_id: int = Field(description="the complaining customer")
    channel: Channel = Field(description="the door it came in by")
    category: Category = Field(description="disclosure class")
    topic: str | None = Field(description="a complaint topic of the taxonomy")
    severity: Severity = Field(description="low, normal or high")
    summary: str = Field(description="what the customer complains of")
    state: State = Field(description="the last step done, closed or reopened")
    org_unit_id: int = Field(description="the responsible unit")
    department: str = Field(description="the responsible department of that unit")
    handler_id: int | None = Field(description="the staff member handling it")
    received_at: KstMoment = Field(description="when it was received")
    acknowledge_by: KstMoment = Field(description="the customer is told by then (the day of receipt if a business day)")
    acknowledged_at: KstMoment | None = Field(description="when the customer was told; null until then")
    resolve_by: KstMoment = Field(description="the limit: the 14th business day after receipt (extended once at most)")
    mediation_by: KstMoment | None = Field(description="an FSS referral's mediation limit; null for the others")
    step_due_at: KstMoment = Field(description="the next step is due by then")
    extensions: int = Field(description="times the resolve limit was extended (at most once)")
    extension_reason: str | None = Field(description="why it was extended")
    escalations: int = Field(description="times it moved up the organisation for being overdue")
    repeats: int = Field(description="repeat complaints of the customer on the same topic linked to it")
    closed_at: KstMoment | None = Field(description="when it was closed; null while open")
    calls: list[str] = Field(default_factory=list, description="CallSids linked")
    overdue: bool = Field(default=False, description="open past a limit (resolve, next step, acknowledgement)")


class StepPublic(Answer):
    """One entry of the dossier (append-only): a step taken, an acknowledgement, extension, repeat or escalation."""

    model_config = ConfigDict(from_attributes=True)
    id: int = Field(description="the entry's id")
    action: str = Field(description="the step or event: receipt, verification, ..., repeat, escalation")
    from_state: str | None = Field(description="the state before it")
    to_state: str = Field(description="the state after it")
    username: str = Field(description="who took it")
    org_unit_id: int = Field(description="the responsible unit at the time")
    form: dict[str, Any] = Field(description="the step's form as filled in")
    created_at: KstMoment = Field(description="when")


class ComplaintOpened(ComplaintPublic):
    """What `POST /api/v1/complaints` answers: the complaint opened, or the open one a repeat was linked to."""

    repeat: bool = Field(
        description="true: the customer already had an open complaint on this topic; this is that one (answered 200, "
        "the call linked and a repeat entry in its dossier); false: a new complaint (answered 201)"
    )


class SubtaskPublic(Answer):
    """A sub-task of a complaint's coordination."""

    id: int = Field(description="the sub-task's id")
    department: str = Field(description="the department that took it on")
    what: str = Field(description="what is to be done")
    owner: str = Field(description="username of its owner")
    due_at: KstMoment | None = Field(description="by when")
    done_at: KstMoment | None = Field(description="when it was marked done; null while undone")
    done_by: str | None = Field(description="who marked it done")


class ComplaintDetail(ComplaintPublic):
    """One complaint with its dossier and what is due next."""

    next_step: str | None = Field(description="the step due next (by step_due_at); null when only closing is left")
    business_days_left: int = Field(description="Korean business days to the resolve limit; negative when past it")
    steps: list[StepPublic] = Field(description="the dossier, oldest first")
    subtasks: list[SubtaskPublic] = Field(default_factory=list, description="coordination's sub-tasks, oldest first")


class ComplaintPage(Answer):
    """Complaints of the viewer's part of the organisation, soonest resolve limit first."""

    items: list[ComplaintPublic] = Field(description="this page's complaints")
    next: str | None = Field(description="the next page's URL; null on the last page")
