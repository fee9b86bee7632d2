"""Two operators of one queue take the same item at the same moment on PostgreSQL: exactly one gets it.

The second take is held by PostgreSQL's row lock while the first operator's transaction is still open (the test
waits until the database shows it waiting), then finds the item taken and answers Conflict; one `taken` event.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from crm_store.calls.tables import Call
from crm_store.customers.tables import Customer
from crm_store.db import async_session_factory, make_async_engine, make_engine, session_scope
from crm_store.org.scope import Viewer
from crm_store.org.tables import Role, Staff
from crm_store.review.queue import take_item
from crm_store.review.routing import route_call
from crm_store.review.tables import ReviewEvent, ReviewItem
from crm_store.validation import Conflict
from tests.review_helpers import build_world, call_sid

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _item_and_two_operators(url: str) -> tuple[int, Viewer, Viewer]:
    engine = make_engine(url)
    world = build_world(engine)
    seocho = world.units["SEOUL-GANGNAM-SEOCHO"]
    sid = call_sid()
    with session_scope(engine) as session:
        customer = Customer(kind="individual", name="이고객", org_unit_id=seocho)
        second = Staff(username="operator2.seocho", full_name="김둘째", role=Role.OPERATOR.value,
                       org_unit_id=seocho, clearance=2)  # fmt: skip
        session.add_all([customer, second])
        session.flush()
        session.add(Call(call_sid=sid, customer_id=customer.id, type="inquiry", topic="inquiry.coverage"))
        session.flush()
        route_call(session, sid, now=NOW)
    with session_scope(engine) as session:
        item = session.exec(select(ReviewItem).where(ReviewItem.call_sid == sid)).one()
        first = session.exec(select(Staff).where(Staff.username == "operator.seocho")).one()
        second = session.exec(select(Staff).where(Staff.username == "operator2.seocho")).one()
        viewers = Viewer.of(first), Viewer.of(second)
    engine.dispose()
    assert item.org_unit_id == seocho
    return int(item.id), *viewers  # type: ignore[arg-type, return-value]


async def _waiting_on_a_lock(session: Any) -> bool:
    waiting = await session.exec(
        text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
    )
    return bool(waiting.scalar_one())


async def test_two_operators_taking_one_item_at_once_only_one_gets_it(postgres_url: str) -> None:
    item_id, first, second = _item_and_two_operators(postgres_url)
    engine = make_async_engine(postgres_url, pool_size=4)
    factory = async_session_factory(engine)
    try:
        async with factory() as a, factory() as b, factory() as watcher:
            taken = await take_item(a, first, item_id, now=NOW)  # first operator's transaction stays open
            assert taken.taken_by_id == first.staff_id
            rival = asyncio.create_task(take_item(b, second, item_id, now=NOW))
            for _ in range(200):  # until PostgreSQL shows the second take waiting for the row
                if await _waiting_on_a_lock(watcher) or rival.done():
                    break
                await asyncio.sleep(0.05)
            assert not rival.done(), "the second take must wait for the first operator's transaction"
            await a.commit()
            with pytest.raises(Conflict):
                await rival
            await b.rollback()
        async with factory() as check:
            item = (await check.exec(select(ReviewItem).where(ReviewItem.id == item_id))).one()
            assert (item.state, item.taken_by_id) == ("taken", first.staff_id)
            events = (await check.exec(select(ReviewEvent).where(ReviewEvent.item_id == item_id))).all()
            assert [(e.action, e.staff_id) for e in events if e.action == "taken"] == [("taken", first.staff_id)]
    finally:
        await engine.dispose()
