"""Suggestions for a request: ranked by estimated arrival (geodesic distance, road factor, regional speed), only
surveyors who are available, in their shift, skilled and below capacity, each with its reasons in Korean; the
request's province first, others only when none of its own is near."""

from __future__ import annotations

import math
from datetime import time, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.dispatch.requests import open_dispatch_request
from crm_store.dispatch.suggest import distance_km, eta_minutes, suggestions
from crm_store.dispatch.surveyors import add_vendor
from crm_store.dispatch.tables import DispatchAssignment, DispatchRequest
from crm_store.dispatch.wire import DispatchCreate, Position
from tests.dispatch_helpers import (
    CHUNCHEON,
    CONFIG,
    GANGNAM,
    GAPYEONG,
    GAPYEONG_SCENE,
    GWANGHWAMUN,
    HOLIDAY,
    RULES,
    SEOLLEUNG,
    YEOKSAM,
    World,
    add_surveyor,
    kst,
    survey_at,
)

NOW = kst()
OFFICE_HOURS = {"mon-fri": "09:00-18:00"}


def test_distance_is_geodesic_and_the_eta_uses_the_regional_road_factor_and_speed() -> None:
    km = distance_km(*YEOKSAM, *SEOLLEUNG)
    # Yeoksam to Seolleung stations: about 1.2 km as the crow flies.
    assert 1.1 < km < 1.3
    assert distance_km(*SEOLLEUNG, *SEOLLEUNG) == 0
    # 10 km in a city: 14 km of road at 25 km/h is 33.6 minutes; in a county 12.5 km at 50 km/h is 15.
    assert eta_minutes(10, region="city", config=CONFIG) == 34
    assert eta_minutes(10, region="county", config=CONFIG) == 15
    assert eta_minutes(0, region="city", config=CONFIG) == 1


async def _open(sessions: async_sessionmaker[AsyncSession], world: World, data: DispatchCreate) -> DispatchRequest:
    async with sessions() as session:
        request = await open_dispatch_request(
            session,
            world.viewer("disp.gangnam"),
            data,
            config=CONFIG,
            rules=RULES,
            unit_id=world.units["GANGNAM"],
            now=NOW,
        )
        await session.commit()
        return request


async def _suggest(sessions: async_sessionmaker[AsyncSession], request: DispatchRequest, now: Any = NOW) -> list[Any]:
    async with sessions() as session:
        return await suggestions(session, request, config=CONFIG, now=now)


async def test_nearest_first_with_reasons_and_the_unfit_left_out(
    engine: Any, world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    add_surveyor(engine, world, "far", at=GWANGHWAMUN)
    add_surveyor(engine, world, "near", at=YEOKSAM)
    add_surveyor(engine, world, "middle", at=GANGNAM)
    add_surveyor(engine, world, "property.only", at=SEOLLEUNG, skills=("property",))
    add_surveyor(engine, world, "off.duty", at=SEOLLEUNG, status="off_duty")
    add_surveyor(engine, world, "on.site", at=SEOLLEUNG, status="on_site")
    add_surveyor(engine, world, "no.position", at=None)
    request = await _open(sessions, world, survey_at())
    ranked = await _suggest(sessions, request)
    assert [c.username for c in ranked] == ["near", "middle", "far"]
    near = ranked[0]
    km = distance_km(*YEOKSAM, *SEOLLEUNG)
    eta = math.ceil(km * 1.4 / 25 * 60)
    assert (near.distance_km, near.eta_minutes) == (round(km, 1), eta)
    assert near.reasons == [f"{km:.1f} km", f"예상 도착 {eta}분", "자동차 조사 가능", "배정 0건"]
    assert [c.eta_minutes for c in ranked] == sorted(c.eta_minutes for c in ranked)


async def test_the_skill_asked_for_decides(
    engine: Any, world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    add_surveyor(engine, world, "auto.near", at=SEOLLEUNG)
    add_surveyor(engine, world, "property.far", at=GWANGHWAMUN, skills=("auto", "property"))
    request = await _open(sessions, world, survey_at(skill="property"))
    ranked = await _suggest(sessions, request)
    assert [c.username for c in ranked] == ["property.far"]
    assert "재물 조사 가능" in ranked[0].reasons


async def test_load_against_capacity_and_as_the_tie_breaker(
    engine: Any, world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    busy = add_surveyor(engine, world, "busy", at=YEOKSAM, capacity=2)
    add_surveyor(engine, world, "idle", at=YEOKSAM, capacity=2)
    full = add_surveyor(engine, world, "full", at=SEOLLEUNG, capacity=1)
    earlier = [await _open(sessions, world, survey_at()) for _ in range(2)]
    with Session(engine) as session:
        for staff_id, request in ((busy, earlier[0]), (full, earlier[1])):
            session.add(DispatchAssignment(request_id=request.id, surveyor_id=staff_id, accept_by=NOW, accepted_at=NOW))
        session.commit()
    request = await _open(sessions, world, survey_at())
    ranked = await _suggest(sessions, request)
    # Same place and arrival: the one with fewer open assignments first; "full" is at its capacity.
    assert [c.username for c in ranked] == ["idle", "busy"]
    assert ranked[1].reasons[-1] == "배정 1건"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (kst(at=time(10)), ["office", "night"]),
        (kst(at=time(22)), ["night"]),
        (kst(HOLIDAY, time(10)), ["night"]),
    ],
    ids=["monday-10h", "monday-22h", "christmas-10h"],
)
async def test_the_shift_in_korea_time_and_the_business_calendar(
    engine: Any, world: World, sessions: async_sessionmaker[AsyncSession], moment: Any, expected: list[str]
) -> None:
    add_surveyor(engine, world, "office", at=YEOKSAM, shift=OFFICE_HOURS)
    add_surveyor(engine, world, "night", at=GWANGHWAMUN, shift="24h")
    request = await _open(sessions, world, survey_at())
    assert [c.username for c in await _suggest(sessions, request, moment)] == expected


async def test_a_stale_position_is_said(engine: Any, world: World, sessions: async_sessionmaker[AsyncSession]) -> None:
    add_surveyor(engine, world, "stale", at=YEOKSAM, position_at=NOW - timedelta(minutes=45))
    request = await _open(sessions, world, survey_at())
    assert (await _suggest(sessions, request))[0].reasons[-1] == "위치 45분 전 보고"


async def test_the_province_first_and_others_only_when_none_of_its_own_is_near(
    engine: Any, world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    county = survey_at(GAPYEONG_SCENE, unit=world.units["GAPYEONG"])
    add_surveyor(engine, world, "chuncheon", unit="CHUNCHEON", at=CHUNCHEON)
    # Gyeonggi's only surveyor is in Seoul's south, more than near_km (40 km) from Gapyeong.
    add_surveyor(engine, world, "gyeonggi.far", unit="GAPYEONG", at=GANGNAM)
    request = await _open(sessions, world, county)
    ranked = await _suggest(sessions, request)
    assert [c.username for c in ranked] == ["chuncheon", "gyeonggi.far"]
    assert ranked[0].reasons[-1] == "타 지역 지원" and "타 지역 지원" not in ranked[1].reasons
    # A Gyeonggi surveyor in Gapyeong itself: the other province is no longer offered.
    add_surveyor(engine, world, "gyeonggi.near", unit="GAPYEONG", at=GAPYEONG)
    assert [c.username for c in await _suggest(sessions, request)] == ["gyeonggi.near", "gyeonggi.far"]


async def test_vendors_offering_the_service_in_the_area(
    world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    actor = world.viewer("disp.gangnam")
    seoul, gangwon = world.units["SEOUL"], world.units["GANGWON"]
    async with sessions() as session:
        for name, services, units, at in (
            ("강남견인", ["tow"], [seoul], GANGNAM),
            ("광화문견인", ["tow", "battery"], [seoul], GWANGHWAMUN),
            ("역삼배터리", ["battery"], [seoul], YEOKSAM),
            ("춘천견인", ["tow"], [gangwon], SEOLLEUNG),
        ):
            await add_vendor(
                session, actor, name=name, services=services, service_unit_ids=units,
                position=Position(lat=at[0], lon=at[1]), org_unit_id=seoul, now=NOW,
            )  # fmt: skip
        await session.commit()
    place = {"lat": SEOLLEUNG[0], "lon": SEOLLEUNG[1], "address": "선릉역"}
    tow = await _open(sessions, world, DispatchCreate.model_validate({"kind": "tow", "location": place}))
    battery = await _open(
        sessions, world, DispatchCreate.model_validate({"kind": "rescue", "rescue_kind": "battery", "location": place})
    )
    towing = await _suggest(sessions, tow)
    # The Chuncheon vendor sits at the scene but does not serve Seoul, and Seoul's own are near.
    assert [c.name for c in towing] == ["강남견인", "광화문견인"]
    assert towing[0].vendor_id is not None and "견인 가능" in towing[0].reasons
    assert [c.name for c in await _suggest(sessions, battery)] == ["역삼배터리", "광화문견인"]


def test_the_nearest_first_walk_finds_the_same_best_as_measuring_everyone(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    from crm_store.calendar import BusinessCalendar
    from crm_store.dispatch import suggest

    def surveyor(i: int, name: str, lat: float, lon: float, load: int) -> suggest._Surveyor:
        """An auto surveyor of province 1 around the clock, last seen at (lat, lon) now, with `load` jobs."""
        return suggest._Surveyor(
            staff_id=i, username=f"{name}{i:04d}", full_name=f"{name}{i}", province_unit_id=1, skills=["auto"],
            shift="24h", lat=lat, lon=lon, position_at=NOW, load=load,
        )  # fmt: skip

    rng = random.Random(7)
    rows = [
        surveyor(i, "s", 33.2 + rng.random() * 5.3, 126.2 + rng.random() * 3.1, rng.choice([0, 1])) for i in range(2000)
    ]
    # A dense cluster around the Seoul scene: many arrivals of the same minute, where load breaks the tie.
    rows += [
        surveyor(i, "c", SEOLLEUNG[0] + rng.uniform(-0.03, 0.03), SEOLLEUNG[1] + rng.uniform(-0.03, 0.03),
                 rng.choice([0, 0, 1]))
        for i in range(300)
    ]  # fmt: skip
    real = suggest.distance_km
    measured = [0]

    def counting(*args: float) -> float:
        measured[0] += 1
        return real(*args)

    for place, region in ((SEOLLEUNG, "city"), (GAPYEONG_SCENE, "county"), ((33.45, 126.55), "county")):
        request = DispatchRequest(kind="survey", skill="auto", lat=place[0], lon=place[1], region=region,
                                  province_unit_id=1)  # fmt: skip
        measured[0] = 0
        monkeypatch.setattr(suggest, "distance_km", counting)
        walked = suggest._rank_surveyors(rows, request, config=CONFIG, calendar=BusinessCalendar(), now=NOW)
        monkeypatch.setattr(suggest, "distance_km", real)
        everyone = []
        for row in rows:
            km = real(row.lat, row.lon, *place)
            everyone.append((eta_minutes(km, region=region, config=CONFIG), row.load, km, row.username))
        best = [username for *_, username in sorted(everyone)[: CONFIG.suggestions]]
        walked.sort(key=lambda item: (item[0], item[1], item[2], item[3].username or ""))
        assert [c.username for *_, c in walked[: CONFIG.suggestions]] == best
        assert measured[0] < 400, "only the candidates that can still matter are measured"
