"""Suggestions for a request: the surveyors (for a survey) or vendors (for tow and rescue) who can take it,
ranked by estimated arrival, each with the reasons in Korean.

Distance is geodesic (geographiclib, WGS 84) times a road factor, driven at the regional speed of the request's
region (configuration). A surveyor is a candidate when available, within their shift (Korea time, holidays from
the business calendar), holding the skill, below capacity and with a known position; ties go to the lighter load.
Candidates come from the request's province unless none of them is within `near_km`; then every province's."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from geographiclib.geodesic import Geodesic
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.calendar import BusinessCalendar, OpeningHours
from crm_store.dispatch.config import DispatchConfig
from crm_store.dispatch.tables import DispatchAssignment, DispatchRequest, SurveyorProfile, Vendor
from crm_store.dispatch.wire import Candidate
from crm_store.models import Role, Staff
from crm_store.types import utcnow

SKILL_LABELS = {"auto": "자동차", "property": "재물", "injury": "상해", "cargo": "적하"}
SERVICE_LABELS = {"tow": "견인", "battery": "배터리", "tyre": "타이어", "fuel": "비상 급유", "lockout": "잠금 해제"}
_WGS84 = Geodesic.WGS84


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The geodesic distance between two points on the WGS 84 ellipsoid, in km."""
    return float(_WGS84.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE)["s12"]) / 1000.0


def eta_minutes(km: float, *, region: str, config: DispatchConfig) -> int:
    """Minutes to drive `km` of straight-line distance in `region`: times the road factor, at the regional speed
    (at least one minute)."""
    road_km = km * config.road_factor.of(region)
    return max(1, math.ceil(road_km / config.speeds_kmh.of(region) * 60))


def in_shift(shift: Any, moment: datetime, calendar: BusinessCalendar) -> bool:
    """True when the shift spec ("24h" or weekly hours in Korea time) covers the moment; a spec that does not
    parse counts as outside the shift."""
    try:
        return OpeningHours.parse(shift, calendar=calendar).is_open(moment)
    except (ValueError, TypeError, AttributeError):
        return False


@dataclass(frozen=True)
class _Row:
    staff: Staff
    profile: SurveyorProfile


def _surveyors_query(request: DispatchRequest, *, own_province: bool | None) -> Any:
    query = (
        select(Staff, SurveyorProfile)
        .join(SurveyorProfile, col(SurveyorProfile.staff_id) == col(Staff.id))
        .where(col(SurveyorProfile.status) == "available", col(Staff.active).is_(True))
        .where(col(Staff.role) == Role.SURVEYOR.value)
    )
    if own_province is True:
        query = query.where(col(SurveyorProfile.province_unit_id) == request.province_unit_id)
    elif own_province is False:
        query = query.where(
            (col(SurveyorProfile.province_unit_id) != request.province_unit_id)
            | col(SurveyorProfile.province_unit_id).is_(None)
        )
    return query


async def _loads(session: AsyncSession, column: Any, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = await session.exec(
        select(column, func.count()).where(column.in_(ids), col(DispatchAssignment.ended_at).is_(None)).group_by(column)
    )
    return {int(key): int(count) for key, count in rows.all()}


def _stale_reason(position_at: datetime | None, now: datetime, config: DispatchConfig) -> list[str]:
    if position_at is None:
        return []
    age = now - position_at
    if age > timedelta(minutes=config.stale_position_minutes):
        return [f"위치 {int(age.total_seconds() // 60)}분 전 보고"]
    return []


def _rank_surveyors(
    rows: Iterable[_Row],
    request: DispatchRequest,
    loads: dict[int, int],
    *,
    config: DispatchConfig,
    calendar: BusinessCalendar,
    now: datetime,
) -> list[tuple[int, int, float, Candidate]]:
    assert request.lat is not None and request.lon is not None
    ranked = []
    for row in rows:
        profile, staff = row.profile, row.staff
        load = loads.get(profile.staff_id, 0)
        if request.skill not in profile.skills or load >= profile.capacity:
            continue
        if profile.lat is None or profile.lon is None or not in_shift(profile.shift, now, calendar):
            continue
        km = distance_km(profile.lat, profile.lon, request.lat, request.lon)
        eta = eta_minutes(km, region=request.region, config=config)
        reasons = [f"{km:.1f} km", f"예상 도착 {eta}분", f"{SKILL_LABELS.get(request.skill, request.skill)} 조사 가능"]
        reasons.append(f"배정 {load}건")
        if request.province_unit_id is not None and profile.province_unit_id != request.province_unit_id:
            reasons.append("타 지역 지원")
        reasons += _stale_reason(profile.position_at, now, config)
        candidate = Candidate(
            username=staff.username, name=staff.full_name, eta_minutes=eta, distance_km=round(km, 1), reasons=reasons
        )
        ranked.append((eta, load, km, candidate))
    return ranked


async def suggest_surveyors(
    session: AsyncSession,
    request: DispatchRequest,
    *,
    config: DispatchConfig,
    calendar: BusinessCalendar | None = None,
    now: datetime | None = None,
) -> list[Candidate]:
    """Surveyors who can take a survey request, best (earliest arrival, then lightest load) first."""
    if request.lat is None or request.lon is None:
        return []
    now = now or utcnow()
    calendar = calendar or BusinessCalendar()
    scoped = request.province_unit_id is not None
    ranked = await _ranked_surveyors(session, request, True if scoped else None, config, calendar, now)
    if scoped and not any(km <= config.near_km for _, _, km, _ in ranked):
        ranked += await _ranked_surveyors(session, request, False, config, calendar, now)
    ranked.sort(key=lambda item: (item[0], item[1], item[2], item[3].username or ""))
    return [candidate for *_, candidate in ranked[: config.suggestions]]


async def _ranked_surveyors(
    session: AsyncSession,
    request: DispatchRequest,
    own_province: bool | None,
    config: DispatchConfig,
    calendar: BusinessCalendar,
    now: datetime,
) -> list[tuple[int, int, float, Candidate]]:
    rows = [
        _Row(staff, profile)
        for staff, profile in (await session.exec(_surveyors_query(request, own_province=own_province))).all()
    ]
    loads = await _loads(session, col(DispatchAssignment.surveyor_id), [r.profile.staff_id for r in rows])
    return _rank_surveyors(rows, request, loads, config=config, calendar=calendar, now=now)


def service_of(request: DispatchRequest) -> str:
    """The vendor service a tow or rescue request needs: `tow`, or its rescue kind."""
    return "tow" if request.kind == "tow" else (request.rescue_kind or "other")


async def suggest_vendors(
    session: AsyncSession, request: DispatchRequest, *, config: DispatchConfig, now: datetime | None = None
) -> list[Candidate]:
    """Vendors offering the service the request needs and serving its area, earliest arrival first."""
    if request.lat is None or request.lon is None:
        return []
    now = now or utcnow()
    service = service_of(request)
    vendors = (await session.exec(select(Vendor).where(col(Vendor.active).is_(True)))).all()
    area = {u for u in (request.province_unit_id, request.org_unit_id) if u is not None}
    offering = [v for v in vendors if service in v.services and v.lat is not None and v.lon is not None]
    local = [v for v in offering if area & set(v.service_unit_ids)]
    loads = await _loads(session, col(DispatchAssignment.vendor_id), [v.id for v in offering if v.id is not None])

    def rank(chosen: list[Vendor], outside: bool) -> list[tuple[int, int, float, Candidate]]:
        ranked = []
        for vendor in chosen:
            assert vendor.id is not None and vendor.lat is not None and vendor.lon is not None
            load = loads.get(vendor.id, 0)
            if load >= vendor.capacity:
                continue
            km = distance_km(vendor.lat, vendor.lon, request.lat or 0.0, request.lon or 0.0)
            eta = eta_minutes(km, region=request.region, config=config)
            reasons = [f"{km:.1f} km", f"예상 도착 {eta}분", f"{SERVICE_LABELS.get(service, service)} 가능"]
            reasons.append(f"배정 {load}건")
            if outside:
                reasons.append("서비스 지역 외")
            reasons += _stale_reason(vendor.position_at, now, config)
            candidate = Candidate(
                vendor_id=vendor.id, name=vendor.name, eta_minutes=eta, distance_km=round(km, 1), reasons=reasons
            )
            ranked.append((eta, load, km, candidate))
        return ranked

    ranked = rank(local, False)
    if not any(km <= config.near_km for _, _, km, _ in ranked):
        ranked += rank([v for v in offering if v not in local], True)
    ranked.sort(key=lambda item: (item[0], item[1], item[2], item[3].name))
    return [candidate for *_, candidate in ranked[: config.suggestions]]


async def suggestions(
    session: AsyncSession,
    request: DispatchRequest,
    *,
    config: DispatchConfig,
    calendar: BusinessCalendar | None = None,
    now: datetime | None = None,
) -> list[Candidate]:
    """The candidates for a request: surveyors for a survey, vendors for tow and rescue."""
    if request.kind == "survey":
        return await suggest_surveyors(session, request, config=config, calendar=calendar, now=now)
    return await suggest_vendors(session, request, config=config, now=now)
