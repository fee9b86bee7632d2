"""Call-time alerts reach the account manager as customer events: a blacklist hit or a key customer calling (promised
by the incoming-call webhook, written by a job), a repeat complainant (when the call is classified); each once per
call, with its CallSid; events of customers without a manager are listed for the branch's center managers."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from rq import Queue
from sqlmodel import Session, col, select

from crm_store.calls.tables import Call, OutboxJob
from crm_store.customers.tables import CustomerEvent
from crm_store.db import session_scope
from crm_store.types import utcnow
from crm_store.validation import business_today
from gateway.app import create_app
from gateway.keys import REDIS
from tests.customer_helpers import Org, build_org
from tests.twilio_helpers import call_params, call_sid, post_signed
from workers.context import install
from workers.queueing import ALL_QUEUES, CALL_ALERTS, CLASSIFY, relay_outbox
from workers.settings import Settings

REASON = "보험사기 혐의 (허위 사고 접수)"
ANGRY = "몇 번째 전화하는 건지 모르겠어요 보험금 아직도 안 나왔어요 금감원에 민원 넣겠습니다"


def _work(context: Any) -> None:
    """The outbox relay, then one burst of a worker on every queue."""
    from rq import SimpleWorker

    relay_outbox(context.engine, context.redis, context.settings)
    SimpleWorker([Queue(n, connection=context.redis) for n in ALL_QUEUES], connection=context.redis).work(burst=True)


def _beside(client: Any, context: Any) -> Any:
    """The worker context on the gateway's own in-process queue (a stand-in is shared by handing it on)."""
    shared = replace(context, redis=client.app[REDIS])
    install(shared)
    return shared


async def _post(client: Any, org: Org, user: str, path: str, body: dict[str, Any], method: str = "post") -> Any:
    answer = await client.request(method, path, json=body, headers=org.auth(user))
    assert answer.status in (200, 201), await answer.text()
    return await answer.json()


async def _customers(client: Any, org: Org) -> dict[str, int]:
    """A listed customer and a key customer with a manager; the listed one's twin at Busan and a plain customer
    without one."""

    async def create(unit: str, phone: str, rrn: str, **body: Any) -> int:
        payload = {"kind": "individual", "name": "박정호", "phones": [phone], "registration_number": rrn,
                   "org_unit_id": org.units[unit], **body}  # fmt: skip
        return int((await _post(client, org, "admin", "/api/v1/customers", payload))["id"])

    made = {
        "listed": await create("SEOUL-GANGNAM-SEOCHO", "010-1111-2222", "880315-1234567"),
        "twin": await create("BUSAN-DONGBU-HAEUNDAE", "010-3333-4444", "8803151234567"),
        "key": await create("SEOUL-GANGNAM-SEOCHO", "02-777-8888", "123-45-67890", kind="corporate",
                            key_account="group"),
        "plain": await create("SEOUL-GANGNAM-SEOCHO", "010-9999-0000", "900101-2345678"),
    }  # fmt: skip
    today = business_today().isoformat()
    await _post(client, org, "cm.gangnam", "/api/v1/account-managers/am.seocho/certifications",
                {"grade": "junior", "certified_on": today})  # fmt: skip
    for name in ("listed", "key"):
        path = f"/api/v1/customers/{made[name]}/account-manager"
        await _post(client, org, "cm.gangnam", path, {"username": "am.seocho"}, method="put")
    body = {"customer_id": made["listed"], "reason": REASON, "phones": ["010-7777-8888"]}
    await _post(client, org, "cm.gangnam", "/api/v1/blacklist", body)
    return made


def _events(engine: Any, **where: Any) -> list[CustomerEvent]:
    with Session(engine) as session:
        query = select(CustomerEvent).where(col(CustomerEvent.call_sid).is_not(None)).order_by(col(CustomerEvent.id))
        for name, value in where.items():
            query = query.where(getattr(CustomerEvent, name) == value)
        return list(session.exec(query).all())


async def _started(aiohttp_client: Any, settings: Settings, context: Any, engine: Any) -> tuple[Org, Any, Any, Any]:
    """The organisation, a client of the gateway, the worker context beside it, and the customers of the tests."""
    org = build_org(engine)
    client = await aiohttp_client(create_app(settings, embedded_worker=False))
    context = _beside(client, context)
    return org, client, context, await _customers(client, org)


async def test_blacklist_and_key_callers_reach_the_account_manager_once_per_call(
    aiohttp_client: Any, settings: Settings, context: Any, engine: Any
) -> None:
    org, client, context, made = await _started(aiohttp_client, settings, context, engine)
    sids = {name: call_sid() for name in ("listed", "twin", "key", "evidence", "plain")}
    numbers = {"listed": "+821011112222", "twin": "+821033334444", "key": "+8227778888",
               "evidence": "+821077778888", "plain": "+821099990000"}  # fmt: skip
    for name, sid in sids.items():
        answer = await post_signed(client, settings, "/twilio/voice", call_params(settings, sid, caller=numbers[name]))
        assert answer.status == 200
    # Twilio redelivers the listed customer's webhook (another idempotency token).
    redelivered = call_params(settings, sids["listed"], caller=numbers["listed"])
    assert (await post_signed(client, settings, "/twilio/voice", redelivered)).status == 200

    # Only alerting calls promised a job, one each, in the webhook's own statement; the plain caller none.
    with Session(engine) as session:
        promised = sorted(j.job_id for j in session.exec(select(OutboxJob)).all())
    assert promised == sorted(CALL_ALERTS.job_id(sids[n]) for n in ("listed", "twin", "key", "evidence"))

    _work(context)
    manager = org.staff["am.seocho"]
    [listed] = _events(engine, call_sid=sids["listed"])
    assert (listed.kind, listed.customer_id, listed.account_manager_id) == ("blacklist", made["listed"], manager)
    assert listed.level == "critical" and "서초구지점 등재 건" in listed.reason and REASON not in listed.reason
    [key] = _events(engine, call_sid=sids["key"])
    assert (key.kind, key.customer_id, key.account_manager_id, key.level) == ("key_customer", made["key"], manager,
                                                                              "info")  # fmt: skip
    # An unknown caller on a number the listing names: reported on the listed customer's record, to its manager.
    [evidence] = _events(engine, call_sid=sids["evidence"])
    assert (evidence.customer_id, evidence.account_manager_id) == (made["listed"], manager)
    assert "+8210****8888" in evidence.reason and "+821077778888" not in evidence.reason
    # The twin at Busan has no manager: the event waits, unaddressed, for the Busan center managers.
    [twin] = _events(engine, call_sid=sids["twin"])
    assert (twin.kind, twin.customer_id, twin.account_manager_id) == ("blacklist", made["twin"], None)
    assert _events(engine, call_sid=sids["plain"]) == []

    # The manager's list carries the CallSids; the unaddressed one is listed for Busan's supervisors only.
    answer = await client.get("/api/v1/account-managers/am.seocho/events", headers=org.auth("cm.gangnam"))
    assert {e["call_sid"] for e in (await answer.json())["items"]} >= {sids["listed"], sids["key"], sids["evidence"]}
    query = {"unaddressed": "true", "kind": "blacklist"}
    answer = await client.get("/api/v1/customer-events", params=query, headers=org.auth("cm.busan"))
    assert [(e["call_sid"], e["account_manager"]) for e in (await answer.json())["items"]] == [(sids["twin"], None)]
    answer = await client.get("/api/v1/customer-events", params=query, headers=org.auth("cm.gangnam"))
    assert (await answer.json())["items"] == []
    assert (await client.get("/api/v1/customer-events", headers=org.auth("agent.haeundae"))).status == 403

    # Redelivered after the job ran, or the job run again: nothing more.
    assert (await post_signed(client, settings, "/twilio/voice", redelivered)).status == 200
    Queue("hotline", connection=context.redis).enqueue(CALL_ALERTS.func, sids["listed"])
    _work(context)
    assert len(_events(engine)) == 4


async def test_a_repeat_complainant_is_reported_when_the_call_is_classified(
    aiohttp_client: Any, settings: Settings, context: Any, engine: Any
) -> None:
    org, client, context, made = await _started(aiohttp_client, settings, context, engine)
    earlier, first, second = call_sid(), call_sid(), call_sid()
    with session_scope(engine) as session:
        # An earlier complaint of the plain customer, two months ago; none of the key customer.
        at = utcnow() - timedelta(days=60)
        session.add(Call(call_sid=earlier, customer_id=made["plain"], type="complaint", created_at=at))
        for sid, customer in ((first, made["plain"]), (second, made["key"])):
            session.add(Call(call_sid=sid, customer_id=customer, transcript=ANGRY, pipeline_state="transcribed"))
            session.add(CLASSIFY.promise(sid))
    _work(context)
    with Session(engine) as session:
        assert session.exec(select(Call.type).where(Call.call_sid == first)).one() == "complaint"
    [event] = _events(engine, kind="repeat_complainant")
    assert (event.customer_id, event.call_sid, event.account_manager_id) == (made["plain"], first, None)
    assert event.level == "warning" and "민원 2건" in event.reason
    # Classified again (a re-transcription): still one event.
    Queue("hotline", connection=context.redis).enqueue(CLASSIFY.func, first)
    _work(context)
    assert len(_events(engine, kind="repeat_complainant")) == 1
