"""The agent's desk (/console/desk): state buttons, the desk WebSocket (state, offer and call frames; no polling),
the screen pop of an offered call, customer search and linking the caller, and the forms of the live call.

The page is rendered once with its Korean labels and the agent's state; `gateway/static/desk.js` does the rest
against the API (GET /api/v1/customers/search, GET /api/v1/customers/{id}, PUT /api/v1/agents/me/state,
POST /api/v1/desk/calls/{call_sid}/...) with the session's cookie and CSRF token. Agents and center managers only."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.db import async_session_scope
from crm_store.desk import agents
from crm_store.desk.tables import DeskQueue
from crm_store.org.chain import path_ids
from crm_store.org.tables import OrgUnit
from crm_store.validation import NotAllowed
from gateway import labels
from gateway.console.render import kst, render
from gateway.inputs import request_viewer
from gateway.keys import SESSIONS

DESK_PATH = "/console/desk"
DESK_ONLY = "상담 데스크는 상담원과 센터장만 사용할 수 있습니다."


def _injured(person: Any) -> str:
    if not isinstance(person, dict):
        return str(person)
    role = labels.label(labels.INJURED_ROLES, person.get("role"))
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
        kind = labels.label(labels.DISPATCH_KINDS, value.get("kind"))
        rescue = value.get("rescue_kind")
        return kind + (f" ({labels.label(labels.RESCUE_KINDS, rescue)})" if rescue else "")
    return str(value)


def work_lines(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """What an entry of the desk's work on a call says, as (Korean name, value) pairs: what was entered, then the
    records it made. Empty values are left out."""
    lines = [
        (labels.CALL_WORK_FIELDS.get(key, key), _work_value(key, value))
        for key, value in (entry.get("detail") or {}).items()
        if value not in (None, "", [], {})
    ]
    lines += [
        (labels.CALL_WORK_RECORDS[key], _work_value(key, value))
        for key, value in (entry.get("records") or {}).items()
        if key in labels.CALL_WORK_RECORDS and value is not None
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
        "callback_reasons": labels.CALLBACK_REASONS,
        "offer_withdrawn": labels.OFFER_WITHDRAWN,
        "work_kinds": labels.CALL_WORK_KINDS,
        "dispositions": labels.DISPOSITIONS,
        "change_fields": labels.CHANGE_FIELDS,
        "call_types": dict(labels.CALL_TYPES),
        "topics": dict(labels.TOPICS),
        "review_states": labels.REVIEW_STATES,
        "customer_kinds": labels.CUSTOMER_KINDS,
        "policy_lines": labels.POLICY_LINES,
        "complaint_states": labels.COMPLAINT_STATES,
        "complaint_categories": labels.COMPLAINT_CATEGORIES,
        "dispatch_kinds": labels.DISPATCH_KINDS,
        "dispatch_states": labels.DISPATCH_STATES,
        "claim_states": labels.CLAIM_STATES,
        "claim_stages": labels.CLAIM_STAGES,
        "matched_on": {"phone": "전화번호", "plate": "차량번호", "policy": "증권번호", "name": "이름"},
        "urgency": labels.URGENCY,
        "urgency_cues": {cue.replace(" ", "_"): name for cue, name in labels.URGENCY_CUES.items()},
        "entity_kinds": labels.ENTITY_KINDS,
        "queues": queues,
        "errors": {str(status): text for status, text in labels.ERRORS.items()},
    }


async def _levels_above(session: AsyncSession, unit_id: int | None) -> dict[str, str]:
    """The agent's own unit and the levels above it (code -> name), head office first: where a call may be
    transferred to."""
    if unit_id is None:
        return {}
    own = await session.get(OrgUnit, unit_id)
    if own is None:
        return {}
    ids = path_ids(own.path) or [unit_id]
    units = (await session.exec(select(OrgUnit).where(col(OrgUnit.id).in_(ids)).order_by(col(OrgUnit.level)))).all()
    return {unit.code: unit.name for unit in units}


async def desk_page(request: web.Request) -> web.Response:
    """GET /console/desk"""
    viewer = request_viewer(request)
    if viewer.role not in agents.DESK_ROLES:
        raise NotAllowed(DESK_ONLY)
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        agent = await agents.desk_agent(session, viewer.staff_id)
        rows = (await session.exec(select(DeskQueue.name, DeskQueue.label).order_by(col(DeskQueue.id)))).all()
        levels = await _levels_above(session, viewer.org_unit_id)
    queues = {str(name): str(label) for name, label in rows}
    context = {
        "agent": agent,
        "queues": queues,
        "levels": levels,
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
        "injured_roles": labels.INJURED_ROLES,
        "dispatch_kinds": labels.DISPATCH_KINDS,
        "rescue_kinds": labels.RESCUE_KINDS,
    }
    return render(request, "desk.html", context)


def setup_routes(app: web.Application) -> None:
    """Register on the console sub-application (mounted at /console)."""
    app.router.add_get("/desk", desk_page)
