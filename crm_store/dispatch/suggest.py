"""Suggestions for a request: the surveyors (for a survey) or vendors (for tow and rescue) who can take it,
ranked by estimated arrival, each with the reasons in Korean.

Distance is geodesic (geographiclib, WGS 84) times a road factor, driven at the regional speed of the request's
region (configuration). A surveyor is a candidate when available, within their shift (Korea time, holidays from
the business calendar), holding the skill, below capacity and with a known position; ties go to the lighter load.
Candidates come from the request's province unless none of them is within `near_km`; then every province's."""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from geographiclib.geodesic import Geodesic
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.calendar import BusinessCalendar, OpeningHours
from crm_store.dispatch.config import DispatchConfig
from crm_store.dispatch.tables import DispatchAssignment, DispatchRequest, SurveyorProfile, Vendor
from crm_store.dispatch.wire import Candidate
from crm_store.org.tables import Role, Staff
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
class _Surveyor:
    staff_id: int
    username: str
    full_name: str
    province_unit_id: int | None
    skills: list[str]
    shift: Any
    lat: float
    lon: float
    position_at: datetime | None
    load: int


def _live_loads() -> Any:
    """Open assignments per surveyor (at most one per open request, so a few thousand rows at most)."""
    return (
        select(col(DispatchAssignment.surveyor_id).label("staff_id"), func.count().label("load"))
        .where(col(DispatchAssignment.ended_at).is_(None), col(DispatchAssignment.surveyor_id).is_not(None))
        .group_by(col(DispatchAssignment.surveyor_id))
        .subquery()
    )


def surveyors_query(request: DispatchRequest, *, own_province: bool | None) -> Any:
    """Available, active surveyors with a position and room for one more assignment (their load with them), of
    the request's province (`own_province` True), of the others (False) or of all (None); plain columns."""
    loads = _live_loads()
    load = func.coalesce(loads.c.load, 0)
    query = (
        sa_select(
            col(SurveyorProfile.staff_id),
            col(Staff.username),
            col(Staff.full_name),
            col(SurveyorProfile.province_unit_id),
            col(SurveyorProfile.skills),
            col(SurveyorProfile.shift),
            col(SurveyorProfile.lat),
            col(SurveyorProfile.lon),
            col(SurveyorProfile.position_at),
            load,
        )
        .join(Staff, col(Staff.id) == col(SurveyorProfile.staff_id))
        .outerjoin(loads, loads.c.staff_id == col(SurveyorProfile.staff_id))
        .where(col(SurveyorProfile.status) == "available", col(Staff.active).is_(True))
        .where(col(Staff.role) == Role.SURVEYOR.value)
        .where(col(SurveyorProfile.lat).is_not(None), col(SurveyorProfile.lon).is_not(None))
        .where(load < col(SurveyorProfile.capacity))
    )
    if own_province is True:
        query = query.where(col(SurveyorProfile.province_unit_id) == request.province_unit_id)
    elif own_province is False:
        query = query.where(
            (col(SurveyorProfile.province_unit_id) != request.province_unit_id)
            | col(SurveyorProfile.province_unit_id).is_(None)
        )
    return query


def _stale_reason(position_at: datetime | None, now: datetime, config: DispatchConfig) -> list[str]:
    if position_at is None:
        return []
    age = now - position_at
    if age > timedelta(minutes=config.stale_position_minutes):
        return [f"위치 {int(age.total_seconds() // 60)}분 전 보고"]
    return []


class _LocalScale:
    """A cheap stand-in for the geodesic distance, only to decide in which order to compute the real one: km per
    degree of latitude and of longitude at the scene, measured with the geodesic library. Within Korea it is off
    by less than PROXY_ERROR either way, so candidates are taken nearest-first by it and the walk stops once even
    the most favourable reading of the next one cannot arrive sooner than the last of those kept."""

    def __init__(self, lat: float, lon: float) -> None:
        self.lat, self.lon = lat, lon
        self.per_lat = distance_km(lat - 0.05, lon, lat + 0.05, lon) * 10
        self.per_lon = distance_km(lat, lon - 0.05, lat, lon + 0.05) * 10

    def km(self, lat: float, lon: float) -> float:
        return math.hypot((lat - self.lat) * self.per_lat, (lon - self.lon) * self.per_lon)


# The planar stand-in's worst relative error over South Korea (the longitude scale changes by about 8% between
# Jeju and the northern border), with room to spare.
PROXY_ERROR = 0.15


def _rank_surveyors(
    rows: Sequence[_Surveyor],
    request: DispatchRequest,
    *,
    config: DispatchConfig,
    calendar: BusinessCalendar,
    now: datetime,
) -> list[tuple[int, int, float, Candidate]]:
    """The best `config.suggestions` of the rows (earliest arrival, then lightest load), each with its reasons;
    geodesic distances are computed nearest-first and only as far as they can still matter."""
    assert request.lat is not None and request.lon is not None
    scale = _LocalScale(request.lat, request.lon)
    shifts: dict[str, bool] = {}
    ranked: list[tuple[int, int, float, Candidate]] = []
    worst_kept: list[int] = []  # max-heap (negated) of the kept arrivals
    for proxy_km, row in sorted(((scale.km(r.lat, r.lon), r) for r in rows), key=lambda item: item[0]):
        if len(worst_kept) >= config.suggestions:
            soonest = eta_minutes(proxy_km / (1 + PROXY_ERROR), region=request.region, config=config)
            if soonest > -worst_kept[0]:
                break
        if request.skill not in row.skills:
            continue
        shift_key = json.dumps(row.shift, sort_keys=True)
        if shift_key not in shifts:
            shifts[shift_key] = in_shift(row.shift, now, calendar)
        if not shifts[shift_key]:
            continue
        km = distance_km(row.lat, row.lon, request.lat, request.lon)
        eta = eta_minutes(km, region=request.region, config=config)
        reasons = [f"{km:.1f} km", f"예상 도착 {eta}분", f"{SKILL_LABELS.get(request.skill, request.skill)} 조사 가능"]
        reasons.append(f"배정 {row.load}건")
        if request.province_unit_id is not None and row.province_unit_id != request.province_unit_id:
            reasons.append("타 지역 지원")
        reasons += _stale_reason(row.position_at, now, config)
        candidate = Candidate(
            username=row.username, name=row.full_name, eta_minutes=eta, distance_km=round(km, 1), reasons=reasons
        )
        ranked.append((eta, row.load, km, candidate))
        heapq.heappush(worst_kept, -eta)
        if len(worst_kept) > config.suggestions:
            heapq.heappop(worst_kept)
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
    result = await session.exec(surveyors_query(request, own_province=own_province))
    rows = [
        _Surveyor(
            staff_id=r[0],
            username=r[1],
            full_name=r[2],
            province_unit_id=r[3],
            skills=list(r[4] or []),
            shift=r[5],
            lat=r[6],
            lon=r[7],
            position_at=r[8],
            load=int(r[9]),
        )  # fmt: skip
        for r in result.all()
    ]
    return _rank_surveyors(rows, request, config=config, calendar=calendar, now=now)


async def _vendor_loads(session: AsyncSession, ids: Sequence[int]) -> dict[int, int]:
    """Open jobs per vendor."""
    if not ids:
        return {}
    column = col(DispatchAssignment.vendor_id)
    rows = await session.exec(
        select(column, func.count()).where(column.in_(ids), col(DispatchAssignment.ended_at).is_(None)).group_by(column)
    )
    return {int(key): int(count) for key, count in rows.all() if key is not None}


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
    loads = await _vendor_loads(session, [v.id for v in offering if v.id is not None])

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
