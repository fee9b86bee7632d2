"""The demo organisation: head office, provinces, city centers and county branches, and staff of every role at every
level (usernames role.province[.branch][.n]).

`OrganisationSeeding` is the part of a seeding run that creates them, inside its transaction.
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import col

from crm_store.org.tables import OrgLevel, OrgUnit, Role, Staff
from demo_seed.people import HEAD_OFFICE_CODE, korean_person_name

# -- the organisation ------------------------------------------------------------------------------
# province slug, name; city slug, name, landline area code; county slug, name
_ORG_TREE: tuple[tuple[str, str, tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...]], ...] = (
    (
        "seoul",
        "서울지역본부",
        (
            ("gangnam", "서울강남지점", "02", (("seocho", "서초구지점"), ("songpa", "송파구지점"))),
            ("gangbuk", "서울강북지점", "02", (("jongno", "종로구지점"), ("nowon", "노원구지점"))),
            ("seobu", "서울서부지점", "02", (("mapo", "마포구지점"), ("gangseo", "강서구지점"))),
        ),
    ),
    (
        "gyeonggi",
        "경기지역본부",
        (
            ("suwon", "수원시지점", "031", (("paldal", "팔달구지점"), ("yeongtong", "영통구지점"))),
            ("seongnam", "성남시지점", "031", (("bundang", "분당구지점"), ("sujeong", "수정구지점"))),
            ("goyang", "고양시지점", "031", (("ilsan", "일산동구지점"), ("gapyeong", "가평군지점"))),
        ),
    ),
    (
        "busan",
        "부산경남지역본부",
        (
            ("dongbu", "부산동부지점", "051", (("haeundae", "해운대구지점"), ("gijang", "기장군지점"))),
            ("changwon", "창원시지점", "055", (("seongsan", "성산구지점"), ("haman", "함안군지점"))),
        ),
    ),
)

# (role, how many) at each unit of a level; the administrator is added to the head office apart.
_STAFF_PLAN: dict[OrgLevel, tuple[tuple[Role, int], ...]] = {
    OrgLevel.HEAD_OFFICE: ((Role.EXECUTIVE, 2), (Role.CENTER_MANAGER, 1), (Role.OPERATOR, 2), (Role.AGENT, 3)),
    OrgLevel.PROVINCE: ((Role.EXECUTIVE, 1), (Role.CENTER_MANAGER, 1), (Role.OPERATOR, 1), (Role.AGENT, 2)),
    OrgLevel.CITY: (
        (Role.CENTER_MANAGER, 1),
        (Role.OPERATOR, 1),
        (Role.AGENT, 3),
        (Role.DISPATCHER, 1),
        (Role.ACCOUNT_MANAGER, 2),
        (Role.SURVEYOR, 2),
    ),
    OrgLevel.COUNTY: (
        (Role.CENTER_MANAGER, 1),
        (Role.OPERATOR, 1),
        (Role.AGENT, 2),
        (Role.ACCOUNT_MANAGER, 2),
        (Role.SURVEYOR, 1),
    ),
}
# The roles the plan above leaves out at a level, added after it (their own random draws, so that the customers and
# the staff of the plan above stay what they were): with them every role is at every level of every province.
_MORE_ROLES: dict[OrgLevel, tuple[Role, ...]] = {
    OrgLevel.HEAD_OFFICE: (Role.ACCOUNT_MANAGER, Role.DISPATCHER, Role.SURVEYOR),
    OrgLevel.PROVINCE: (Role.ACCOUNT_MANAGER, Role.DISPATCHER, Role.SURVEYOR, Role.ADMIN),
    OrgLevel.CITY: (Role.EXECUTIVE, Role.ADMIN),
    OrgLevel.COUNTY: (Role.EXECUTIVE, Role.DISPATCHER, Role.ADMIN),
}
_USERNAME_PREFIX = {
    Role.AGENT: "agent",
    Role.OPERATOR: "op",
    Role.CENTER_MANAGER: "cm",
    Role.ACCOUNT_MANAGER: "am",
    Role.DISPATCHER: "disp",
    Role.SURVEYOR: "surv",
    Role.EXECUTIVE: "exec",
    Role.ADMIN: "admin",
}
_BASE_CLEARANCE = {
    Role.AGENT: 1,
    Role.SURVEYOR: 1,
    Role.DISPATCHER: 2,
    Role.ACCOUNT_MANAGER: 2,
    Role.OPERATOR: 2,
    Role.CENTER_MANAGER: 3,
    Role.EXECUTIVE: 4,
    Role.ADMIN: 5,
}


class OrganisationSeeding:
    """Creates the org tree and the staff; the seeding run provides the connection, the draws and the password hash."""

    conn: Connection
    rng: random.Random
    staff_rng: random.Random
    password_hash: str
    units: dict[str, tuple[int, OrgLevel, str]]  # code -> id, level, area code
    slugs: dict[int, str]  # unit id -> "seoul.gangnam"
    center_managers: dict[int, int]  # unit id -> staff id

    def _unit(self, code: str, name: str, level: OrgLevel, parent: int | None, slug: str, area: str) -> int:
        parent_path = (
            "/" if parent is None else self.conn.scalar(select(col(OrgUnit.path)).where(col(OrgUnit.id) == parent))
        )
        unit_id = self.conn.scalar(
            insert(OrgUnit)
            .values(code=code, name=name, level=int(level), parent_id=parent, path="/")
            .returning(col(OrgUnit.id))
        )
        assert unit_id is not None and parent_path is not None
        self.conn.execute(update(OrgUnit).where(col(OrgUnit.id) == unit_id).values(path=f"{parent_path}{unit_id}/"))
        self.units[code] = (unit_id, level, area)
        self.slugs[unit_id] = slug
        return unit_id

    def _org_tree(self) -> None:
        head = self._unit(HEAD_OFFICE_CODE, "본사", OrgLevel.HEAD_OFFICE, None, "hq", "02")
        for province, province_name, cities in _ORG_TREE:
            p = self._unit(province.upper(), province_name, OrgLevel.PROVINCE, head, province, cities[0][2])
            for city, city_name, area, counties in cities:
                code = f"{province}-{city}".upper()
                c = self._unit(code, city_name, OrgLevel.CITY, p, f"{province}.{city}", area)
                for county, county_name in counties:
                    self._unit(
                        f"{code}-{county}".upper(), county_name, OrgLevel.COUNTY, c, f"{province}.{county}", area
                    )

    def _staff(self) -> None:
        rows: list[dict[str, Any]] = []
        head_id = self.units[HEAD_OFFICE_CODE][0]
        rows.append(self._staff_row("admin", Role.ADMIN, head_id, OrgLevel.HEAD_OFFICE))
        for unit_id, level, _area in self.units.values():
            for role, how_many in _STAFF_PLAN[level]:
                for n in range(1, how_many + 1):
                    suffix = f".{n}" if how_many > 1 else ""
                    username = f"{_USERNAME_PREFIX[role]}.{self.slugs[unit_id]}{suffix}"
                    rows.append(self._staff_row(username, role, unit_id, level))
        for unit_id, level, _area in self.units.values():
            for role in _MORE_ROLES[level]:
                username = f"{_USERNAME_PREFIX[role]}.{self.slugs[unit_id]}"
                rows.append(self._staff_row(username, role, unit_id, level, rng=self.staff_rng))
        ids = self.conn.scalars(insert(Staff).returning(col(Staff.id), sort_by_parameter_order=True), rows).all()
        for row, staff_id in zip(rows, ids, strict=True):
            if row["role"] == Role.CENTER_MANAGER.value and staff_id is not None:
                self.center_managers[row["org_unit_id"]] = staff_id

    def _staff_row(
        self, username: str, role: Role, unit_id: int, level: OrgLevel, *, rng: random.Random | None = None
    ) -> dict[str, Any]:
        rng = rng or self.rng
        senior = level == OrgLevel.HEAD_OFFICE or (
            level == OrgLevel.PROVINCE and role in (Role.OPERATOR, Role.CENTER_MANAGER)
        )
        born = rng.randint(1962, 1999)
        return {
            "username": username,
            "full_name": korean_person_name(rng, born=born, male=rng.random() < 0.5),
            "role": role.value,
            "org_unit_id": unit_id,
            "clearance": min(5, _BASE_CLEARANCE[role] + int(senior)),
            "password_hash": self.password_hash,
            "active": True,
        }
