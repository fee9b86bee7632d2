"""The agent's desk (/console/desk): state buttons, the desk WebSocket (state, offer and call frames; no polling),
the screen pop of an offered call, customer search and linking the caller, and the forms of the live call.

The page is rendered once with its Korean labels and the agent's state; `gateway/static/desk.js` does the rest
against the API (GET /api/v1/customers/search, GET /api/v1/customers/{id}, PUT /api/v1/agents/me/state,
POST /api/v1/desk/calls/{call_sid}/...) with the session's cookie and CSRF token. Agents and center managers only."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlmodel import col, select

from crm_store.db import async_session_scope
from crm_store.desk import agents
from crm_store.desk.tables import DeskQueue
from crm_store.validation import NotAllowed
from gateway import labels
from gateway.console.render import kst, render
from gateway.inputs import request_viewer
from gateway.keys import SESSIONS

DESK_PATH = "/console/desk"
DESK_ONLY = "상담 데스크는 상담원과 센터장만 사용할 수 있습니다."
INJURED_ROLES = {"driver": "운전자", "passenger": "동승자", "pedestrian": "보행자", "other": "기타"}
DISPATCH_KINDS = {"survey": "현장 조사(손해사정)", "tow": "견인", "rescue": "긴급 출동"}
RESCUE_KINDS = {"battery": "배터리", "tyre": "타이어", "fuel": "연료", "lockout": "잠금 해제", "other": "기타"}
POLICY_LINES = {
    "auto": "자동차", "home": "주택", "fire": "화재", "cargo": "적하", "liability": "배상책임",
    "personal_accident": "상해", "travel": "여행자", "property": "재물",
}  # fmt: skip
CLAIM_STATES = {"open": "진행 중", "paid": "지급", "closed": "종결", "rejected": "부지급"}


WORK_FIELDS = {
    "customer_id": "고객 번호",
    "occurred_at": "사고 일시",
    "place": "사고 장소",
    "what_happened": "사고 내용",
    "injured": "부상자",
    "vehicles": "관련 차량",
    "policy_id": "증권 번호",
    "dispatch": "긴급 출동",
    "category": "민원 분류",
    "summary": "민원 내용",
    "topic": "주제",
    "severity": "중요도",
    "field": "변경 항목",
    "value": "새 값",
    "question": "문의 내용",
    "answer": "답변 내용",
    "text": "메모",
    "note": "메모",
    "queue": "전환 대기열",
    "disposition": "처리 결과",
}
WORK_RECORDS = {
    "claim_number": "사고 접수번호",
    "dispatch_id": "출동 요청 번호",
    "complaint_number": "민원번호",
    "repeat": "기존 민원에 연결",
    "proposed_change_index": "변경 제안 (운영자 검토)",
    "queue_label": "전환 대기열",
    "previous_customer_id": "이전 고객 번호",
}
MASK_PREFIX = "●"


def _injured(person: Any) -> str:
    if not isinstance(person, dict):
        return str(person)
    role = labels.label(INJURED_ROLES, person.get("role"))
    hospital = " (병원 이송)" if person.get("hospital") else ""
    return f"{role}: {person.get('condition') or '상태 미상'}{hospital}"


def _vehicle(vehicle: Any) -> str:
    if not isinstance(vehicle, dict):
        return str(vehicle)
    whose = "당사 차량" if vehicle.get("ours", True) else "상대 차량"
    return " ".join(str(v) for v in (vehicle.get("plate"), vehicle.get("model")) if v) + f" ({whose})"


def _work_value(key: str, value: Any) -> str:
    """One entered value in Korean: codes by their names, moments in Korea time, lists one item after another."""
    catalogues: dict[str, dict[Any, str]] = {
        "category": labels.COMPLAINT_CATEGORIES,
        "severity": labels.COMPLAINT_SEVERITY,
        "field": labels.CHANGE_FIELDS,
        "disposition": labels.DISPOSITIONS,
        "repeat": {True: "예", False: "아니오"},
    }
    if key in catalogues:
        return labels.label(catalogues[key], value)
    if key == "occurred_at":
        return kst(value)
    if key == "topic":
        return labels.topic_label(value)
    if key == "injured" and isinstance(value, list):
        return ", ".join(_injured(p) for p in value) or labels.NOTHING
    if key == "vehicles" and isinstance(value, list):
        return ", ".join(_vehicle(v) for v in value) or labels.NOTHING
    if key == "dispatch" and isinstance(value, dict):
        kind = labels.label(DISPATCH_KINDS, value.get("kind"))
        rescue = value.get("rescue_kind")
        return kind + (f" ({labels.label(RESCUE_KINDS, rescue)})" if rescue else "")
    return str(value)


def work_lines(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """What an entry of the desk's work on a call says, as (Korean name, value) pairs: what was entered, then the
    records it made. Empty values are left out."""
    lines = [
        (WORK_FIELDS.get(key, key), _work_value(key, value))
        for key, value in (entry.get("detail") or {}).items()
        if value not in (None, "", [], {})
    ]
    lines += [
        (WORK_RECORDS[key], _work_value(key, value))
        for key, value in (entry.get("records") or {}).items()
        if key in WORK_RECORDS and value is not None
    ]
    return lines


def desk_labels(queues: dict[str, str]) -> dict[str, Any]:
    """Every Korean name the desk's script shows for a code (it never shows a code itself)."""
    return {
        "segments": labels.SEGMENTS,
        "alert_kinds": labels.ALERT_KINDS,
        "alert_levels": labels.ALERT_LEVELS,
        "agent_states": labels.AGENT_STATES,
        "call_states": labels.CALL_STATES,
        "work_kinds": labels.CALL_WORK_KINDS,
        "dispositions": labels.DISPOSITIONS,
        "change_fields": labels.CHANGE_FIELDS,
        "call_types": dict(labels.CALL_TYPES),
        "topics": dict(labels.TOPICS),
        "review_states": labels.REVIEW_STATES,
        "customer_kinds": labels.CUSTOMER_KINDS,
        "policy_lines": POLICY_LINES,
        "claim_states": CLAIM_STATES,
        "matched_on": {"phone": "전화번호", "plate": "차량번호", "policy": "증권번호", "name": "이름"},
        "queues": queues,
        "errors": {str(status): text for status, text in labels.ERRORS.items()},
    }


async def desk_page(request: web.Request) -> web.Response:
    """GET /console/desk"""
    viewer = request_viewer(request)
    if viewer.role not in agents.DESK_ROLES:
        raise NotAllowed(DESK_ONLY)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        agent = await agents.desk_agent(session, viewer.staff_id)
        rows = (await session.exec(select(DeskQueue.name, DeskQueue.label).order_by(col(DeskQueue.id)))).all()
    queues = {str(name): str(label) for name, label in rows}
    context = {
        "agent": agent,
        "queues": queues,
        "config": {
            "labels": desk_labels(queues),
            "state": agent.state if agent else "offline",
            "since": agent.state_since.isoformat() if agent else None,
            "call_sid": agent.call_sid if agent else None,
        },
        "dispositions": labels.DISPOSITIONS,
        "change_fields": labels.CHANGE_FIELDS,
        "complaint_categories": labels.COMPLAINT_CATEGORIES,
        "severities": labels.COMPLAINT_SEVERITY,
        "injured_roles": INJURED_ROLES,
        "dispatch_kinds": DISPATCH_KINDS,
        "rescue_kinds": RESCUE_KINDS,
    }
    return render(request, "desk.html", context)


def setup_routes(app: web.Application) -> None:
    """Register on the console sub-application (mounted at /console)."""
    app.router.add_get("/desk", desk_page)
