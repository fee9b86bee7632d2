"""What the agent enters during a live call, each entry linked to the call: the customer the caller was linked to,
an accident report (first notice of loss), a complaint's intake, a change notification, an inquiry answered, notes,
a transfer to another queue, and the wrap-up with its disposition code.

Only the agent holding the call (`DeskAgent.call_sid`, connected or in wrap-up) or a desk supervisor who sees the
call may write to it (`call_writer`). Each entry names the records it made at once (a claim notice, a dispatch
request, a complaint, a proposed customer change for the operator's review) and is shown where the call is read."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import AwareDatetime, ValidationInfo, field_validator
from pydantic import Field as PField
from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.calls.tables import Call
from crm_store.customers.blacklist import PLATE_EXPECTED, normalise_plate
from crm_store.customers.phones import normalise_phone
from crm_store.desk.agent_tables import AgentState, DeskAgent
from crm_store.dispatch.wire import InjuredPerson, Kind, RescueKind, VehicleInvolved, rescue_kind_of_kind
from crm_store.errors import CallNotFound
from crm_store.org.scope import Viewer
from crm_store.org.tables import Role, Staff
from crm_store.review.queue import call_in_scope
from crm_store.types import SOME_TEXT, Answer, Input, JsonDocument, Moment, UtcDateTime, stripped, utcnow
from crm_store.validation import NotAllowed

# Who may write to a call they do not hold: the desk's supervisors (a center manager, an administrator) in scope.
DESK_SUPERVISORS = frozenset({Role.CENTER_MANAGER, Role.ADMIN})
# Who may be given the desk's forms at all (the route table's roles).
DESK_WRITERS = frozenset({Role.AGENT, Role.CENTER_MANAGER, Role.ADMIN})
# States in which the agent holds the call they were connected to.
HOLDING = (AgentState.ON_CALL.value, AgentState.WRAP_UP.value)
KINDS = ("link", "accident_report", "complaint", "change", "inquiry", "note", "transfer", "wrap_up")
# The wrap-up's disposition codes (their Korean names: gateway.labels.DISPOSITIONS).
Disposition = Literal[
    "resolved",
    "report_taken",
    "complaint_taken",
    "change_taken",
    "callback",
    "transferred",
    "no_answer_needed",
    "wrong_number",
    "other",
]
DISPOSITIONS: tuple[str, ...] = get_args(Disposition)
PHONE_EXPECTED = "not a phone number (010-1234-5678, 02-123-4567, +82 10 ...)"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ChangeField = Literal[
    "address",
    "phone",
    "email",
    "occupation",
    "beneficiary",
    "policyholder",
    "vehicle_plate",
    "vehicle_model",
    "vehicle_status",
    "policy_status",
]
DESK_EVIDENCE = "상담원 통화 중 변경 신고 접수"


class CallWork(SQLModel, table=True):
    """One thing the agent entered during a call, in the order entered."""

    __tablename__ = "desk_call_work"
    __table_args__ = (
        # Read with the call (GET /api/v1/calls/{sid}, the review page): one range of the call's entries.
        Index("ix_desk_call_work_call", "call_sid", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=34)
    kind: str = Field(max_length=16)
    staff_id: int = Field(foreign_key="staff.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    # What was entered (the form, validated).
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JsonDocument)
    # The records it made: claim_id and claim_number, dispatch_id, complaint_id and complaint_number, ...
    records: dict[str, Any] = Field(default_factory=dict, sa_type=JsonDocument)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


# Every form of a call looks up the agent holding it: an index of the few agents holding a call (the table is
# DeskAgent's, declared here as customer search declares its own on the customer table).
HOLDER_INDEX = Index(
    "ix_desk_agent_call",
    col(DeskAgent.call_sid),
    postgresql_where=text("call_sid IS NOT NULL"),
    sqlite_where=text("call_sid IS NOT NULL"),
)


# -- the forms -------------------------------------------------------------------------------------------------


def told(value: str) -> str:
    """Text as told, without its surrounding white space; refused when there is nothing else."""
    return stripped(value, "something besides white space is required")


class CallerLink(Input):
    """Link the caller to the customer chosen in the search, for this call."""

    customer_id: int = PField(ge=1, le=2_147_483_647, description="the customer the caller is")


class DispatchWanted(Input):
    """A dispatch request opened with the accident report: who to send, and where the scene is on the map."""

    kind: Kind = PField(description="survey: a surveyor to the scene; tow or rescue: a partner vendor")
    rescue_kind: RescueKind | None = PField(
        default=None, validate_default=True, description="for rescue: battery, tyre, fuel, lockout, other"
    )
    lat: float = PField(ge=33.0, le=39.0, description="latitude of the scene, within South Korea")
    lon: float = PField(ge=124.0, le=132.0, description="longitude of the scene, within South Korea")

    _rescue_needs_its_kind = field_validator("rescue_kind")(rescue_kind_of_kind)


class AccidentReport(Input):
    """사고 접수 (first notice of loss): when, where, what, who was hurt, which vehicles, the policy."""

    occurred_at: AwareDatetime = PField(description="when it happened (with its offset, e.g. +09:00)")
    place: str = PField(**SOME_TEXT, min_length=1, max_length=300, description="where, as the caller told it")
    what_happened: str = PField(**SOME_TEXT, min_length=1, max_length=2000, description="what happened")
    injured: list[InjuredPerson] = PField(default_factory=list, max_length=50, description="people hurt")
    vehicles: list[VehicleInvolved] = PField(default_factory=list, max_length=20, description="vehicles involved")
    policy_id: int = PField(ge=1, le=2_147_483_647, description="the policy of the linked customer it falls under")
    dispatch: DispatchWanted | None = PField(default=None, description="open a dispatch request too")

    _told = field_validator("place", "what_happened")(told)


class ComplaintIntake(Input):
    """민원 접수 during the call: opens a complaint of the linked customer (a repeat links to the open one)."""

    category: Literal["sales", "maintenance", "claims_payment", "other"] = PField(
        description="disclosure class: sales, maintenance, claims_payment, other"
    )
    summary: str = PField(**SOME_TEXT, min_length=1, max_length=2000, description="what the customer complains of")
    topic: str | None = PField(
        default=None, max_length=64, pattern=r"^complaint\.[a-z_]+$", description="a complaint topic of the taxonomy"
    )
    severity: Literal["low", "normal", "high"] = PField(default="normal", description="low, normal or high")

    _told = field_validator("summary")(told)


class ChangeNotice(Input):
    """변경 신고: a change of the customer's data, proposed for the operator's review."""

    field: ChangeField = PField(description="what changes (address, phone, email, vehicle_plate, ...)")
    value: str = PField(
        **SOME_TEXT,
        min_length=1,
        max_length=300,
        description="the new value as told; a phone number, plate or e-mail address checked, kept in normal form",
    )
    note: str = PField(default="", max_length=1000, description="anything the operator should know")

    _told = field_validator("value")(told)

    @field_validator("value")
    @classmethod
    def _in_its_normal_form(cls, value: str, info: ValidationInfo) -> str:
        """A new phone number, plate or e-mail address is checked and kept as the customer record keeps it."""
        field = info.data.get("field")
        if field == "phone":
            phone = normalise_phone(value)
            if phone is None:
                raise ValueError(PHONE_EXPECTED)
            return phone
        if field == "vehicle_plate":
            plate = normalise_plate(value)
            if plate is None:
                raise ValueError(PLATE_EXPECTED)
            return plate
        if field == "email" and not _EMAIL.fullmatch(value):
            raise ValueError("not an e-mail address such as kim@example.com")
        return value


class InquiryAnswered(Input):
    """보험 상담: the question and the answer given."""

    question: str = PField(**SOME_TEXT, min_length=1, max_length=2000, description="what the caller asked")
    answer: str = PField(**SOME_TEXT, min_length=1, max_length=2000, description="what the agent answered")
    topic: str | None = PField(
        default=None, max_length=64, pattern=r"^inquiry\.[a-z_]+$", description="an inquiry topic of the taxonomy"
    )

    _told = field_validator("question", "answer")(told)


class CallNote(Input):
    """A note on the call."""

    text: str = PField(**SOME_TEXT, min_length=1, max_length=2000, description="the note")

    _told = field_validator("text")(told)


class CallTransfer(Input):
    """Transfer the caller to another queue (or level) with a note for whoever takes the call next."""

    queue: str = PField(min_length=1, max_length=32, description="the name of the desk queue to transfer to")
    note: str = PField(**SOME_TEXT, min_length=1, max_length=1000, description="what the next agent should know")
    unit: str | None = PField(
        default=None,
        min_length=1,
        max_length=32,
        description="the code of the organisation unit (a level: the provincial center, the head office) whose "
        "agents, or those of the units below it, should take the call; none: any agent of the queue",
    )

    _told = field_validator("note")(told)


class WrapUp(Input):
    """후처리: the disposition code, and a note; ends the after-call work (the agent is available again)."""

    disposition: Disposition = PField(description="resolved, report_taken, complaint_taken, change_taken, ...")
    note: str = PField(default="", max_length=2000, description="a last note")


class CallWorkPublic(Answer):
    """One entry of the desk's work on a call."""

    id: int = PField(description="the entry's id")
    kind: str = PField(description="link, accident_report, complaint, change, inquiry, note, transfer or wrap_up")
    by: str = PField(description="the staff member who entered it")
    customer_id: int | None = PField(description="the customer it concerns")
    detail: dict[str, Any] = PField(description="what was entered")
    records: dict[str, Any] = PField(description="the records it made (claim, dispatch, complaint, ...)")
    at: Moment = PField(description="when (UTC)")


class CallWorkAnswer(Answer):
    """The entry just made, and the desk state of the agent holding the call after it."""

    call_sid: str = PField(pattern="^CA[0-9a-f]{32}$", description="the call")
    entry: CallWorkPublic = PField(description="the entry")
    agent_state: str | None = PField(description="the holding agent's state after it (wrap-up: available)")


# -- who writes ------------------------------------------------------------------------------------------------


async def call_writer(session: AsyncSession, viewer: Viewer, call_sid: str) -> tuple[Call, DeskAgent | None]:
    """The call, and the desk agent holding it (None when nobody does), if the viewer may write to it: the agent
    holding it, or a desk supervisor who sees it. NotAllowed for anyone else who sees the call; CallNotFound when
    there is no such call, or the viewer does not see it."""
    if viewer.role not in DESK_WRITERS:
        raise NotAllowed("only agents and desk supervisors write to a live call")
    call = (await session.exec(select(Call).where(col(Call.call_sid) == call_sid))).first()
    if call is None:
        raise CallNotFound(f"no call {call_sid}")
    holder = (
        await session.exec(
            select(DeskAgent)
            .where(col(DeskAgent.call_sid) == call_sid, col(DeskAgent.state).in_(HOLDING))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()
    if holder is not None and holder.staff_id == viewer.staff_id:
        return call, holder
    visible = (await session.exec(select(col(Call.id)).where(col(Call.id) == call.id, call_in_scope(viewer)))).first()
    if visible is None:
        raise CallNotFound(f"no call {call_sid}")
    if viewer.role not in DESK_SUPERVISORS:
        raise NotAllowed("only the agent on this call or a supervisor may write to it")
    return call, holder


async def add_entry(
    session: AsyncSession,
    viewer: Viewer,
    call: Call,
    kind: str,
    *,
    detail: dict[str, Any],
    records: dict[str, Any] | None = None,
    customer_id: int | None = None,
    now: datetime,
) -> CallWork:
    """Store one entry on the call."""
    assert kind in KINDS
    entry = CallWork(
        call_sid=call.call_sid,
        kind=kind,
        staff_id=viewer.staff_id,
        customer_id=customer_id if customer_id is not None else call.customer_id,
        detail=detail,
        records=records or {},
        created_at=now,
    )
    session.add(entry)
    await session.flush()
    return entry


def propose_change(call: Call, change: ChangeNotice, viewer: Viewer, *, now: datetime) -> dict[str, Any]:
    """Add the change to the call's proposed changes, as the post-call path proposes them (the operator applies or
    rejects it on the review page); marked as the desk's, so that classifying the call keeps it."""
    proposal = {
        "field": change.field,
        "value": change.value,
        "evidence": f"{DESK_EVIDENCE}: {change.note}" if change.note else DESK_EVIDENCE,
        "source": "desk",
        "by": viewer.username,
        "at": now.isoformat(),
    }
    classification = dict(call.classification or {})
    changes = list(classification.get("proposed_changes") or [])
    changes.append(proposal)
    classification["proposed_changes"] = changes
    call.classification = classification
    return {"proposed_change_index": len(changes) - 1}


async def call_entries(session: AsyncSession, call_sid: str) -> list[CallWorkPublic]:
    """Every entry of a call in the order entered, with who entered it."""
    rows = (
        await session.exec(
            select(CallWork, col(Staff.username))
            .join(Staff, col(Staff.id) == col(CallWork.staff_id))
            .where(col(CallWork.call_sid) == call_sid)
            .order_by(col(CallWork.id))
        )
    ).all()
    return [entry_public(entry, username) for entry, username in rows]


def entry_public(entry: CallWork, username: str) -> CallWorkPublic:
    """An entry as the API shows it."""
    return CallWorkPublic.model_validate(
        {
            "id": entry.id,
            "kind": entry.kind,
            "by": username,
            "customer_id": entry.customer_id,
            "detail": entry.detail,
            "records": entry.records,
            "at": entry.created_at,
        }
    )
