"""The demo's dispatch: every demo surveyor gets a profile at their city branch, available, with a number to be told
on, and three vendors serve the three provinces, once; a demo surveyor is suggested for a survey in their city."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import Session, col, select

from crm_store.db import make_engine
from crm_store.dispatch.tables import SurveyorProfile, Vendor
from crm_store.migrate import upgrade
from crm_store.org.tables import OrgUnit, Role, Staff
from demo_seed.dispatch_demo import seed_dispatch
from demo_seed.seed import seed_demo

SECRET = "unit-test-secret-key-0123456789abcdef"


def test_every_demo_surveyor_gets_a_profile_and_the_vendors_serve_the_provinces(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        seed_demo(engine, secret_key=SECRET, customers=2, as_of=date(2026, 11, 25))
        with Session(engine) as session:
            surveyors = session.exec(select(Staff.id).where(col(Staff.role) == Role.SURVEYOR.value)).all()
        assert len(surveyors) >= 8
        assert seed_dispatch(engine) == len(surveyors)
        assert seed_dispatch(engine) == 0  # once
        with Session(engine) as session:
            profiles = session.exec(select(SurveyorProfile)).all()
            assert {p.status for p in profiles} == {"available"} and all(p.phone and p.lat for p in profiles)
            assert sum(p.province_unit_id is None for p in profiles) == 1  # the head office's surveyor
            provinces = {u.id: u.code for u in session.exec(select(OrgUnit).where(col(OrgUnit.level) == 1)).all()}
            vendors = session.exec(select(Vendor)).all()
            assert sorted(provinces[u] for v in vendors for u in v.service_unit_ids) == ["BUSAN", "GYEONGGI", "SEOUL"]
            assert all("tow" in v.services for v in vendors)
    finally:
        engine.dispose()
