"""The promise a request carries: 30 minutes in a city and 60 in a county by default, 20 and 40 for customers
entitled to the fast on-site survey (quality customers with an auto policy in force), and its due time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import AuditEntry
from crm_store.dispatch.config import DispatchConfig
from crm_store.dispatch.errors import InvalidDispatch
from crm_store.dispatch.promises import promise_for
from crm_store.dispatch.requests import open_dispatch_request
from crm_store.dispatch.wire import DispatchCreate
from crm_store.errors import CustomerNotFound
from tests.dispatch_helpers import CONFIG, GAPYEONG_SCENE, RULES, World, kst, survey_at

NOW = kst()


def test_the_configured_limits_by_kind_region_and_entitlement() -> None:
    assert promise_for(CONFIG, kind="survey", region="city", services=set()).minutes == 30
    assert promise_for(CONFIG, kind="survey", region="county", services=set()).minutes == 60
    fast = promise_for(CONFIG, kind="survey", region="city", services={"fast_survey"})
    assert (fast.minutes, fast.reason) == (20, "현장 조사 시 지역 20분 (우대 고객)")
    assert promise_for(CONFIG, kind="survey", region="county", services={"fast_survey"}).minutes == 40
    # Roadside rescue follows its own entitlement, not the survey's.
    assert promise_for(CONFIG, kind="rescue", region="city", services={"fast_survey"}).minutes == 30
    assert promise_for(CONFIG, kind="rescue", region="city", services={"roadside_rescue"}).minutes == 20


def test_a_fast_promise_slower_than_the_normal_one_is_refused() -> None:
    raw = CONFIG.model_dump()
    raw["fast"]["survey"]["city"] = 45
    with pytest.raises(ValidationError, match="must not be slower"):
        DispatchConfig.model_validate(raw)


@pytest.mark.parametrize(
    ("segment", "minutes"),
    [("quality", 20), ("ordinary", 30), ("key", 30), ("lapsed", 30)],
)
async def test_the_customer_segment_decides_the_promise_in_the_city(
    world: World, sessions: async_sessionmaker[AsyncSession], segment: str, minutes: int
) -> None:
    # "lapsed": a quality customer whose only auto policy ended; no auto line in force, no fast survey.
    async with sessions() as session:
        request = await open_dispatch_request(
            session,
            world.viewer("disp.gangnam"),
            survey_at(customer_id=world.customers[segment]),
            config=CONFIG,
            rules=RULES,
            now=NOW,
        )
        await session.commit()
    assert (request.state, request.region, request.promise_minutes) == ("open", "city", minutes)
    assert request.due_at == NOW + timedelta(minutes=minutes)
    assert request.province_unit_id == world.units["SEOUL"]


async def test_a_county_scene_gets_the_county_promise_and_is_audited(
    world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        request = await open_dispatch_request(
            session,
            world.viewer("disp.gangnam"),
            survey_at(GAPYEONG_SCENE, unit=world.units["GAPYEONG"], customer_id=world.customers["quality"]),
            config=CONFIG,
            rules=RULES,
            now=NOW,
        )
        await session.commit()
        entry = (await session.get(AuditEntry, 1)) or None
    assert (request.region, request.promise_minutes, request.province_unit_id) == (
        "county",
        40,
        world.units["GYEONGGI"],
    )
    assert entry is not None and entry.action == "dispatch_opened" and entry.target == f"dispatch:{request.id}"
    assert entry.username == "disp.gangnam" and entry.customer_id == world.customers["quality"]


async def test_without_customer_or_unit_the_callers_unit_places_it_else_it_is_refused(
    world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    actor = world.viewer("disp.gangnam")
    async with sessions() as session:
        with pytest.raises(InvalidDispatch):
            await open_dispatch_request(session, actor, survey_at(), config=CONFIG, rules=RULES, now=NOW)
        with pytest.raises(CustomerNotFound):
            await open_dispatch_request(
                session, actor, survey_at(customer_id=9999), config=CONFIG, rules=RULES, now=NOW
            )
        request = await open_dispatch_request(
            session, actor, survey_at(), config=CONFIG, rules=RULES, unit_id=world.units["GANGNAM"], now=NOW
        )
    assert (request.org_unit_id, request.promise_minutes) == (world.units["GANGNAM"], 30)


def test_a_rescue_names_its_kind_and_places_are_in_korea() -> None:
    place = {"lat": 37.5, "lon": 127.0}
    with pytest.raises(ValidationError, match="rescue_kind"):
        DispatchCreate.model_validate({"kind": "rescue", "location": place})
    with pytest.raises(ValidationError, match="rescue_kind"):
        DispatchCreate.model_validate({"kind": "tow", "rescue_kind": "battery", "location": place})
    with pytest.raises(ValidationError):
        DispatchCreate.model_validate({"kind": "survey", "location": {"lat": 51.5, "lon": -0.1}})
    assert (
        DispatchCreate.model_validate({"kind": "rescue", "rescue_kind": "tyre", "location": place}).rescue_kind
        == "tyre"
    )
