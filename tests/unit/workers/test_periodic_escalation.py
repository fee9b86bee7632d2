"""Scheduled escalation: workers enqueue one escalation job per time slot (fake clock), the job moves review items
nobody took within their queue's limit to the upper-level center, once; both worker kinds and the embedded mode
carry the duty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rq import Queue
from sqlmodel import Session, select

from crm_store.calls.tables import Call
from crm_store.customers.tables import Customer
from crm_store.db import session_scope
from crm_store.review.routing import route_call
from crm_store.review.tables import ReviewEvent, ReviewItem
from tests.fake_clock import FakeClock
from tests.review_helpers import World, build_world, call_sid
from workers.context import install
from workers.periodic import PeriodicDuties, escalation_duty
from workers.queueing import ALL_QUEUES, QUEUE_DEFAULT
from workers.runner import DutySimpleWorker, DutyWorker, EmbeddedWorker, ThreadWorker
from workers.settings import Settings

T0 = datetime(2026, 11, 25, 9, 0, 30, tzinfo=UTC)
SLOT0 = int(datetime(2026, 11, 25, 9, 0, tzinfo=UTC).timestamp())  # T0's minute
COUNTY_LIMIT = timedelta(minutes=120)


@pytest.fixture
def world(context: Any) -> World:
    return build_world(context.engine)


def _routed_item(context: Any, world: World) -> int:
    sid = call_sid()
    with session_scope(context.engine) as session:
        customer = Customer(kind="individual", name="이고객", org_unit_id=world.units["SEOUL-GANGNAM-SEOCHO"])
        session.add(customer)
        session.flush()
        session.add(Call(call_sid=sid, customer_id=customer.id, type="inquiry", topic="inquiry.coverage",
                         urgency="normal"))  # fmt: skip
        session.flush()
        item_id = route_call(session, sid, now=T0)
    assert item_id is not None
    return item_id


def _item(context: Any, item_id: int) -> ReviewItem:
    with Session(context.engine) as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        return item


def _duties(context: Any, clock: FakeClock) -> PeriodicDuties:
    return PeriodicDuties(context.redis, [escalation_duty(60)], clock=clock)


def _work(context: Any, duties: PeriodicDuties) -> None:
    """One burst of a worker carrying the duties: its first maintenance pass enqueues, then it works the queue."""
    worker = DutySimpleWorker([Queue(name, connection=context.redis) for name in ALL_QUEUES], connection=context.redis)
    worker.duties = duties
    worker.work(burst=True)


def test_one_job_per_slot_whichever_worker_looks(context: Any) -> None:
    clock = FakeClock(T0)
    first, second = _duties(context, clock), _duties(context, clock)
    assert first.run_due() == [f"escalate-reviews-{SLOT0}"]
    assert second.run_due() == []  # the same slot: already enqueued by the other worker
    clock.now = T0 + timedelta(seconds=20)
    assert first.run_due() == []  # not due again within its slot
    clock.now = T0 + timedelta(seconds=31)
    assert first.run_due() == [f"escalate-reviews-{SLOT0 + 60}"]
    queue = Queue(QUEUE_DEFAULT, connection=context.redis)
    assert queue.job_ids == [f"escalate-reviews-{SLOT0}", f"escalate-reviews-{SLOT0 + 60}"]
    job = queue.fetch_job(f"escalate-reviews-{SLOT0 + 60}")
    assert job is not None and job.args == ((T0 + timedelta(seconds=31)).isoformat(),)


def test_untaken_items_escalate_on_schedule_once(context: Any, world: World) -> None:
    item_id = _routed_item(context, world)
    clock = FakeClock(T0 + COUNTY_LIMIT - timedelta(minutes=1))
    duties = _duties(context, clock)
    _work(context, duties)
    assert _item(context, item_id).org_unit_id == world.units["SEOUL-GANGNAM-SEOCHO"]  # not late yet

    clock.now = T0 + COUNTY_LIMIT + timedelta(minutes=1)
    _work(context, duties)
    item = _item(context, item_id)
    assert (item.org_unit_id, item.escalations) == (world.units["SEOUL-GANGNAM"], 1)
    assert item.due_at == clock.now + timedelta(minutes=240)  # the city center's limit starts now

    # Another worker in the same slot, and the next slots before the city's limit: nothing more moves.
    _work(context, _duties(context, clock))
    clock.now += timedelta(minutes=5)
    _work(context, duties)
    item = _item(context, item_id)
    assert (item.org_unit_id, item.escalations) == (world.units["SEOUL-GANGNAM"], 1)
    with Session(context.engine) as session:
        events = session.exec(select(ReviewEvent.action).where(ReviewEvent.item_id == item_id)).all()
    assert list(events) == ["routed", "escalated"]

    # Past the city center's limit it climbs to the province.
    clock.now += timedelta(minutes=240)
    _work(context, duties)
    assert _item(context, item_id).org_unit_id == world.units["SEOUL"]


def test_a_taken_item_stays_with_its_operator(context: Any, world: World) -> None:
    item_id = _routed_item(context, world)
    with session_scope(context.engine) as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        item.state, item.taken_by_id = "taken", world.staff["operator.seocho"]["id"]
    _work(context, _duties(context, FakeClock(T0 + 3 * COUNTY_LIMIT)))
    assert _item(context, item_id).org_unit_id == world.units["SEOUL-GANGNAM-SEOCHO"]


def test_every_worker_kind_carries_the_duty(sqlite_settings: Settings, context: Any) -> None:
    for worker_class in (DutyWorker, DutySimpleWorker, ThreadWorker):
        assert hasattr(worker_class, "duties") and "run_maintenance_tasks" in dir(worker_class)
    embedded = EmbeddedWorker(sqlite_settings, context.redis)
    try:
        assert isinstance(embedded._worker.duties, PeriodicDuties)
        assert embedded._worker.maintenance_interval == sqlite_settings.worker_maintenance_interval
    finally:
        embedded.context.close()
        install(context)
