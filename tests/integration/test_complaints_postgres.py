"""Complaints on PostgreSQL: numbers from many openings at once are unique and gapless per year, a repeat opened
from several doors at once makes one complaint, and the migration's indexes and append-only dossier are in place."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, col, select

from crm_store.complaints.store import Opened, open_complaint
from crm_store.complaints.tables import Complaint, ComplaintStep
from crm_store.db import make_engine, session_scope
from crm_store.migrate import alembic_config, current_revision
from crm_store.org.scope import CommandLine
from tests.complaint_helpers import RECEIVED, add_customer, create
from tests.pg_helpers import plan_without_seqscan
from tests.review_helpers import World, build_world

pytestmark = pytest.mark.integration

NOW = RECEIVED + timedelta(minutes=1)
CLI = CommandLine(username="root")


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Any]:
    engine = make_engine(postgres_url, pool_size=10)
    yield engine
    engine.dispose()


def _at_once(jobs: list[Callable[[], Opened]]) -> list[Opened]:
    """Run the jobs in threads released together; every result (or the first error raised)."""
    barrier = threading.Barrier(len(jobs))
    results: list[Opened] = []
    errors: list[BaseException] = []

    def run(job: Callable[[], Opened]) -> None:
        barrier.wait()
        try:
            results.append(job())
        except BaseException as err:  # reported below, in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results


def _opening(engine: Any, customer_id: int, **fields: Any) -> Callable[[], Opened]:
    def job() -> Opened:
        with session_scope(engine) as session:
            return open_complaint(session, CLI, create(customer_id, **fields), now=NOW)

    return job


def test_numbers_opened_at_once_are_unique_and_without_gaps(engine: Any) -> None:
    world: World = build_world(engine)
    with session_scope(engine) as session:
        customers = [add_customer(session, world, "SEOUL-GANGNAM-SEOCHO", f"고객{n}") for n in range(8)]
    for _ in range(3):
        _at_once([_opening(engine, customer, topic=None) for customer in customers])
    with Session(engine) as session:
        numbers = session.exec(select(col(Complaint.number)).order_by(col(Complaint.sequence))).all()
    assert list(numbers) == [f"C-2026-{n:06d}" for n in range(1, 25)]


def test_a_repeat_from_several_doors_at_once_makes_one_complaint(engine: Any) -> None:
    world: World = build_world(engine)
    with session_scope(engine) as session:
        customer = add_customer(session, world, "SEOUL-GANGNAM-SEOCHO")
    results = _at_once([_opening(engine, customer) for _ in range(6)])
    assert len({r.complaint.id for r in results}) == 1
    assert sorted(r.repeat for r in results) == [False] + [True] * 5
    with Session(engine) as session:
        complaints = session.exec(select(Complaint)).all()
        assert len(complaints) == 1 and complaints[0].repeats == 5
        # The numbers of the doors that found it already open went back: the next complaint takes number 2.
        assert complaints[0].number == "C-2026-000001"
        actions = session.exec(select(col(ComplaintStep.action)).order_by(col(ComplaintStep.id))).all()
        assert sorted(actions) == ["receipt"] + ["repeat"] * 5
    _opening(engine, customer, topic="complaint.billing", category="maintenance")()
    with Session(engine) as session:
        assert session.exec(select(col(Complaint.number)).order_by(col(Complaint.id))).all()[-1] == "C-2026-000002"


def test_the_migration_brings_the_queue_indexes_and_the_append_only_dossier(engine: Any, postgres_url: str) -> None:
    revisions = ScriptDirectory.from_config(alembic_config(postgres_url))
    assert current_revision(postgres_url) == revisions.get_current_head()
    assert "0010_complaints" in {rev.revision for rev in revisions.walk_revisions()}
    world: World = build_world(engine)
    with session_scope(engine) as session:
        customer = add_customer(session, world, "SEOUL-GANGNAM-SEOCHO")
    _opening(engine, customer)()
    with Session(engine) as session:
        indexes = dict(
            session.exec(  # type: ignore[call-overload]
                text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'complaint'")
            ).all()
        )
        assert "(org_unit_id, state, resolve_by)" in indexes["ix_complaint_queue"]
        assert "UNIQUE" in indexes["ux_complaint_open_customer_topic"]
        assert "WHERE" in indexes["ux_complaint_open_customer_topic"]
        assert "WHERE" in indexes["ix_complaint_open_resolve_by"]
        plan = plan_without_seqscan(
            session, "SELECT * FROM complaint WHERE org_unit_id = 1 AND state = 'receipt' ORDER BY resolve_by LIMIT 50"
        )
        assert "ix_complaint_queue" in plan and "Sort" not in plan, plan
    for statement in ("UPDATE complaint_step SET username = 'x'", "DELETE FROM complaint_step"):
        with Session(engine) as session, pytest.raises(DatabaseError, match="append-only"):
            session.exec(text(statement))  # type: ignore[call-overload]
