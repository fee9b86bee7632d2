"""Call-back tasks at the desk on SQLite: the list of the viewer's queues (state, queue, paging, the customer only in
scope and audited), closing one (outcome checked and masked, 404, 409, 403 before the body), and the `callbacks`
frame that reaches the open desk of an agent serving the queue."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.desk.tables import CallbackTask
from gateway import desk
from gateway.app import create_app
from gateway.desk_socket import TIMING, DeskTiming
from tests.customer_helpers import Org
from tests.desk_helpers import BUSINESS_DAY, HOLIDAY, callbacks, caller_number, install_desk, kst
from tests.fake_clock import FakeClock
from tests.twilio_helpers import call_params, call_sid, post_signed
from tests.unit.gateway.test_desk_webhooks import _choose
from workers.settings import Settings

LIST = "/api/v1/desk/callbacks"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(kst(BUSINESS_DAY))


@pytest.fixture
def customers(engine: Any, org: Org) -> dict[str, int]:
    """The default menu and callers of each segment, customers of the head office."""
    return install_desk(engine)


def _app(settings: Settings, clock: FakeClock) -> Any:
    app = create_app(settings, embedded_worker=False)
    app[desk.CLOCK] = clock
    app[TIMING] = DeskTiming(ping=5.0, beat=3600.0, check=3600.0, silence=60.0)
    return app


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, customers: dict[str, int], clock: FakeClock) -> Any:
    return await aiohttp_client(_app(settings, clock))


async def _skills(client: Any, org: Org, username: str, skills: list[str]) -> None:
    answer = await client.put(f"/api/v1/agents/{username}", json={"skills": skills}, headers=org.auth("admin"))
    assert answer.status == 200, await answer.text()


async def _abandon(client: Any, settings: Settings, clock: FakeClock, key: str, segment: str, waited: int) -> str:
    """A caller who chooses `key`, waits `waited` seconds and hangs up; the call's sid."""
    sid = call_sid()
    await _choose(client, settings, sid, key, segment=segment)
    clock.now += timedelta(seconds=waited)
    queue = {"1": "accident", "3": "complaint", "4": "change"}[key]
    params = call_params(settings, sid, status="completed", caller=caller_number(segment),
                         QueueResult="hangup", QueueSid="QU" + "0" * 32, QueueTime=str(waited))  # fmt: skip
    answer = await post_signed(client, settings, f"/twilio/queue-result?queue={queue}", params)
    assert answer.status == 200
    return sid


async def _list(client: Any, org: Org, user: str, **params: str) -> Any:
    answer = await client.get(LIST, params=params, headers=org.auth(user))
    assert answer.status == 200, await answer.text()
    return await answer.json()


async def test_an_agent_lists_the_open_call_backs_of_their_queues_oldest_first(
    client: Any, settings: Settings, org: Org, clock: FakeClock, customers: dict[str, int], engine: Any
) -> None:
    await _skills(client, org, "agent.hq", ["complaint"])
    await _skills(client, org, "agent.seocho", ["complaint"])
    first = await _abandon(client, settings, clock, "3", "quality", 45)
    await _abandon(client, settings, clock, "1", "ordinary", 30)  # the accident queue: not theirs
    second = await _abandon(client, settings, clock, "3", "ordinary", 12)
    page = await _list(client, org, "agent.hq")
    assert [item["call_sid"] for item in page["items"]] == [first, second] and page["next"] is None
    item = page["items"][0]
    assert item == {
        "id": item["id"],
        "call_sid": first,
        "queue": "complaint",
        "queue_label": "불편·민원",
        "reason": "abandoned",
        "caller": caller_number("quality"),
        "customer_id": customers["quality"],
        "customer_name": "quality 고객",
        "customer_status": "known",
        "customer_note": None,
        "requested_at": (kst(BUSINESS_DAY) + timedelta(seconds=45)).astimezone(UTC).isoformat(),
        "wait_seconds": 45,
        "message_left": False,
        "done_at": None,
        "done_by": None,
        "outcome": None,
    }
    # Names shown are audited reads of the customer, for the call.
    with Session(engine) as session:
        reads = session.exec(
            select(AuditEntry).where(col(AuditEntry.username) == "agent.hq", col(AuditEntry.purpose) == "callback")
        ).all()
    assert {(r.customer_id, r.call_sid, tuple(r.fields)) for r in reads} >= {(customers["quality"], first, ("name",))}
    # A county-branch agent of the same queue sees the task, not the head office's customer.
    [theirs, _] = (await _list(client, org, "agent.seocho"))["items"]
    assert theirs["call_sid"] == first and theirs["caller"] == caller_number("quality")
    assert (theirs["customer_id"], theirs["customer_name"], theirs["customer_status"]) == (None, None, "out_of_scope")
    assert "권한 밖" in theirs["customer_note"]
    # An agent without the queue's skill sees none of them; the head office's administrator sees every queue.
    assert (await _list(client, org, "agent.haeundae"))["items"] == []
    assert len((await _list(client, org, "admin"))["items"]) == 3
    assert [i["queue"] for i in (await _list(client, org, "admin", queue="accident"))["items"]] == ["accident"]


async def test_the_list_pages_with_after_and_next(client: Any, settings: Settings, org: Org, clock: FakeClock) -> None:
    sids = [await _abandon(client, settings, clock, "3", "ordinary", 10 + n) for n in range(3)]
    page = await _list(client, org, "admin", limit="2")
    assert [i["call_sid"] for i in page["items"]] == sids[:2]
    assert page["next"] == f"{LIST}?state=open&limit=2&after={page['items'][1]['id']}"
    answer = await client.get(page["next"], headers=org.auth("admin"))
    rest = await answer.json()
    assert [i["call_sid"] for i in rest["items"]] == sids[2:] and rest["next"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "closed"}, "state"),
        ({"queue": "nosuch"}, "queue"),
        ({"limit": "0"}, "limit"),
        ({"after": "x"}, "after"),
    ],
)
async def test_bad_list_parameters_are_refused_by_name(
    client: Any, org: Org, params: dict[str, str], field: str
) -> None:
    answer = await client.get(LIST, params=params, headers=org.auth("admin"))
    assert answer.status == 400
    assert field in (await answer.json())["fields"]


async def test_an_agent_closes_a_call_back_with_its_outcome(
    client: Any, settings: Settings, org: Org, clock: FakeClock, engine: Any
) -> None:
    await _skills(client, org, "agent.hq", ["complaint"])
    sid = await _abandon(client, settings, clock, "3", "quality", 45)
    [task] = callbacks(engine)
    clock.now = kst(BUSINESS_DAY).replace(hour=11)
    done = f"{LIST}/{task.id}/done"
    outcome = "  고객과 통화함. 카드 1234-5678-9012-3456 확인, 민원 접수  "
    answer = await client.post(done, json={"outcome": outcome}, headers=org.auth("agent.hq"))
    assert answer.status == 200, await answer.text()
    body = await answer.json()
    assert (body["call_sid"], body["done_by"]) == (sid, "agent.hq")
    assert body["done_at"] == clock.now.astimezone(UTC).isoformat()
    assert "1234-5678-9012-3456" not in body["outcome"] and body["outcome"].startswith("고객과 통화함.")
    with Session(engine) as session:
        stored = session.get(CallbackTask, task.id)
        assert stored is not None and stored.outcome == body["outcome"] and stored.done_at is not None
        change = session.exec(select(AuditEntry).where(col(AuditEntry.action) == "desk.callback_done")).one()
    assert (change.username, change.target) == ("agent.hq", f"callback:{task.id}")
    # Closed: gone from the open list, in the done list; closing again is a conflict naming the state.
    assert (await _list(client, org, "agent.hq"))["items"] == []
    assert [i["id"] for i in (await _list(client, org, "agent.hq", state="done"))["items"]] == [task.id]
    again = await client.post(done, json={"outcome": "다시"}, headers=org.auth("agent.hq"))
    assert again.status == 409 and "state" in (await again.json())["fields"]


async def test_closing_refuses_other_roles_unseen_tasks_and_bad_outcomes(
    client: Any, settings: Settings, org: Org, clock: FakeClock, engine: Any
) -> None:
    await _skills(client, org, "agent.hq", ["complaint"])
    await _abandon(client, settings, clock, "3", "ordinary", 20)
    [task] = callbacks(engine)
    done = f"{LIST}/{task.id}/done"
    # The role is checked before the body: an account manager gets 403 even for a malformed one.
    answer = await client.post(done, data=b"not json", headers=org.auth("am.seocho"))
    assert answer.status == 403
    assert (await client.get(LIST, headers=org.auth("am.seocho"))).status == 403
    # An agent not serving the queue (whatever the body), and an unknown task: 404.
    for body in ({"outcome": "통화함"}, {}):
        answer = await client.post(done, json=body, headers=org.auth("agent.haeundae"))
        assert answer.status == 404
    answer = await client.post(f"{LIST}/999999/done", json={"outcome": "통화함"}, headers=org.auth("agent.hq"))
    assert answer.status == 404
    for body in ({"outcome": "   "}, {"outcome": ""}, {"outcome": "가" * 1001}, {}, {"outcome": "x", "more": 1}):
        answer = await client.post(done, json=body, headers=org.auth("agent.hq"))
        assert answer.status == 422, body
        fields = (await answer.json())["fields"]
        assert "outcome" in fields or "more" in fields, fields
    assert callbacks(engine)[0].done_at is None


async def test_after_hours_messages_are_call_backs_with_a_message(
    client: Any, settings: Settings, org: Org, clock: FakeClock
) -> None:
    clock.now = kst(HOLIDAY)
    sid = call_sid()
    await _choose(client, settings, sid, "2", segment="quality")
    params = call_params(settings, sid, status="in-progress", caller=caller_number("quality"),
                         RecordingSid="RE" + "1" * 32, RecordingUrl="https://api.twilio.com/x",
                         RecordingDuration="12", Digits="hangup")  # fmt: skip
    assert (await post_signed(client, settings, "/twilio/desk-message?queue=consult", params)).status == 200
    [item] = (await _list(client, org, "admin"))["items"]
    assert (item["reason"], item["queue"], item["message_left"], item["wait_seconds"]) == (
        "after_hours", "consult", True, None)  # fmt: skip


@pytest.fixture
async def live_client(
    aiohttp_client: Any, settings: Settings, redis_url: str, customers: dict[str, int], clock: FakeClock
) -> Any:
    return await aiohttp_client(_app(settings.model_copy(update={"redis_url": redis_url}), clock))


async def _frames_until(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        frame = dict(await asyncio.wait_for(ws.receive_json(), 10))
        if frame["type"] == kind:
            return frame


async def test_a_task_made_or_closed_reaches_the_open_desks_of_the_queue(
    live_client: Any, settings: Settings, org: Org, clock: FakeClock, engine: Any
) -> None:
    client = live_client
    await _skills(client, org, "agent.hq", ["complaint"])
    await _skills(client, org, "agent.haeundae", ["accident"])
    ours = await client.ws_connect("/api/v1/desk/ws", headers=org.auth("agent.hq"))
    other = await client.ws_connect("/api/v1/desk/ws", headers=org.auth("agent.haeundae"))
    assert (await _frames_until(ours, "state"))["type"] == "state"
    assert (await _frames_until(other, "state"))["type"] == "state"
    await _abandon(client, settings, clock, "3", "ordinary", 20)
    [task] = callbacks(engine)
    frame = await _frames_until(ours, "callbacks")
    assert frame == {"type": "callbacks", "queue": "complaint", "callback_id": task.id, "change": "requested"}
    answer = await client.post(f"{LIST}/{task.id}/done", json={"outcome": "통화함"}, headers=org.auth("agent.hq"))
    assert answer.status == 200
    frame = await _frames_until(ours, "callbacks")
    assert frame["change"] == "done" and frame["callback_id"] == task.id
    # The agent of another queue heard nothing of it.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(_frames_until(other, "callbacks"), 0.5)
    await ours.close()
    await other.close()
