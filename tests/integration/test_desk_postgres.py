"""The desk's waiting calls on PostgreSQL: the live path's index, green-channel order, and abandonment reported
twice at once (the <Enqueue> action and the call's status) making one call-back task."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from crm_store.db import async_session_factory, async_session_scope, make_async_engine, make_engine
from crm_store.desk.waiting import CallerOfCall, abandon, enqueue_call, next_waiting, position_in_queue
from gateway import desk
from gateway.app import create_app
from tests.desk_helpers import (
    BUSINESS_DAY,
    HOTLINE,
    add_callers,
    callbacks,
    caller_number,
    install_default_menu,
    kst,
    queue_id,
    twiml,
    waiting_calls,
)
from tests.fake_clock import FakeClock
from tests.pg_helpers import plan_without_seqscan
from tests.twilio_helpers import call_params, call_sid, post_signed
from workers.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Any]:
    engine = make_engine(postgres_url)
    install_default_menu(engine)
    yield engine
    engine.dispose()


def test_the_next_call_of_a_queue_is_read_from_the_partial_index(engine: Any) -> None:
    with Session(engine) as session:
        definition = session.exec(  # type: ignore[call-overload]
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_desk_waiting_call_next'")
        ).scalar_one()
        assert "(queue_id, priority DESC, enqueued_at)" in definition
        assert "WHERE ((state)::text = 'waiting'::text)" in definition
        plan = plan_without_seqscan(
            session,
            "SELECT * FROM desk_waiting_call WHERE queue_id = 1 AND state = 'waiting' "
            "ORDER BY priority DESC, enqueued_at LIMIT 1",
        )
        assert "ix_desk_waiting_call_next" in plan and "Sort" not in plan, plan


async def test_green_channel_order_and_one_call_back_for_two_reports_of_one_hang_up(
    engine: Any, postgres_url: str
) -> None:
    accident = queue_id(engine, "accident")
    async_engine = make_async_engine(postgres_url)
    sessions = async_session_factory(async_engine)
    start = kst(BUSINESS_DAY)
    plain, quality, key = call_sid(), call_sid(), call_sid()
    try:
        async with async_session_scope(sessions) as session:
            for n, (sid, segment) in enumerate(((plain, None), (quality, "quality"), (key, "key"))):
                caller = CallerOfCall(f"+8210555500{n}", None, segment, False)
                await enqueue_call(
                    session, call_sid=sid, queue_id=accident, caller=caller, now=start + timedelta(seconds=n)
                )
            # A redelivered request keeps the first enqueue time.
            again = await enqueue_call(
                session,
                call_sid=plain,
                queue_id=accident,
                caller=CallerOfCall(None, None, None, False),
                now=start + timedelta(minutes=5),
            )
            assert again.enqueued_at == start
        async with async_session_scope(sessions) as session:
            assert [w.call_sid for w in await next_waiting(session, accident)] == [key, quality, plain]
            rows = {w.call_sid: w for w in await next_waiting(session, accident)}
            assert [await position_in_queue(session, rows[sid]) for sid in (key, quality, plain)] == [1, 2, 3]

        async def report(result: str) -> Any:
            async with async_session_scope(sessions) as session:
                return await abandon(session, call_sid=quality, now=start + timedelta(seconds=31), queue_result=result)

        tasks = await asyncio.gather(*(report(r) for r in ("hangup", "call-completed", "hangup", "call-completed")))
        assert sum(task is not None for task in tasks) == 1
        [task] = callbacks(engine)
        assert (task.call_sid, task.reason, task.queue_id, task.wait_seconds) == (quality, "abandoned", accident, 30)
        assert task.caller == "+82105555001"
        assert waiting_calls(engine)[quality].state == "abandoned"
        async with async_session_scope(sessions) as session:
            assert [w.call_sid for w in await next_waiting(session, accident)] == [key, plain]
            assert await position_in_queue(session, rows[plain]) == 2
    finally:
        await async_engine.dispose()


async def test_the_callers_path_on_postgresql(
    aiohttp_client: Any, engine: Any, postgres_url: str, tmp_path: Path
) -> None:
    customers = add_callers(engine)
    settings = Settings.from_env({"DATABASE_URL": postgres_url, "HOTLINE_DATA_DIR": str(tmp_path)})
    app = create_app(settings, embedded_worker=False)
    clock = FakeClock(kst(BUSINESS_DAY))
    app[desk.CLOCK] = clock
    client = await aiohttp_client(app)
    sid = call_sid()
    caller = caller_number("key")
    answer = await post_signed(client, settings, "/twilio/voice", call_params(settings, sid, caller=caller, To=HOTLINE))
    gather = twiml(await answer.text()).find("Gather")
    assert gather is not None
    params = call_params(settings, sid, status="in-progress", caller=caller, Digits="4")
    answer = await post_signed(client, settings, "/twilio/gather?attempt=1", params)
    assert twiml(await answer.text()).find("Enqueue").text == "change"
    waiting = waiting_calls(engine)[sid]
    assert (waiting.priority, waiting.customer_id) == (20, customers["key"])
    clock.now = kst(BUSINESS_DAY).replace(minute=1, second=10)
    # Both reports of the hang-up at once, as Twilio may send them.
    hangup = call_params(settings, sid, status="completed", caller=caller, QueueResult="hangup", QueueTime="70")
    status = call_params(
        settings, sid, status="completed", caller=caller, SequenceNumber="3",
        Timestamp="Mon, 07 Dec 2026 01:01:10 +0000", CallbackSource="call-progress-events",
    )  # fmt: skip
    answers = await asyncio.gather(
        post_signed(client, settings, "/twilio/queue-result?queue=change", hangup),
        post_signed(client, settings, "/twilio/status", status),
    )
    assert [a.status for a in answers] == [200, 204]
    [task] = callbacks(engine)
    assert (task.reason, task.customer_id, task.caller) == ("abandoned", customers["key"], caller)
    assert task.wait_seconds == 70
