"""Console pages: the operator's queue, an item's review page, and the review actions (POST, CSRF-checked).
A refused or invalid action shows the page it was made from again, with the reason."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from aiohttp import web
from pydantic import ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_read
from crm_store.calls.tables import Recording
from crm_store.customers.picture import customer_picture
from crm_store.db import async_session_scope, run_async
from crm_store.desk.call_work import call_entries
from crm_store.errors import CustomerNotFound, NotFound
from crm_store.org.clearance import mask_fields
from crm_store.org.scope import SUPERVISORS, Viewer
from crm_store.org.tables import OrgUnit
from crm_store.reports import notices as report_notices
from crm_store.review import queue as review
from crm_store.review.tables import ReviewState
from crm_store.types import utcnow
from crm_store.validation import InvalidInput, NotAllowed, business_today
from gateway import labels
from gateway.api import call_public
from gateway.auth_views import landing_page
from gateway.console.desk import work_lines
from gateway.console.reasons import korean_reasons
from gateway.console.render import PageError, page_error, render
from gateway.inputs import path_id, request_viewer
from gateway.keys import RULES, SESSIONS
from gateway.middlewares import store_problem
from workers.understanding.redaction import redact_entity

# A failed review action: the store refused it or its input (InvalidInput covers Conflict).
REFUSED = (InvalidInput, NotAllowed, ValidationError)
ENTITY_CODES = {name: code for code, name in labels.ENTITY_KINDS.items()}


def _item_id(request: web.Request) -> int:
    return path_id(request, "item_id")


async def home(request: web.Request) -> web.StreamResponse:
    """GET /console and /console/: where the viewer lands (an agent at the desk)."""
    raise web.HTTPSeeOther(landing_page(request_viewer(request).role.value))


async def _queue_page(request: web.Request, *, error: PageError | None = None) -> web.Response:
    viewer = request_viewer(request)
    type_ = request.query.get("type") or None
    urgency = request.query.get("urgency") or None
    state = request.query.get("state") or None
    if (
        type_ not in (None, *labels.CALL_TYPES)
        or urgency not in (None, *labels.URGENCY)
        or state not in (None, *labels.REVIEW_STATES)
    ):
        raise web.HTTPBadRequest(text=labels.UNKNOWN_FILTER)
    async with request.config_dict[SESSIONS]() as session:
        unit = await session.get(OrgUnit, viewer.org_unit_id)
        rows = await review.review_queue(session, viewer, type_=type_, urgency=urgency, state=state)
        notices = []
        if viewer.role in SUPERVISORS:
            notices = await run_async(session, report_notices.my_notices, viewer, unread_only=True, limit=3)
    context = {
        "report_notices": notices,
        "unit_name": unit.name if unit else "",
        "type": type_,
        "urgency": urgency,
        "state": state,
        "rows": rows,
        "open": ReviewState.OPEN,
    }
    return render(request, "queue.html", context, error=error)


async def queue(request: web.Request) -> web.Response:
    """GET /console/queue?type=&urgency=&state=: the viewer's own unit's queue."""
    return await _queue_page(request)


async def take(request: web.Request) -> web.StreamResponse:
    """POST /console/items/{id}/take; refused (taken by someone else meanwhile), the queue again with why."""
    item_id = _item_id(request)
    try:
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            await review.take_item(session, request_viewer(request), item_id, now=utcnow())
    except REFUSED as err:
        return await _queue_page(request, error=_refusal(err))
    raise web.HTTPSeeOther(f"/console/items/{item_id}")


def _refusal(err: Exception) -> PageError:
    problem = store_problem(err)
    assert problem is not None
    return page_error(problem)


def _entities_text(entities: list[dict[str, Any]]) -> str:
    """Entities as the operator edits them: one per line, "종류: 값" with the kind's Korean name."""
    return "\n".join(
        f"{labels.label(labels.ENTITY_KINDS, x.get('kind'))}: {x.get('value', x.get('text'))}" for x in entities
    )


def _entities(text: str) -> list[dict[str, Any]]:
    """The edited entities back: a kind by its Korean name or its code, then the value."""
    found = []
    for line in text.splitlines():
        kind, sep, value = line.partition(":")
        if sep and kind.strip() and value.strip():
            code = ENTITY_CODES.get(kind.strip(), kind.strip())
            found.append({"kind": code[:32], "value": value.strip()[:200]})
    return found


def _topic_choices(current: str | None) -> dict[str, dict[str, str]]:
    """The taxonomy's topics by type (Korean names), with a stored topic it lacks kept as a choice."""
    groups: dict[str, dict[str, str]] = {name: {} for name in labels.CALL_TYPES.values()}
    for code, name in labels.TOPICS.items():
        groups[labels.CALL_TYPES[code.split(".", 1)[0]]][code] = name
    if current and current not in labels.TOPICS:
        group = labels.CALL_TYPES.get(current.split(".", 1)[0], labels.UNCLASSIFIED)
        groups.setdefault(group, {})[current] = labels.topic_label(current)
    return groups


async def _item_page(request: web.Request, item_id: int, *, error: PageError | None = None) -> web.Response:
    viewer = request_viewer(request)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        item = await review.visible_item(session, viewer, item_id)
        call = await review.visible_call(session, viewer, item.call_sid)
        picture = None
        if item.customer_id is not None:
            try:
                picture = await customer_picture(
                    session,
                    viewer,
                    rules=request.config_dict[RULES],
                    as_of=business_today(),
                    customer_id=item.customer_id,
                    call_sid=item.call_sid,
                )
            except CustomerNotFound:
                picture = None
        events = await review.item_events(session, item_id)
        has_audio = (
            await session.exec(select(col(Recording.id)).where(col(Recording.call_sid) == call.call_sid))
        ).first() is not None
        desk_work = [entry.model_dump(mode="json") for entry in await call_entries(session, call.call_sid)]
    doc = mask_fields(
        viewer, "call", {**call_public(call), "transcript_raw": call.transcript_raw, "desk_work": desk_work}
    )
    working = item.state == ReviewState.TAKEN and item.taken_by_id == viewer.staff_id
    decided = {
        int(ev.detail["index"]): labels.REVIEW_ACTIONS[ev.action]
        for ev in events
        if ev.action in ("change_applied", "change_rejected") and ev.detail
    }
    changes = [
        {
            "index": index,
            "field": str(change.get("field")),
            "current": review.current_value(str(change.get("field")), picture) if picture else None,
            "value": change.get("value"),
            "evidence": change.get("evidence"),
            "decided": decided.get(index),
        }
        for index, change in enumerate(review.proposed_changes(call))
    ]
    # Entities above the viewer's clearance are shown masked, outside the form: saving never writes them back.
    editable, hidden = review.entities_for_viewer(viewer, list(call.entities or []))
    context = {
        "item": item,
        "call": doc,
        "picture": picture,
        "has_audio": has_audio,
        "working": working,
        "taken": ReviewState.TAKEN,
        "open": ReviewState.OPEN,
        "changes": changes,
        "entities_text": _entities_text(editable),
        "hidden_entities": hidden,
        "topic_choices": _topic_choices(doc["topic"]),
        "reasons": korean_reasons(doc["classification"].get("reasons")),
        "events": events,
        "desk_work": [{**entry, "lines": work_lines(entry)} for entry in doc["desk_work"]],
    }
    return render(request, "item.html", context, error=error)


async def item_page(request: web.Request) -> web.Response:
    """GET /console/items/{id}: call, recording, transcript with reasons, classification, changes, history."""
    return await _item_page(request, _item_id(request))


class ReviewAction(Protocol):
    """A review action of the store on one item, its inputs from the form already bound."""

    def __call__(
        self, session: AsyncSession, viewer: Viewer, item_id: int, /, *, now: datetime
    ) -> Awaitable[object]: ...


async def _act(request: web.Request, action: ReviewAction, *, then: str | None = None) -> web.StreamResponse:
    """Run a review action on the item in one transaction; on success go to `then` (default the item's page),
    refused or invalid show the item page again with why."""
    item_id = _item_id(request)
    try:
        async with async_session_scope(request.config_dict[SESSIONS]) as session:
            await action(session, request_viewer(request), item_id, now=utcnow())
    except REFUSED as err:
        return await _item_page(request, item_id, error=_refusal(err))
    raise web.HTTPSeeOther(then or f"/console/items/{item_id}")


async def recording(request: web.Request) -> web.StreamResponse:
    """GET /console/items/{id}/recording: the stored audio, for a viewer who may see the item (audited).

    Byte ranges are served (206), so that the browser's player can seek; a listening is audited once, at its
    first byte, not at every seek."""
    viewer, item_id = request_viewer(request), _item_id(request)
    try:
        wanted = request.http_range
    except ValueError:
        wanted = slice(None, None)  # a malformed Range header: the whole file, as RFC 9110 allows
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        item = await review.visible_item(session, viewer, item_id)
        stored = (
            await session.exec(
                select(Recording).where(col(Recording.call_sid) == item.call_sid).order_by(col(Recording.id).desc())
            )
        ).first()
        if stored is None:
            raise NotFound("no recording")
        size = len(stored.audio)
        start, stop, _ = wanted.indices(size)
        partial = "Range" in request.headers and wanted != slice(None, None)
        if partial and (start >= size or stop <= start):
            raise web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
        if item.customer_id is not None and start == 0:
            record_read(
                session,
                viewer,
                customer_id=item.customer_id,
                fields=["recording"],
                call_sid=item.call_sid,
                purpose="review",
            )
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Accept-Ranges": "bytes"}
    if not partial:
        return web.Response(body=stored.audio, content_type=stored.content_type, headers=headers)
    headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return web.Response(status=206, body=stored.audio[start:stop], content_type=stored.content_type, headers=headers)


async def classification(request: web.Request) -> web.StreamResponse:
    """POST /console/items/{id}/classification: confirm or correct type, topic, entities."""
    form = await request.post()
    correct = partial(
        review.correct_classification,
        type_=str(form.get("type", "")),
        topic=str(form.get("topic", "")).strip(),
        entities=_entities(str(form.get("entities", ""))),
        redact=redact_entity,
    )
    return await _act(request, correct)


async def change(request: web.Request) -> web.StreamResponse:
    """POST /console/items/{id}/changes/{index}: apply (with the supplemented value) or reject one change."""
    form = await request.post()
    decide = partial(
        review.decide_change,
        index=int(request.match_info["index"]),
        apply=form.get("decision") == "apply",
        value=str(form.get("value", "")),
    )
    return await _act(request, decide)


async def forward(request: web.Request) -> web.StreamResponse:
    """POST /console/items/{id}/forward: to the upper-level center with a note."""
    form = await request.post()
    return await _act(request, partial(review.forward_item, note=str(form.get("note", ""))), then="/console/queue")


async def close(request: web.Request) -> web.StreamResponse:
    """POST /console/items/{id}/close"""
    form = await request.post()
    return await _act(request, partial(review.close_item, note=str(form.get("note", ""))), then="/console/queue")


def setup_routes(app: web.Application) -> None:
    """Register on the console sub-application (mounted at /console)."""
    r = app.router
    r.add_get("", home)
    r.add_get("/", home)
    r.add_get("/queue", queue)
    r.add_get(r"/items/{item_id:\d{1,10}}", item_page)
    r.add_get(r"/items/{item_id:\d{1,10}}/recording", recording)
    r.add_post(r"/items/{item_id:\d{1,10}}/take", take)
    r.add_post(r"/items/{item_id:\d{1,10}}/classification", classification)
    r.add_post(r"/items/{item_id:\d{1,10}}/changes/{index:\d{1,9}}", change)
    r.add_post(r"/items/{item_id:\d{1,10}}/forward", forward)
    r.add_post(r"/items/{item_id:\d{1,10}}/close", close)
