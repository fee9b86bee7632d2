"""Console pages: the operator's queue, an item's review page, and the review actions (POST, CSRF-checked)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlmodel import col, select

from crm_store import review
from crm_store.audit import record_read
from crm_store.clearance import mask_fields
from crm_store.customers import customer_picture
from crm_store.db import async_session_scope
from crm_store.errors import CustomerNotFound, NotFound
from crm_store.models import OrgUnit, Recording, ReviewState
from crm_store.scope import Viewer
from crm_store.types import utcnow
from crm_store.validation import business_today
from gateway.api import call_public
from gateway.console.templates import (
    ACTION_LABELS,
    STATE_LABELS,
    TYPE_LABELS,
    URGENCY_LABELS,
    csrf_field,
    e,
    options,
    page,
)
from gateway.customers_api import RULES
from gateway.keys import SESSIONS
from gateway.middlewares import CSRF_TOKEN, STAFF
from workers.understanding.redaction import redact_entity


def _viewer(request: web.Request) -> Viewer:
    return Viewer.of(request[STAFF], remote_addr=request.remote)


def _page(request: web.Request, title: str, body: str, status: int = 200) -> web.Response:
    return page(title, body, user=request[STAFF], csrf=request[CSRF_TOKEN], status=status)


def _item_id(request: web.Request) -> int:
    return int(request.match_info["item_id"])


async def home(request: web.Request) -> web.StreamResponse:
    """GET /console/"""
    raise web.HTTPSeeOther("/console/queue")


async def queue(request: web.Request) -> web.Response:
    """GET /console/queue?type=&urgency=&state=: the viewer's own unit's queue."""
    viewer = _viewer(request)
    type_ = request.query.get("type") or None
    urgency = request.query.get("urgency") or None
    state = request.query.get("state") or None
    if (
        type_ not in (None, *TYPE_LABELS)
        or urgency not in (None, *URGENCY_LABELS)
        or state not in (None, *STATE_LABELS)
    ):
        raise web.HTTPBadRequest(text="알 수 없는 필터")
    async with request.app[SESSIONS]() as session:
        unit = await session.get(OrgUnit, viewer.org_unit_id)
        rows = await review.review_queue(session, viewer, type_=type_, urgency=urgency, state=state)
    filters = (
        '<form method="get" class="box" id="filters">'
        f'<label>유형 <select name="type">{options(TYPE_LABELS, type_)}</select></label>'
        f'<label>긴급도 <select name="urgency">{options(URGENCY_LABELS, urgency)}</select></label>'
        f'<label>상태 <select name="state">{options(STATE_LABELS, state)}</select></label>'
        '<button type="submit" id="apply-filters">조회</button></form>'
    )
    lines = []
    for item, call in rows:
        urgent = ' class="urgent"' if item.urgency == "high" else ""
        action = (
            f'<form method="post" action="/console/items/{item.id}/take">{csrf_field(request[CSRF_TOKEN])}'
            f'<button type="submit" class="take" data-item="{item.id}">담당하기</button></form>'
            if item.state == ReviewState.OPEN
            else f'<a href="/console/items/{item.id}">열기</a>'
        )
        lines.append(
            f'<tr class="item" data-item="{item.id}" data-call="{e(item.call_sid)}">'
            f'<td><a href="/console/items/{item.id}">{e(item.call_sid[-8:])}</a></td>'
            f"<td>{e(TYPE_LABELS.get(item.type or '', item.type))}</td><td>{e(item.topic)}</td>"
            f"<td{urgent}>{e(URGENCY_LABELS.get(item.urgency or '', item.urgency))}</td>"
            f"<td>{e(STATE_LABELS.get(item.state, item.state))}</td><td>{e(item.route_reason)}</td>"
            f"<td>{e(call.created_at.astimezone().strftime('%m-%d %H:%M'))}</td>"
            f"<td>{e(item.due_at.astimezone().strftime('%m-%d %H:%M'))}</td><td>{action}</td></tr>"
        )
    table = (
        '<table id="queue"><tr><th>통화</th><th>유형</th><th>주제</th><th>긴급도</th><th>상태</th><th>배정 사유</th>'
        "<th>접수</th><th>처리 기한</th><th></th></tr>" + "".join(lines) + "</table>"
        if lines
        else '<p id="empty-queue">대기 중인 통화 기록이 없습니다.</p>'
    )
    title = f"검토 대기열: {unit.name if unit else ''}"
    return _page(request, title, filters + table)


async def take(request: web.Request) -> web.StreamResponse:
    """POST /console/items/{id}/take"""
    item_id = _item_id(request)
    async with async_session_scope(request.app[SESSIONS]) as session:
        await review.take_item(session, _viewer(request), item_id, now=utcnow())
    raise web.HTTPSeeOther(f"/console/items/{item_id}")


def _changes_form(
    item_id: int,
    csrf: str,
    changes: list[dict[str, Any]],
    picture: dict[str, Any] | None,
    decided: dict[int, str],
    working: bool,
) -> str:
    if not changes:
        return "<p>제안된 고객정보 변경이 없습니다.</p>"
    rows = []
    for index, change in enumerate(changes):
        field = str(change.get("field"))
        old = review.current_value(field, picture) if picture else None
        if index in decided or not working:
            action = e(decided.get(index, ""))
        else:
            action = (
                f'<form method="post" action="/console/items/{item_id}/changes/{index}">{csrf_field(csrf)}'
                f'<input name="value" value="{e(change.get("value"))}" aria-label="새 값">'
                f'<button name="decision" value="apply" class="apply">반영</button>'
                f'<button name="decision" value="reject" class="reject">거부</button></form>'
            )
        rows.append(
            f'<tr class="change" data-field="{e(field)}"><td>{e(field)}</td><td>{e(old)}</td>'
            f'<td>{e(change.get("value"))}</td><td class="note">{e(change.get("evidence"))}</td><td>{action}</td></tr>'
        )
    return (
        '<table id="changes"><tr><th>항목</th><th>현재 값</th><th>제안 값</th><th>근거</th><th>처리</th></tr>'
        + "".join(rows)
        + "</table>"
    )


async def item_page(request: web.Request) -> web.Response:
    """GET /console/items/{id}: call, recording, transcript with reasons, classification, changes, history."""
    viewer, item_id = _viewer(request), _item_id(request)
    async with async_session_scope(request.app[SESSIONS]) as session:
        item = await review.visible_item(session, viewer, item_id)
        call = await review.visible_call(session, viewer, item.call_sid)
        picture = None
        if item.customer_id is not None:
            try:
                picture = await customer_picture(
                    session,
                    viewer,
                    rules=request.app[RULES],
                    as_of=business_today(),
                    customer_id=item.customer_id,
                    call_sid=item.call_sid,
                )
            except CustomerNotFound:
                picture = None
        events = await review.item_events(session, item_id)
        has_audio = (
            await session.exec(select(col(Recording.id)).where(col(Recording.call_sid) == call.call_sid))
        ).first()
    doc = mask_fields(viewer, "call", {**call_public(call), "transcript_raw": call.transcript_raw})
    csrf = request[CSRF_TOKEN]
    working = item.state == ReviewState.TAKEN and item.taken_by_id == viewer.staff_id
    decided = {
        int(ev.detail["index"]): ACTION_LABELS[ev.action]
        for ev in events
        if ev.action in ("change_applied", "change_rejected") and ev.detail
    }
    reasons = doc["classification"].get("reasons") or []
    reason_text = "".join(f"<li>{e(r)}</li>" for r in (reasons if isinstance(reasons, list) else [reasons]))
    customer = (
        f'<div class="box" id="customer"><h2>고객</h2><p>{e(picture["name"])} · {e(picture["segment"])} · '
        f'주민/사업자번호 <span id="registration">{e(picture.get("registration_number"))}</span></p>'
        f"<p>경보: {e(', '.join(a['kind'] for a in picture.get('alerts', [])) or '없음')}</p></div>"
        if picture
        else '<div class="box" id="customer"><h2>고객</h2><p>미등록 발신자</p></div>'
    )
    audio = (
        f'<audio controls preload="none" id="recording" src="/console/items/{item_id}/recording"></audio>'
        if has_audio
        else "<p>녹음 없음</p>"
    )
    raw = (
        f'<p class="note" id="transcript-raw">원문: {e(doc["transcript_raw"])}</p>' if doc.get("transcript_raw") else ""
    )
    # Entities above the viewer's clearance are shown masked, outside the form: saving never writes them back.
    editable, hidden = review.entities_for_viewer(viewer, list(call.entities or []))
    entities_text = "\n".join(f"{x.get('kind')}: {x.get('value', x.get('text'))}" for x in editable)
    hidden_list = (
        '<p class="note">열람 등급 밖의 개체 (저장해도 그대로 유지됩니다)</p><ul id="masked-entities">'
        + "".join(f"<li>{e(x.get('kind'))}: {e(x.get('value', x.get('text')))}</li>" for x in hidden)
        + "</ul>"
        if hidden
        else ""
    )
    type_options = options(TYPE_LABELS, doc["type"], blank=False)
    urgency = e(URGENCY_LABELS.get(doc["urgency"] or "", doc["urgency"]))
    classify = (
        f'<form method="post" action="/console/items/{item_id}/classification" class="box" id="classification">'
        f"{csrf_field(csrf)}<h2>분류 확인·수정</h2>"
        f'<label>유형 <select name="type" id="type">{type_options}</select></label>'
        f'<label>주제 <input name="topic" id="topic" value="{e(doc["topic"])}"></label>'
        f'<p><label>개체 (한 줄에 하나, 종류: 값)<textarea name="entities" id="entities" rows="4">'
        f"{e(entities_text)}</textarea></label></p>{hidden_list}"
        f'<button type="submit" id="save-classification">저장</button></form>'
        if working
        else ""
    )
    actions = (
        f'<form method="post" action="/console/items/{item_id}/forward" class="box" id="forward">{csrf_field(csrf)}'
        f'<label>상위 센터로 이관 사유 <textarea name="note" id="forward-note" rows="2" required></textarea></label>'
        f'<button type="submit" id="forward-button">상위 센터로 이관</button></form>'
        f'<form method="post" action="/console/items/{item_id}/close" class="box" id="close">{csrf_field(csrf)}'
        f'<label>종결 메모 <input name="note" id="close-note"></label>'
        f'<button type="submit" id="close-button">종결</button></form>'
        if working
        else (
            f'<form method="post" action="/console/items/{item_id}/take">{csrf_field(csrf)}'
            f'<button type="submit" id="take-button">담당하기</button></form>'
            if item.state == ReviewState.OPEN
            else ""
        )
    )
    history = "".join(
        f"<li>{e(ev.created_at.astimezone().strftime('%m-%d %H:%M'))} {e(ACTION_LABELS.get(ev.action, ev.action))}"
        f" {e(ev.note or '')}</li>"
        for ev in events
    )
    body = (
        f'<div class="box" id="call"><p>상태: '
        f'<span id="item-state">{e(STATE_LABELS.get(item.state, item.state))}</span>'
        f' · 유형: <span id="call-type">{e(TYPE_LABELS.get(doc["type"] or "", doc["type"]))}</span>'
        f' · 주제: <span id="call-topic">{e(doc["topic"])}</span> · 긴급도: {urgency}'
        f"</p><p>발신 {e(doc['from'])} → 수신 {e(doc['to'])} · {e(doc['started_at'])} · {e(doc['duration'])}초</p>"
        f"<p>배정 사유: {e(item.route_reason)}</p>{audio}</div>{customer}"
        f'<div class="box"><h2>녹취록</h2><p id="transcript">{e(doc["transcript"])}</p>{raw}'
        f'<h3>분류 근거</h3><ul id="reasons">{reason_text}</ul></div>{classify}'
        f'<div class="box"><h2>고객정보 변경 제안</h2>'
        f"{_changes_form(item_id, csrf, review.proposed_changes(call), picture, decided, working)}</div>"
        f'{actions}<div class="box"><h2>처리 이력</h2><ul id="history">{history}</ul></div>'
    )
    return _page(request, f"통화 기록 검토 #{item_id}", body)


async def recording(request: web.Request) -> web.StreamResponse:
    """GET /console/items/{id}/recording: the stored audio, for a viewer who may see the item (audited).

    Byte ranges are served (206), so that the browser's player can seek; a listening is audited once, at its
    first byte, not at every seek."""
    viewer, item_id = _viewer(request), _item_id(request)
    try:
        wanted = request.http_range
    except ValueError:
        wanted = slice(None, None)  # a malformed Range header: the whole file, as RFC 9110 allows
    async with async_session_scope(request.app[SESSIONS]) as session:
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


def _entities(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        kind, sep, value = line.partition(":")
        if sep and kind.strip() and value.strip():
            found.append({"kind": kind.strip()[:32], "value": value.strip()[:200]})
    return found


async def classification(request: web.Request) -> web.StreamResponse:
    """POST /console/items/{id}/classification: confirm or correct type, topic, entities."""
    form = await request.post()
    item_id = _item_id(request)
    async with async_session_scope(request.app[SESSIONS]) as session:
        await review.correct_classification(
            session,
            _viewer(request),
            item_id,
            type_=str(form.get("type", "")),
            topic=str(form.get("topic", "")).strip(),
            entities=_entities(str(form.get("entities", ""))),
            redact=redact_entity,
            now=utcnow(),
        )
    raise web.HTTPSeeOther(f"/console/items/{item_id}")


async def change(request: web.Request) -> web.StreamResponse:
    """POST /console/items/{id}/changes/{index}: apply (with the supplemented value) or reject one change."""
    form = await request.post()
    item_id = _item_id(request)
    async with async_session_scope(request.app[SESSIONS]) as session:
        await review.decide_change(
            session,
            _viewer(request),
            item_id,
            index=int(request.match_info["index"]),
            apply=form.get("decision") == "apply",
            value=str(form.get("value", "")),
            now=utcnow(),
        )
    raise web.HTTPSeeOther(f"/console/items/{item_id}")


async def forward(request: web.Request) -> web.StreamResponse:
    """POST /console/items/{id}/forward: to the upper-level center with a note."""
    form = await request.post()
    async with async_session_scope(request.app[SESSIONS]) as session:
        await review.forward_item(
            session, _viewer(request), _item_id(request), note=str(form.get("note", "")), now=utcnow()
        )
    raise web.HTTPSeeOther("/console/queue")


async def close(request: web.Request) -> web.StreamResponse:
    """POST /console/items/{id}/close"""
    form = await request.post()
    async with async_session_scope(request.app[SESSIONS]) as session:
        await review.close_item(
            session, _viewer(request), _item_id(request), note=str(form.get("note", "")), now=utcnow()
        )
    raise web.HTTPSeeOther("/console/queue")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/", home)
    r.add_get("/console/queue", queue)
    r.add_get(r"/console/items/{item_id:\d+}", item_page)
    r.add_get(r"/console/items/{item_id:\d+}/recording", recording)
    r.add_post(r"/console/items/{item_id:\d+}/take", take)
    r.add_post(r"/console/items/{item_id:\d+}/classification", classification)
    r.add_post(r"/console/items/{item_id:\d+}/changes/{index:\d+}", change)
    r.add_post(r"/console/items/{item_id:\d+}/forward", forward)
    r.add_post(r"/console/items/{item_id:\d+}/close", close)
