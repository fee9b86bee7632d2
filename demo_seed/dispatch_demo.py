"""The demo's dispatch: every demo surveyor gets a profile (their city branch's place, skills auto and property,
available around the clock, a demo mobile number for the text messages) and three tow and rescue vendors serve the
three provinces, so that `bash scripts/run` shows a board with people on the map. Profiles and vendors already there
are left as they are."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crm_store.dispatch.tables import SurveyorProfile, Vendor
from crm_store.org.tables import OrgUnit, Role, Staff
from crm_store.types import utcnow
from crm_store.upsert import insert_ignoring_conflict

# Where each demo city branch is (WGS 84): its surveyors start there.
CITY_PLACES: dict[str, tuple[float, float]] = {
    "SEOUL-GANGNAM": (37.4979, 127.0276),
    "SEOUL-GANGBUK": (37.6396, 127.0257),
    "SEOUL-SEOBU": (37.5663, 126.9019),
    "GYEONGGI-SUWON": (37.2636, 127.0286),
    "GYEONGGI-SEONGNAM": (37.4200, 127.1265),
    "GYEONGGI-GOYANG": (37.6584, 126.8320),
    "BUSAN-DONGBU": (35.1631, 129.1635),
    "BUSAN-CHANGWON": (35.2280, 128.6811),
}
# name, phone, services, provinces served, place
VENDORS = (
    ("서울긴급견인", "+821070001001", ["tow", "battery", "tyre"], ["SEOUL"], (37.5172, 127.0473)),
    ("경기로드서비스", "+821070001002", ["tow", "battery", "fuel", "lockout"], ["GYEONGGI"], (37.3943, 127.1107)),
    ("부산경남출동", "+821070001003", ["tow", "battery", "tyre", "fuel"], ["BUSAN"], (35.1796, 129.0756)),
)


def seed_dispatch(engine: Engine) -> int:
    """Profiles for the demo surveyors without one and the demo vendors (once); how many profiles were made."""
    now = utcnow()
    with Session(engine) as session:
        units = {u.code: u for u in session.exec(select(OrgUnit)).all()}
        by_id = {u.id: u for u in units.values()}
        surveyors = session.exec(
            select(Staff.id, Staff.org_unit_id).where(col(Staff.role) == Role.SURVEYOR.value, col(Staff.active))
        ).all()
        before = session.scalar(select(func.count()).select_from(SurveyorProfile)) or 0
        for n, (staff_id, unit_id) in enumerate(surveyors):
            unit = by_id[unit_id]
            path = [by_id[int(i)] for i in unit.path.strip("/").split("/") if int(i) in by_id]
            province = next((u for u in path if u.level == 1), None)
            city = next((u for u in reversed(path) if u.code in CITY_PLACES), None)
            lat, lon = CITY_PLACES[city.code] if city is not None else (37.5665, 126.9780)
            profile = {
                "staff_id": staff_id, "home_unit_id": unit_id,
                "province_unit_id": province.id if province is not None else None,
                "skills": ["auto", "property"], "shift": "24h", "status": "available", "capacity": 1,
                "lat": lat + 0.004 * (n % 5), "lon": lon + 0.004 * (n % 3), "position_at": now,
                "phone": f"+8210700020{n:02d}", "updated_at": now,
            }  # fmt: skip
            session.exec(insert_ignoring_conflict(engine.dialect.name, SurveyorProfile, profile))  # type: ignore[call-overload]
        for name, phone, services, provinces, (lat, lon) in VENDORS:
            if session.exec(select(Vendor.id).where(col(Vendor.name) == name)).first() is None:
                served = [int(units[code].id or 0) for code in provinces if code in units]
                session.add(Vendor(name=name, phone=phone, services=services, service_unit_ids=served, lat=lat,
                                   lon=lon, position_at=now))  # fmt: skip
        after = session.scalar(select(func.count()).select_from(SurveyorProfile)) or 0
        session.commit()
    return int(after - before)
