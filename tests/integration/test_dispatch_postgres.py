"""Dispatch on PostgreSQL: the migration goes down and up again with its indexes; two dispatchers assigning at
the same moment never give one request twice nor a surveyor more than their capacity (the second waits on the row
lock, then is refused); the periodic duties run on it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.db import async_session_factory, make_async_engine, make_engine
from crm_store.dispatch.assignment import assign
from crm_store.dispatch.duties import escalate_late, return_unaccepted
from crm_store.dispatch.errors import NotAvailable, WrongState
from crm_store.dispatch.requests import open_dispatch_request
from crm_store.dispatch.tables import DispatchAssignment, DispatchRequest
from crm_store.migrate import alembic_config
from tests.dispatch_helpers import CONFIG, RULES, YEOKSAM, World, add_surveyor, build_world, kst, survey_at

pytestmark = pytest.mark.integration
NOW = kst()
TABLES = {"dispatch_request", "dispatch_assignment", "dispatch_surveyor", "dispatch_vendor"}


def test_the_migration_down_and_up_with_its_indexes(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        assert TABLES <= set(inspect(engine).get_table_names())  # at head, whatever came after dispatch
        command.downgrade(alembic_config(postgres_url), "0010_complaints")
        assert not TABLES & set(inspect(engine).get_table_names())
        command.upgrade(alembic_config(postgres_url), "head")
        assert TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            live = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ux_dispatch_assignment_live'")
            ).scalar_one()
        assert "UNIQUE" in live and "WHERE (ended_at IS NULL)" in live
    finally:
        engine.dispose()


async def _waiting_on_a_lock(session: Any) -> bool:
    waiting = await session.exec(
        text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
    )
    return bool(waiting.scalar_one())


async def _race(factory: Any, first: Any, second: Any) -> Exception | None:
    """Run `first` in an open transaction, start `second` in another, wait until PostgreSQL shows it waiting on
    a lock, commit the first; the second's error (None if it succeeded)."""
    async with factory() as a, factory() as b, factory() as watcher:
        await first(a)
        rival = asyncio.create_task(second(b))
        for _ in range(200):
            if await _waiting_on_a_lock(watcher) or rival.done():
                break
            await asyncio.sleep(0.05)
        assert not rival.done(), "the second assignment must wait for the first dispatcher's transaction"
        await a.commit()
        try:
            await rival
        except (WrongState, NotAvailable) as err:
            await b.rollback()
            return err
        await b.commit()
        return None


async def _open(factory: Any, world: World) -> int:
    async with factory() as session:
        request = await open_dispatch_request(
            session, world.viewer("disp.gangnam"), survey_at(), config=CONFIG, rules=RULES,
            unit_id=world.units["GANGNAM"], now=NOW,
        )  # fmt: skip
        await session.commit()
        return int(request.id or 0)


def _assigning(world: World, request_id: int, username: str) -> Any:
    async def run(session: AsyncSession) -> None:
        await assign(session, world.viewer("disp.gangnam"), request_id, username=username, config=CONFIG, now=NOW)

    return run


async def test_two_dispatchers_at_once_never_assign_twice_or_beyond_capacity(postgres_url: str) -> None:
    sync = make_engine(postgres_url)
    world = build_world(sync)
    kim = add_surveyor(sync, world, "kim", at=YEOKSAM)
    add_surveyor(sync, world, "lee", at=YEOKSAM)
    engine = make_async_engine(postgres_url, pool_size=4)
    factory = async_session_factory(engine)
    try:
        first, second = await _open(factory, world), await _open(factory, world)
        # One request, two surveyors: the second dispatcher finds it already assigned.
        refused = await _race(factory, _assigning(world, first, "kim"), _assigning(world, first, "lee"))
        assert isinstance(refused, WrongState)
        # One surveyor of capacity 1, two requests: the second dispatcher finds the surveyor busy.
        third = await _open(factory, world)
        refused = await _race(factory, _assigning(world, second, "lee"), _assigning(world, third, "lee"))
        assert isinstance(refused, NotAvailable)
        with Session(sync) as session:
            live = session.exec(select(DispatchAssignment).where(col(DispatchAssignment.ended_at).is_(None))).all()
            assert sorted((a.request_id, a.surveyor_id) for a in live) == sorted(
                [(first, kim), (second, world.staff["lee"].id)]
            )
            states = {r.id: r.state for r in session.exec(select(DispatchRequest)).all()}
        assert states == {first: "assigned", second: "assigned", third: "open"}
        # The duties on PostgreSQL: both assignments expire, every request is late after its 30 minutes.
        with Session(sync) as session:
            assert sorted(return_unaccepted(session, now=NOW + timedelta(minutes=6))) == [first, second]
            session.commit()
        with Session(sync) as session:
            late = escalate_late(session, now=NOW + timedelta(minutes=31))
            session.commit()
        assert sorted(e.request_id for e in late) == [first, second, third]
        assert {e.manager for e in late} == {"cm.seoul"}
    finally:
        await engine.dispose()
        sync.dispose()
