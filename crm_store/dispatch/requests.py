"""Dispatch requests from every door: opened by an agent or the API, drafted from a call classified `report` or
`dispatch` (for the dispatcher to confirm with the place), cancelled; and the arrival notice the customer gets."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import Actor, record_change
from crm_store.calendar import KST, kst_date
from crm_store.calls.tables import Call
from crm_store.customers.rules import Rules
from crm_store.customers.tables import Customer
from crm_store.dispatch.config import DispatchConfig
from crm_store.dispatch.errors import DispatchNotFound, InvalidDispatch, WrongState
from crm_store.dispatch.promises import KIND_LABELS, customer_services, promise_for
from crm_store.dispatch.tables import DispatchRequest
from crm_store.dispatch.units import place_of_unit
from crm_store.dispatch.wire import DispatchCreate, Place
from crm_store.errors import CustomerNotFound
from crm_store.types import utcnow

# What a classified call's topic asks for: (kind, rescue kind, skill).
TOPIC_REQUESTS: dict[str, tuple[str, str | None, str]] = {
    "dispatch.surveyor": ("survey", None, "auto"),
    "dispatch.towing": ("tow", None, "auto"),
    "dispatch.battery": ("rescue", "battery", "auto"),
    "dispatch.tire": ("rescue", "tyre", "auto"),
    "dispatch.fuel": ("rescue", "fuel", "auto"),
    "dispatch.lockout": ("rescue", "lockout", "auto"),
    "report.auto_accident": ("survey", None, "auto"),
    "report.injury": ("survey", None, "injury"),
    "report.property_damage": ("survey", None, "property"),
    "report.fire": ("survey", None, "property"),
    "report.natural_disaster": ("survey", None, "property"),
    "report.theft": ("survey", None, "property"),
    "report.liability": ("survey", None, "property"),
}
DRAFT_TYPES = frozenset({"report", "dispatch"})


async def get_request(session: AsyncSession, request_id: int, *, lock: bool = False) -> DispatchRequest:
    """One request by id (its row locked for the transaction when `lock`, on PostgreSQL)."""
    query = select(DispatchRequest).where(col(DispatchRequest.id) == request_id)
    if lock:
        query = query.with_for_update()
    request = (await session.exec(query)).first()
    if request is None:
        raise DispatchNotFound(f"dispatch request {request_id} not found")
    return request


def audit_request(session: AsyncSession | Session, actor: Actor, request: DispatchRequest, action: str,
                  detail: dict[str, Any], now: datetime) -> None:  # fmt: skip
    """The audit entry of a step of a request, in its unit and the customer's trail (the dispatchers' steps and
    the workers' timers alike)."""
    record_change(
        session,
        actor,
        action=action,
        target=f"dispatch:{request.id}",
        org_unit_id=unit_of(request),
        detail=detail,
        now=now,
        customer_id=request.customer_id,
    )


def unit_of(request: DispatchRequest) -> int:
    """The unit a request's audit entries name: every request has one once open (a draft from an unknown caller
    gets the dispatcher's when confirmed or cancelled)."""
    if request.org_unit_id is None:
        raise InvalidDispatch(f"request {request.id} has no org unit")
    return request.org_unit_id


async def _apply_promise(
    session: AsyncSession, request: DispatchRequest, *, config: DispatchConfig, rules: Rules, now: datetime
) -> None:
    services: frozenset[str] = frozenset()
    if request.customer_id is not None:
        services = await customer_services(session, rules, request.customer_id, as_of=kst_date(now))
    promise = promise_for(config, kind=request.kind, region=request.region, services=services)
    request.promise_minutes = promise.minutes
    request.promise_reason = promise.reason
    request.due_at = now + timedelta(minutes=promise.minutes)


async def open_dispatch_request(
    session: AsyncSession,
    actor: Actor,
    data: DispatchCreate,
    *,
    config: DispatchConfig,
    rules: Rules,
    unit_id: int | None = None,
    now: datetime | None = None,
) -> DispatchRequest:
    """Open a request (state `open`) with the promise that applies and its due time; audited.

    The scene's unit is the one given, else the customer's, else `unit_id` (the caller's own unit); it decides
    city or county and the province whose surveyors are suggested first."""
    now = now or utcnow()
    customer = None
    if data.customer_id is not None:
        customer = await session.get(Customer, data.customer_id)
        if customer is None:
            raise CustomerNotFound(f"customer {data.customer_id} not found")
    if data.call_sid is not None:
        known = await session.exec(select(col(Call.id)).where(col(Call.call_sid) == data.call_sid))
        if known.first() is None:
            raise InvalidDispatch(f"no call {data.call_sid}", fields={"call_sid": "no call with this CallSid"})
    chosen_unit = data.org_unit_id or (customer.org_unit_id if customer is not None else None) or unit_id
    if chosen_unit is None:
        raise InvalidDispatch("no org unit to place the request in: give org_unit_id or customer_id")
    place = await place_of_unit(session, chosen_unit)
    request = DispatchRequest(
        kind=data.kind,
        rescue_kind=data.rescue_kind,
        skill=data.skill,
        state="open",
        address=data.location.address,
        lat=data.location.lat,
        lon=data.location.lon,
        region=place.region,
        org_unit_id=place.unit_id,
        province_unit_id=place.province_unit_id,
        what_happened=data.what_happened,
        vehicles=[v.model_dump() for v in data.vehicles],
        injured=[p.model_dump() for p in data.injured],
        customer_id=data.customer_id,
        policy_id=data.policy_id,
        call_sid=data.call_sid,
        contact_phone=data.contact_phone,
        segment=str(customer.segment) if customer is not None else None,
        source="call" if data.call_sid else "api",
        created_by_id=actor.staff_id,
        dispatcher_id=actor.staff_id,
        created_at=now,
        opened_at=now,
        updated_at=now,
    )
    await _apply_promise(session, request, config=config, rules=rules, now=now)
    session.add(request)
    await session.flush()
    detail = {"kind": request.kind, "promise_minutes": request.promise_minutes, "due_at": _iso(request.due_at)}
    audit_request(session, actor, request, "dispatch_opened", detail, now)
    return request


def draft_of_call(call: Call, *, customer_unit_id: int | None, segment: str | None) -> DispatchRequest | None:
    """The draft a classified call suggests (None unless it is a `report` or `dispatch` call): kind and skill
    from its topic, the place and vehicles as the transcript named them; no coordinates, no promise yet."""
    if call.type is None or str(call.type) not in DRAFT_TYPES:
        return None
    kind, rescue_kind, skill = TOPIC_REQUESTS.get(call.topic or "", ("survey", None, "auto"))
    entities: list[dict[str, Any]] = call.entities or []
    places = [str(e.get("value") or e.get("text")) for e in entities if e.get("kind") == "place"]
    plates = [str(e.get("value") or e.get("text")) for e in entities if e.get("kind") == "plate"]
    models = [str(e.get("value") or e.get("text")) for e in entities if e.get("kind") == "vehicle"]
    vehicles = [{"plate": p, "model": None, "ours": True} for p in plates] or [
        {"plate": None, "model": m, "ours": True} for m in models
    ]
    return DispatchRequest(
        kind=kind,
        rescue_kind=rescue_kind,
        skill=skill,
        state="draft",
        address=", ".join(places)[:300],
        org_unit_id=customer_unit_id,
        what_happened=(call.transcript or "")[:2000],
        vehicles=vehicles,
        customer_id=call.customer_id,
        call_sid=call.call_sid,
        contact_phone=call.from_number if call.from_number and len(call.from_number) <= 20 else None,
        segment=segment,
        source="call",
    )


def draft_from_call(session: Session, call_sid: str, *, now: datetime | None = None) -> DispatchRequest | None:
    """After a call is classified `report` or `dispatch`: its draft request for the dispatcher to confirm (the
    one already drafted when run again); None for other calls. For the workers' post-call pipeline (sync)."""
    existing = session.exec(select(DispatchRequest).where(col(DispatchRequest.call_sid) == call_sid)).first()
    if existing is not None:
        return existing
    call = session.exec(select(Call).where(col(Call.call_sid) == call_sid)).first()
    if call is None:
        return None
    customer = session.get(Customer, call.customer_id) if call.customer_id is not None else None
    draft = draft_of_call(
        call,
        customer_unit_id=customer.org_unit_id if customer is not None else None,
        segment=str(customer.segment) if customer is not None else None,
    )
    if draft is None:
        return None
    draft.created_at = draft.updated_at = now or utcnow()
    session.add(draft)
    session.flush()
    return draft


async def confirm_draft(
    session: AsyncSession,
    actor: Actor,
    request_id: int,
    place: Place,
    *,
    config: DispatchConfig,
    rules: Rules,
    unit_id: int | None = None,
    now: datetime | None = None,
) -> DispatchRequest:
    """The dispatcher confirms a draft with the place on the map: it opens, and its promise starts now."""
    now = now or utcnow()
    request = await get_request(session, request_id, lock=True)
    if request.state != "draft":
        raise WrongState(f"request {request_id} is {request.state}, not a draft", state=request.state)
    chosen_unit = request.org_unit_id or unit_id
    if chosen_unit is None:
        raise InvalidDispatch("no org unit to place the request in")
    unit = await place_of_unit(session, chosen_unit)
    request.org_unit_id, request.region, request.province_unit_id = unit.unit_id, unit.region, unit.province_unit_id
    request.lat, request.lon = place.lat, place.lon
    request.address = place.address or request.address
    request.state, request.opened_at, request.updated_at = "open", now, now
    request.dispatcher_id = actor.staff_id
    await _apply_promise(session, request, config=config, rules=rules, now=now)
    session.add(request)
    detail = {"kind": request.kind, "from": "draft", "due_at": _iso(request.due_at)}
    audit_request(session, actor, request, "dispatch_opened", detail, now)
    return request


def arrival_notice(request: DispatchRequest, *, eta_minutes: int, now: datetime, who: str | None = None) -> str:
    """The message the customer gets once someone is on the way (Korean; sent by the caller, not here)."""
    arrives = (now + timedelta(minutes=eta_minutes)).astimezone(KST)
    label = KIND_LABELS.get(request.kind, "출동")
    person = f" {who}" if who else ""
    return (
        f"[핫라인] {label} 요청이 접수되어{person} 담당자가 출발했습니다. "
        f"약 {eta_minutes}분 후 {arrives:%H:%M}경 도착 예정입니다. (접수번호 {request.id})"
    )


def assignment_notice(request: DispatchRequest, *, link: str, accept_by: datetime) -> str:
    """The message the surveyor (or vendor) gets when assigned: what, where, by when to accept, and the link to
    their page (Korean; sent by the caller, not here)."""
    label = KIND_LABELS.get(request.kind, "출동")
    where = request.address or (
        f"{request.lat:.5f}, {request.lon:.5f}" if request.lat is not None else "위치 확인 필요"
    )
    return (
        f"[핫라인] {label} 배정 (접수번호 {request.id}): {where}. "
        f"{accept_by.astimezone(KST):%H:%M}까지 수락해 주세요. {link}"
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
