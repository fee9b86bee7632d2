"""A small dispatch world for tests: an org tree with a city and a county area, a dispatcher, a center manager,
surveyors at fixed places in Seoul and Gyeonggi, customers of each segment, and sessions on it.

Places (WGS 84): Seolleung station (the Seoul scene), Yeoksam and Gangnam stations (near it), Gwanghwamun (across
town), Gapyeong (the county scene and a surveyor there), Chuncheon (Gangwon, the next province)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import Session

from crm_store.calendar import KST
from crm_store.customers.rules import load_rules
from crm_store.customers.tables import Customer, Policy
from crm_store.dispatch.config import load_config
from crm_store.dispatch.tables import SurveyorProfile
from crm_store.dispatch.wire import DispatchCreate
from crm_store.org.scope import Viewer
from crm_store.org.tables import OrgUnit, Role, Staff
from tests.store_helpers import add_unit, head_office

CONFIG = load_config()
RULES = load_rules()
# Monday 7 December 2026 (a business day) and Friday 25 December 2026 (Christmas, a public holiday).
BUSINESS_DAY = date(2026, 12, 7)
HOLIDAY = date(2026, 12, 25)

SEOLLEUNG = (37.5045, 127.0490)
YEOKSAM = (37.5006, 127.0364)
GANGNAM = (37.4979, 127.0276)
GWANGHWAMUN = (37.5759, 126.9769)
GAPYEONG_SCENE = (37.8315, 127.5105)
GAPYEONG = (37.8145, 127.5106)
CHUNCHEON = (37.8813, 127.7298)


def kst(day: date = BUSINESS_DAY, at: time = time(10)) -> datetime:
    """An aware moment in Korea, as UTC."""
    return datetime.combine(day, at, tzinfo=KST).astimezone(UTC)


@dataclass
class World:
    units: dict[str, int] = field(default_factory=dict)
    staff: dict[str, Staff] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)

    def viewer(self, username: str) -> Viewer:
        """The signed-in staff member as the store's actor."""
        return Viewer.of(self.staff[username])


def build_world(engine: Any) -> World:
    """The org tree, staff and customers; surveyors get profiles with `add_surveyor`."""
    world = World()
    with Session(engine, expire_on_commit=False) as session:
        hq = head_office(session)
        seoul = add_unit(session, "SEOUL", "서울지역본부", 1, hq)
        gangnam = add_unit(session, "GANGNAM", "강남지점", 2, seoul)
        gyeonggi = add_unit(session, "GYEONGGI", "경기지역본부", 1, hq)
        gapyeong = add_unit(session, "GAPYEONG", "가평군지점", 3, gyeonggi)
        gangwon = add_unit(session, "GANGWON", "강원지역본부", 1, hq)
        chuncheon = add_unit(session, "CHUNCHEON", "춘천지점", 2, gangwon)
        for unit in (hq, seoul, gangnam, gyeonggi, gapyeong, gangwon, chuncheon):
            world.units[unit.code] = int(unit.id or 0)
        people = [
            ("disp.gangnam", Role.DISPATCHER, gangnam),
            ("cm.seoul", Role.CENTER_MANAGER, seoul),
            ("cm.hq", Role.CENTER_MANAGER, hq),
            ("agent.gangnam", Role.AGENT, gangnam),
        ]
        for username, role, unit in people:
            staff = Staff(username=username, full_name=username, role=role.value, org_unit_id=unit.id)
            session.add(staff)
            world.staff[username] = staff
        for segment, line, end in (
            ("quality", "auto", date(2027, 6, 30)),
            ("ordinary", "auto", date(2027, 6, 30)),
            ("key", "auto", date(2027, 6, 30)),
            ("lapsed", "auto", date(2026, 6, 30)),
        ):
            customer = Customer(
                kind="corporate" if segment == "key" else "individual",
                name=f"{segment} 고객",
                org_unit_id=gangnam.id,
                segment="quality" if segment == "lapsed" else segment,
            )
            session.add(customer)
            session.flush()
            session.add(
                Policy(
                    customer_id=customer.id,
                    policy_number=f"AUTO-{segment}",
                    line=line,
                    premium=1_000_000,
                    start_date=date(2025, 7, 1),
                    end_date=end,
                )
            )
            world.customers[segment] = int(customer.id or 0)
        session.commit()
    return world


def add_surveyor(
    engine: Any,
    world: World,
    username: str,
    *,
    unit: str = "GANGNAM",
    at: tuple[float, float] | None = YEOKSAM,
    skills: tuple[str, ...] = ("auto",),
    status: str = "available",
    shift: Any = "24h",
    capacity: int = 1,
    position_at: datetime | None = None,
) -> int:
    """A staff member with role surveyor and a profile; the staff id."""
    with Session(engine, expire_on_commit=False) as session:
        unit_row = session.get(OrgUnit, world.units[unit])
        assert unit_row is not None
        province = next(
            (
                u
                for u in (session.get(OrgUnit, int(i)) for i in unit_row.path.strip("/").split("/"))
                if u and u.level == 1
            ),
            None,
        )
        staff = Staff(
            username=username, full_name=f"조사원 {username}", role=Role.SURVEYOR.value, org_unit_id=unit_row.id
        )
        session.add(staff)
        session.flush()
        session.add(
            SurveyorProfile(
                staff_id=staff.id,
                home_unit_id=unit_row.id,
                province_unit_id=province.id if province else None,
                skills=list(skills),
                shift=shift,
                status=status,
                capacity=capacity,
                lat=at[0] if at else None,
                lon=at[1] if at else None,
                position_at=position_at or kst(),
            )
        )
        session.commit()
        world.staff[username] = staff
        return int(staff.id or 0)


def survey_at(
    place: tuple[float, float] = SEOLLEUNG, *, unit: int | None = None, customer_id: int | None = None, **extra: Any
) -> DispatchCreate:
    """A survey request at a place."""
    return DispatchCreate.model_validate(
        {
            "kind": "survey",
            "location": {"lat": place[0], "lon": place[1], "address": "서울 강남구 선릉로"},
            "org_unit_id": unit,
            "customer_id": customer_id,
            **extra,
        }
    )
