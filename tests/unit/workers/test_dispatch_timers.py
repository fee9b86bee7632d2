"""The dispatch timers as a worker job, enqueued by the periodic duties on a fixed clock: an unaccepted assignment
goes back to the board and a late request is escalated, once however often the duty runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from rq import Queue, SimpleWorker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.db import async_session_factory, make_async_engine
from crm_store.dispatch.assignment import assign
from crm_store.dispatch.requests import open_dispatch_request
from crm_store.dispatch.tables import DispatchRequest
from tests.dispatch_helpers import CONFIG, RULES, YEOKSAM, add_surveyor, build_world, kst, survey_at
from tests.fake_clock import FakeClock
from workers.dispatch_channel import board_channel
from workers.periodic import PeriodicDuties, dispatch_timers_duty
from workers.queueing import QUEUE_DEFAULT
from workers.settings import Settings


def _run_slot(context: Any, clock: FakeClock) -> Any:
    """Enqueue the duty's job of the clock's slot, run it, and give its result."""
    [job_id] = PeriodicDuties(context.redis, [dispatch_timers_duty(60)], clock=clock).run_due()
    queue = Queue(QUEUE_DEFAULT, connection=context.redis)
    SimpleWorker([queue], connection=context.redis).work(burst=True)
    job = queue.fetch_job(job_id)
    assert job is not None and job.get_status() == "finished"
    return job.return_value()


async def test_the_duty_returns_unaccepted_and_escalates_late_requests(context: Any, settings: Settings) -> None:
    world = build_world(context.engine)
    add_surveyor(context.engine, world, "kim", at=YEOKSAM)
    engine = make_async_engine(settings.sync_db_url)
    sessions: async_sessionmaker[AsyncSession] = async_session_factory(engine)
    async with sessions() as session:
        actor = world.viewer("disp.gangnam")
        request = await open_dispatch_request(session, actor, survey_at(), config=CONFIG, rules=RULES,
                                              unit_id=world.units["GANGNAM"], now=kst())  # fmt: skip
        await session.flush()
        await assign(session, actor, int(request.id or 0), username="kim", config=CONFIG, now=kst())
        await session.commit()
    await engine.dispose()
    boards = context.redis.pubsub()
    boards.subscribe(board_channel(context.redis))
    clock = FakeClock(kst() + timedelta(minutes=31))
    none = {"sent": 0, "retry": 0, "failed": 0}
    assert _run_slot(context, clock) == {
        "returned": [request.id],
        "escalated": [[request.id, "cm.seoul"]],
        "messages": none,
    }
    # The open boards are told, with the request's unit (the Gangnam branch, under Seoul).
    frames = [m for m in iter(lambda: boards.get_message(timeout=0.2), None) if m["type"] == "message"]
    [frame] = [orjson.loads(m["data"]) for m in frames]
    assert (frame["id"], frame["state"]) == (request.id, "open")
    assert frame["unit_path"].endswith(f"/{world.units['GANGNAM']}/")
    boards.close()
    clock.now += timedelta(minutes=1)
    # The next slot finds nothing left to do.
    assert _run_slot(context, clock) == {"returned": [], "escalated": [], "messages": none}
    with Session(context.engine) as session:
        stored = session.get(DispatchRequest, request.id)
        assert stored is not None and (stored.state, stored.late_at) == ("open", kst() + timedelta(minutes=31))
