"""Calls and their webhook events: stored before Twilio is answered, each event once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field as PField
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select, SelectOfScalar

from crm_store.calls.tables import Call, CallEvent, OutboxJob, PipelineState
from crm_store.customers.tables import Customer, CustomerPhone
from crm_store.errors import CallNotFound
from crm_store.types import Answer, Moment, storable, storable_fields, utcnow
from crm_store.upsert import insert_ignoring_conflict

TERMINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


@dataclass(frozen=True)
class Caller:
    """What the incoming-call answer needs to know about who is calling.

    `blacklisted` is true when any active blacklist entry matches the caller company-wide: the customer's own
    listing, another branch's listing of the same registration number, phone or plate, or the calling number itself
    (even for an unknown caller). `blacklist_reason` says which entry and on what, for the log and the agent.
    """

    customer_id: int | None
    segment: str | None
    blacklisted: bool
    blacklist_reason: str | None = None
    alerts: tuple[str, ...] = ()


def call_by_sid(call_sid: str) -> SelectOfScalar[Call]:
    """The call with this CallSid."""
    return select(Call).where(Call.call_sid == call_sid)


def caller_by_phone(e164: str) -> Select[int | None, str, bool]:
    """The customer owning this E.164 number: one unique-index probe and a primary-key join."""
    return (
        select(Customer.id, Customer.segment, Customer.blacklisted)
        .join(CustomerPhone, col(CustomerPhone.customer_id) == col(Customer.id))
        .where(CustomerPhone.e164 == e164)
    )


def calls_page(*, limit: int, before_id: int | None = None) -> SelectOfScalar[Call]:
    """Newest calls first, keyset-paged by id."""
    query = select(Call).order_by(col(Call.id).desc()).limit(limit)
    if before_id is not None:
        query = query.where(col(Call.id) < before_id)
    return query


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name  # type: ignore[union-attr]


async def store_event(
    session: AsyncSession,
    *,
    call_sid: str,
    kind: str,
    dedup_key: str,
    payload: dict[str, Any],
    sequence_number: int | None = None,
) -> bool:
    """Append a webhook to the call's events (its text made storable); False when this delivery was already
    stored."""
    statement = insert_ignoring_conflict(
        _dialect(session),
        CallEvent,
        {
            "call_sid": call_sid,
            "kind": kind,
            "dedup_key": dedup_key,
            "sequence_number": sequence_number,
            "payload": storable_fields(payload),
            "received_at": utcnow(),
        },
    )
    result = await session.exec(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def lock_call(session: AsyncSession, call_sid: str, **defaults: Any) -> Call:
    """The call row, created from `defaults` (text made storable) if this is the first we hear of it, locked for
    update."""
    defaults = storable_fields(defaults)
    now = utcnow()
    values = {
        "call_sid": call_sid,
        "created_at": now,
        "updated_at": now,
        "pipeline_state": PipelineState.RECEIVED.value,
        "status_sequence": -1,
        **defaults,
    }
    await session.exec(insert_ignoring_conflict(_dialect(session), Call, values))
    call = (await session.exec(call_by_sid(call_sid).with_for_update())).one()
    for name, value in defaults.items():
        if getattr(call, name) is None and value is not None:
            setattr(call, name, value)
    return call


async def find_caller(session: AsyncSession, e164: str | None) -> Caller:
    """Who is calling, from the caller's normalised number, with blacklist matches; an unknown caller is no error."""
    from crm_store.customers.blacklist import find_hits  # the blacklist module imports the models, not this module

    if e164 is None:
        return Caller(None, None, False)
    row = (await session.exec(caller_by_phone(e164))).first()
    customer_id, segment = (row[0], row[1]) if row is not None else (None, None)
    hits = await find_hits(session, customer_id=customer_id, caller=e164)
    reason = None
    if hits:
        hit = hits[0]
        reason = f"entry {hit.entry_id} of {hit.org_unit_name}, matched on {hit.matched_on}"
    alerts = (("blacklist",) if hits else ()) + (("key_customer",) if segment == "key" else ())
    return Caller(customer_id, segment, bool(hits) or bool(row is not None and row[2]), reason, alerts)


async def register_incoming_call(
    session: AsyncSession,
    *,
    call_sid: str,
    caller_e164: str | None,
    call_fields: dict[str, Any],
    dedup_key: str,
    payload: dict[str, Any],
    alert_job: OutboxJob | None = None,
) -> Caller:
    """Store the incoming-call webhook, open or complete the call record, link the caller; a blacklisted or key
    caller's call also promises `alert_job` (once per call), which reports it to the account manager."""
    await store_event(session, call_sid=call_sid, kind="voice", dedup_key=dedup_key, payload=payload)
    caller = await find_caller(session, caller_e164)
    if alert_job is not None and caller.alerts:
        await session.exec(insert_ignoring_conflict(_dialect(session), OutboxJob, alert_job.model_dump(exclude={"id"})))
    call = await lock_call(session, call_sid, started_at=utcnow(), **call_fields)
    if call.customer_id is None:
        call.customer_id = caller.customer_id
    if call.status is None:
        call.status = call_fields.get("status")
    call.updated_at = utcnow()
    session.add(call)
    return caller


async def apply_status(
    session: AsyncSession,
    *,
    call_sid: str,
    status: str,
    sequence_number: int | None,
    timestamp: datetime | None,
    call_duration: int | None,
    call_fields: dict[str, Any],
    dedup_key: str,
    payload: dict[str, Any],
) -> bool:
    """Store a status callback once; apply it only if it is newer than what the record shows."""
    new = await store_event(
        session,
        call_sid=call_sid,
        kind="status",
        dedup_key=dedup_key,
        payload=payload,
        sequence_number=sequence_number,
    )
    call = await lock_call(session, call_sid, **call_fields)
    if not new:
        return False
    sequence = sequence_number if sequence_number is not None else call.status_sequence + 1
    if status in TERMINAL_STATUSES:
        # The final outcome carries the figures; it never loses to a late "ringing".
        call.ended_at = call.ended_at or timestamp or utcnow()
        if call_duration is not None:
            call.duration = call_duration
    if status == "initiated" or (call.started_at is None and timestamp is not None):
        call.started_at = timestamp or call.started_at
    applied = sequence > call.status_sequence and not (
        call.status in TERMINAL_STATUSES and status not in TERMINAL_STATUSES
    )
    if applied:
        call.status = status
        call.status_sequence = sequence
    call.updated_at = utcnow()
    session.add(call)
    return applied


async def register_recording(
    session: AsyncSession,
    *,
    call_sid: str,
    recording_sid: str,
    recording_url: str,
    recording_status: str,
    duration: int | None,
    channels: int | None,
    call_fields: dict[str, Any],
    dedup_key: str,
    payload: dict[str, Any],
    refusal: str | None,
    follow_up: OutboxJob | None,
) -> bool:
    """Store a recording callback once; a completed, allowed recording promises its fetch job."""
    new = await store_event(session, call_sid=call_sid, kind="recording", dedup_key=dedup_key, payload=payload)
    call = await lock_call(session, call_sid, **call_fields)
    if not new or recording_status != "completed":
        return False
    call.recording_sid = recording_sid
    call.recording_url = storable(recording_url)
    call.recording_duration = duration
    call.recording_channels = channels
    call.updated_at = utcnow()
    if refusal is not None:
        call.pipeline_state = PipelineState.FAILED
        call.failure_reason = refusal
        session.add(call)
        return False
    call.pipeline_state = PipelineState.RECORDING_READY
    call.failure_reason = None
    session.add(call)
    if follow_up is not None:
        await session.exec(insert_ignoring_conflict(_dialect(session), OutboxJob, follow_up.model_dump(exclude={"id"})))
    return True


async def get_call(session: AsyncSession, call_sid: str) -> Call:
    """The call with this CallSid, or CallNotFound."""
    call = (await session.exec(call_by_sid(call_sid))).first()
    if call is None:
        raise CallNotFound(call_sid)
    return call


async def count_calls(session: AsyncSession) -> int:
    """How many calls are stored."""
    return int((await session.exec(select(func.count()).select_from(Call))).one())


# -- wire models -------------------------------------------------------------------------------------


class CallClassification(Answer):
    """How the classifier read the call."""

    scores: dict[str, Any] | None = PField(description="score per type")
    reasons: list[Any] | None = PField(description="why, in words")
    secondary_types: list[Any] | None = PField(description="other types the call also fits")
    model: str | None = PField(description="the classifier's model")


class CallRecording(Answer):
    """The call's recording."""

    sid: str = PField(description="Twilio's RecordingSid")
    duration: int | None = PField(description="seconds")
    channels: int | None = PField(description="1 mono, 2 dual-channel")


class CallProcessing(Answer):
    """Where the call is in the pipeline (recording, transcription, classification)."""

    state: str = PField(description="the pipeline state")
    failure_reason: str | None = PField(description="why processing failed, if it did")


class CallPublic(Answer):
    """A call as the API shows it: the redacted transcript only, never the raw one; graded entities masked."""

    call_sid: str = PField(pattern="^CA[0-9a-f]{32}$", description="Twilio's CallSid")
    status: str | None = PField(description="Twilio's last call status")
    from_: str | None = PField(alias="from", description="the caller's number (E.164)")
    to: str | None = PField(description="the number called")
    direction: str | None = PField(description="Twilio's direction")
    customer_id: int | None = PField(description="the caller, when recognised")
    type: str | None = PField(description="report, inquiry, complaint, notification or dispatch; null: unclassified")
    topic: str | None = PField(description="the topic within the type")
    urgency: str | None = PField(description="urgency as classified")
    sentiment: str | None = PField(description="the caller's sentiment as classified")
    entities: list[Any] = PField(description="what the call names (dates, plates, amounts, ...)")
    classification: CallClassification = PField(description="scores, reasons, secondary types, model")
    proposed_changes: list[Any] = PField(description="customer data changes the call proposes")
    transcript: str | None = PField(description="the redacted transcript")
    turns: list[Any] = PField(description="the redacted transcript by speaker turn")
    asr_model: str | None = PField(description="the speech recogniser's model")
    asr_sample_rate: int | None = PField(description="the audio's sample rate, Hz")
    recording: CallRecording | None = PField(description="the recording; null when there is none")
    processing: CallProcessing = PField(description="where the call is in the pipeline")
    started_at: Moment | None = PField(description="when the call started (UTC)")
    ended_at: Moment | None = PField(description="when it ended (UTC)")
    duration: int | None = PField(description="seconds")
    created_at: Moment = PField(description="when the record was created (UTC)")
    updated_at: Moment = PField(description="when it last changed (UTC)")
    desk_work: list[dict[str, Any]] = PField(
        default_factory=list,
        description="what the desk entered during the call, in order (kind, by, customer_id, detail, records, at); "
        "read with one call, empty in the list",
    )
    desk_queue: dict[str, Any] | None = PField(
        default=None,
        description="the call's time at the desk: `queue`, `state` (waiting, offered, connected, abandoned, left; "
        "null when it only left a message), `priority`, `wait_seconds`, `callback` (`reason`, `requested_at`, "
        "`done_at`; null if none); null when it never reached a desk queue; read with one call, null in the list",
    )
    masked_fields: list[str] = PField(default_factory=list, description="fields hidden from the viewer's clearance")


class CallPage(Answer):
    """GET /api/v1/calls."""

    items: list[CallPublic] = PField(description="newest first")
    next: str | None = PField(description="the next page's address; null on the last page")
