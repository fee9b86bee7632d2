"""The calls of the JSON API under /api/v1/: thin handlers over the store, answering models."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_read
from crm_store.calls.store import CallPage, CallPublic
from crm_store.calls.tables import Call
from crm_store.db import async_session_scope
from crm_store.desk.call_work import CallWorkPublic, call_entries
from crm_store.desk.waiting import call_wait
from crm_store.org.clearance import mask_fields
from crm_store.org.scope import Viewer
from crm_store.review.queue import visible_call, visible_calls_page
from crm_store.types import iso
from gateway.inputs import MAX_PAGE, paging, request_viewer
from gateway.keys import SESSIONS


def call_public(call: Call) -> dict[str, Any]:
    """A call as the API shows it, before masking: the redacted transcript only, never the raw one."""
    detail = call.transcript_detail or {}
    classification = call.classification or {}
    return {
        "call_sid": call.call_sid,
        "status": call.status,
        "from": call.from_number,
        "to": call.to_number,
        "direction": call.direction,
        "customer_id": call.customer_id,
        "type": call.type,
        "topic": call.topic,
        "urgency": call.urgency,
        "sentiment": classification.get("sentiment"),
        "entities": call.entities or [],
        "classification": {
            "scores": classification.get("scores"),
            "reasons": classification.get("reasons"),
            "secondary_types": classification.get("secondary_types"),
            "model": classification.get("model"),
        },
        "proposed_changes": classification.get("proposed_changes") or [],
        "transcript": call.transcript,
        "turns": detail.get("turns", []),
        "asr_model": call.asr_model,
        "asr_sample_rate": call.asr_sample_rate,
        "recording": {
            "sid": call.recording_sid,
            "duration": call.recording_duration,
            "channels": call.recording_channels,
        }
        if call.recording_sid
        else None,
        "processing": {"state": call.pipeline_state, "failure_reason": call.failure_reason},
        "started_at": iso(call.started_at),
        "ended_at": iso(call.ended_at),
        "duration": call.duration,
        "created_at": iso(call.created_at),
        "updated_at": iso(call.updated_at),
    }


# What a call record tells about its customer: each read of a linked call is in the customer's audit trail.
CALL_RECORD_FIELDS = ("call.entities", "call.from", "call.proposed_changes", "call.transcript", "call.turns")
CALL_RECORD_PURPOSE = "call-record"


def audit_call_reads(session: AsyncSession, viewer: Viewer, calls: list[Call]) -> None:
    """Append one read per call linked to a customer (unknown callers' calls name no customer)."""
    for call in calls:
        if call.customer_id is not None:
            record_read(
                session,
                viewer,
                customer_id=call.customer_id,
                fields=CALL_RECORD_FIELDS,
                call_sid=call.call_sid,
                purpose=CALL_RECORD_PURPOSE,
            )


def call_for_viewer(
    viewer: Viewer,
    call: Call,
    desk_work: list[CallWorkPublic] | None = None,
    desk_queue: dict[str, Any] | None = None,
) -> CallPublic:
    """A call as this viewer may see it (with its time at the desk and what the desk entered during it), graded
    fields masked (the raw transcript never leaves by the API)."""
    body = call_public(call)
    if desk_work:
        body["desk_work"] = [entry.model_dump(mode="json") for entry in desk_work]
    body["desk_queue"] = desk_queue
    return CallPublic.model_validate(mask_fields(viewer, "call", body))


async def get_call_view(request: web.Request) -> CallPublic:
    """GET /api/v1/calls/{call_sid}: only calls in the viewer's scope."""
    viewer = request_viewer(request)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        call = await visible_call(session, viewer, request.match_info["call_sid"])
        audit_call_reads(session, viewer, [call])
        entries = await call_entries(session, call.call_sid)
        return call_for_viewer(viewer, call, entries, await call_wait(session, call.call_sid))


async def list_calls(request: web.Request) -> CallPage:
    """GET /api/v1/calls?limit=&before= : newest first, keyset-paged."""
    page_of = paging(request, default=50, high=MAX_PAGE)
    limit, before = page_of.limit, page_of.before
    viewer = request_viewer(request)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        calls = list((await session.exec(visible_calls_page(viewer, limit=limit + 1, before_id=before))).all())
        page, more = calls[:limit], len(calls) > limit
        audit_call_reads(session, viewer, page)
        items = [call_for_viewer(viewer, c) for c in page]
    following = f"/api/v1/calls?limit={limit}&before={page[-1].id}" if more and page else None
    return CallPage(items=items, next=following)
