"""Call-back tasks on PostgreSQL: abandoned calls listed for the agents of their queue (the customer only in scope),
paged, closed once (a second close is a conflict), with the desks to tell found; the open list read from its index."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from crm_store.db import async_session_factory, async_session_scope, make_async_engine, make_engine
from crm_store.desk.agent_tables import DeskAgent
from crm_store.desk.callbacks import desks_serving
from gateway import desk
from gateway.app import create_app
from tests.customer_helpers import SECRET, Org, build_org
from tests.desk_helpers import BUSINESS_DAY, add_callers, callbacks, caller_number, install_default_menu, kst
from tests.fake_clock import FakeClock
from tests.pg_helpers import plan_without_seqscan
from tests.twilio_helpers import call_params, call_sid, post_signed
from tests.unit.gateway.test_desk_webhooks import _choose
from workers.settings import Settings

pytestmark = pytest.mark.integration
LIST = "/api/v1/desk/callbacks"


async def _abandon(client: Any, settings: Settings, clock: FakeClock, segment: str, waited: int) -> str:
    sid = call_sid()
    await _choose(client, settings, sid, "3", segment=segment)
    clock.now += timedelta(seconds=waited)
    params = call_params(settings, sid, status="completed", caller=caller_number(segment),
                         QueueResult="hangup", QueueSid="QU" + "0" * 32, QueueTime=str(waited))  # fmt: skip
    assert (await post_signed(client, settings, "/twilio/queue-result?queue=complaint", params)).status == 200
    return sid


@pytest.fixture
async def on_postgres(
    aiohttp_client: Any, postgres_url: str, tmp_path: Any
) -> AsyncIterator[tuple[Any, Settings, Org, FakeClock, dict[str, int], Any]]:
    settings = Settings.from_env(
        {"DATABASE_URL": postgres_url, "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_DATA_DIR": str(tmp_path)}
    )
    engine = make_engine(postgres_url)
    try:
        org = build_org(engine)
        install_default_menu(engine)
        customers = add_callers(engine)
        clock = FakeClock(kst(BUSINESS_DAY))
        app = create_app(settings, embedded_worker=False)
        app[desk.CLOCK] = clock
        yield await aiohttp_client(app), settings, org, clock, customers, engine
    finally:
        engine.dispose()


async def test_call_backs_listed_and_closed_on_postgres(
    on_postgres: tuple[Any, Settings, Org, FakeClock, dict[str, int], Any], postgres_url: str
) -> None:
    client, settings, org, clock, customers, engine = on_postgres
    for username in ("agent.hq", "agent.seocho"):
        answer = await client.put(
            f"/api/v1/agents/{username}", json={"skills": ["complaint"]}, headers=org.auth("admin")
        )
        assert answer.status == 200, await answer.text()
    first = await _abandon(client, settings, clock, "quality", 40)
    second = await _abandon(client, settings, clock, "ordinary", 15)

    answer = await client.get(LIST, params={"limit": "1"}, headers=org.auth("agent.hq"))
    page = await answer.json()
    assert answer.status == 200, page
    [item] = page["items"]
    assert (item["call_sid"], item["customer_name"], item["customer_status"]) == (first, "quality 고객", "known")
    assert item["requested_at"] == (kst(BUSINESS_DAY) + timedelta(seconds=40)).astimezone(UTC).isoformat()
    rest = await (await client.get(page["next"], headers=org.auth("agent.hq"))).json()
    assert [i["call_sid"] for i in rest["items"]] == [second] and rest["next"] is None
    # The county-branch agent of the same queue: the task, not the head office's customer.
    theirs = (await (await client.get(LIST, headers=org.auth("agent.seocho"))).json())["items"][0]
    assert (theirs["customer_id"], theirs["customer_name"], theirs["customer_status"]) == (None, None, "out_of_scope")

    # Both agents' desks are told of the complaint queue's tasks (online agents); nobody else.
    with Session(engine) as session:
        for username in ("agent.hq", "agent.seocho"):
            agent = session.get(DeskAgent, org.staff[username])
            assert agent is not None
            agent.state = "break"
            session.add(agent)
        session.commit()
    async_engine = make_async_engine(postgres_url)
    try:
        async with async_session_scope(async_session_factory(async_engine)) as session:
            queue, desks = await desks_serving(session, callbacks(engine)[0].queue_id, since=clock.now)
    finally:
        await async_engine.dispose()
    assert queue == "complaint" and sorted(desks) == sorted([org.staff["agent.hq"], org.staff["agent.seocho"]])

    task_id = item["id"]
    clock.now = kst(BUSINESS_DAY).replace(hour=14)
    done = f"{LIST}/{task_id}/done"
    answer = await client.post(done, json={"outcome": "통화 완료, 민원 접수"}, headers=org.auth("agent.seocho"))
    body = await answer.json()
    assert answer.status == 200, body
    assert (body["done_by"], body["done_at"]) == ("agent.seocho", clock.now.astimezone(UTC).isoformat())
    again = await client.post(done, json={"outcome": "다시"}, headers=org.auth("agent.hq"))
    assert again.status == 409 and "state" in (await again.json())["fields"]
    open_now = (await (await client.get(LIST, headers=org.auth("agent.hq"))).json())["items"]
    assert [i["call_sid"] for i in open_now] == [second]
    done_list = (await (await client.get(LIST, params={"state": "done"}, headers=org.auth("admin"))).json())["items"]
    assert [(i["call_sid"], i["outcome"]) for i in done_list] == [(first, "통화 완료, 민원 접수")]


def test_the_open_call_backs_of_a_queue_are_read_from_their_index(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        with Session(engine) as session:
            plan = plan_without_seqscan(
                session,
                "SELECT * FROM desk_callback WHERE queue_id IN (1, 2) AND done_at IS NULL "
                "ORDER BY requested_at, id LIMIT 51",
            )
    finally:
        engine.dispose()
    assert "ix_desk_callback_open" in plan, plan
