"""The JSON API under /api/v1/: thin handlers over the store."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from crm_store.clearance import mask_fields
from crm_store.models import Call
from crm_store.review import visible_call, visible_calls_page
from crm_store.scope import Viewer
from gateway.keys import SESSIONS
from gateway.middlewares import STAFF, json_http_error
from gateway.openapi import openapi_document

MAX_PAGE = 200


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def call_public(call: Call) -> dict[str, Any]:
    """A call as the API shows it: the redacted transcript only, never the raw one."""
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
        "started_at": _iso(call.started_at),
        "ended_at": _iso(call.ended_at),
        "duration": call.duration,
        "created_at": _iso(call.created_at),
        "updated_at": _iso(call.updated_at),
    }


def _int_param(request: web.Request, name: str, default: int | None, *, low: int, high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise json_http_error(web.HTTPBadRequest, f"{name} must be an integer") from err
    if not low <= value <= high:
        raise json_http_error(web.HTTPBadRequest, f"{name} must be between {low} and {high}")
    return value


def call_for_viewer(viewer: Viewer, call: Call) -> dict[str, Any]:
    """A call as this viewer may see it, graded fields masked (the raw transcript never leaves by the API)."""
    return mask_fields(viewer, "call", call_public(call))


async def get_call_view(request: web.Request) -> web.Response:
    """GET /api/v1/calls/{call_sid}: only calls in the viewer's scope."""
    viewer = Viewer.of(request[STAFF], remote_addr=request.remote)
    async with request.app[SESSIONS]() as session:
        call = await visible_call(session, viewer, request.match_info["call_sid"])
    return web.json_response(call_for_viewer(viewer, call))


async def list_calls(request: web.Request) -> web.Response:
    """GET /api/v1/calls?limit=&before= : newest first, keyset-paged."""
    limit = _int_param(request, "limit", 50, low=1, high=MAX_PAGE) or 50
    before = _int_param(request, "before", None, low=1, high=2**62)
    viewer = Viewer.of(request[STAFF], remote_addr=request.remote)
    async with request.app[SESSIONS]() as session:
        calls = list((await session.exec(visible_calls_page(viewer, limit=limit + 1, before_id=before))).all())
    page, more = calls[:limit], len(calls) > limit
    body: dict[str, Any] = {"items": [call_for_viewer(viewer, c) for c in page], "next": None}
    if more and page:
        body["next"] = f"/api/v1/calls?limit={limit}&before={page[-1].id}"
    return web.json_response(body)


async def openapi(request: web.Request) -> web.Response:
    """GET /api/v1/openapi.json"""
    return web.json_response(openapi_document())


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/openapi.json", openapi)
    app.router.add_get("/api/v1/calls", list_calls)
    app.router.add_get("/api/v1/calls/{call_sid}", get_call_view)
