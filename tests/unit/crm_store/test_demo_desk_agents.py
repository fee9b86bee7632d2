"""The demo's agents get a desk: an endpoint each and the skills of every queue, once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import Session, col, select, update

from crm_store.db import make_engine
from crm_store.desk.agent_tables import DeskAgent
from crm_store.desk.seed import seed_desk
from crm_store.migrate import upgrade
from crm_store.org.tables import Role, Staff
from demo_seed.desk_agents import seed_desk_agents
from demo_seed.seed import seed_demo

SECRET = "unit-test-secret-key-0123456789abcdef"


def test_every_demo_agent_gets_an_endpoint_and_the_queues_skills(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        seed_demo(engine, secret_key=SECRET, customers=2, as_of=date(2026, 11, 25))
        seed_desk(engine)
        with Session(engine) as session:
            agents = dict(
                session.exec(select(Staff.id, Staff.username).where(col(Staff.role) == Role.AGENT.value)).all()
            )
        assert len(agents) > 10
        assert seed_desk_agents(engine) == len(agents)
        with Session(engine) as session:
            profiles = session.exec(select(DeskAgent)).all()
            assert {p.staff_id: p.endpoint for p in profiles} == {i: f"client:{name}" for i, name in agents.items()}
            assert {tuple(p.skills) for p in profiles} == {("accident", "change", "complaint", "consult")}
            assert {p.state for p in profiles} == {"offline"}
            session.exec(update(DeskAgent).values(skills=["accident"]))  # type: ignore[call-overload]
            session.commit()
        # Once: a later run leaves the profiles (and what was changed in them) as they are.
        assert seed_desk_agents(engine) == 0
        with Session(engine) as session:
            assert {tuple(p.skills) for p in session.exec(select(DeskAgent)).all()} == {("accident",)}
    finally:
        engine.dispose()
