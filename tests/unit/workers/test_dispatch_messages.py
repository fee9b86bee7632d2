"""The text messages of dispatch kept until sent: a step writes the message and its outbox job in its own
transaction (nothing leaves from the gateway itself, so a gateway that dies after the step loses nothing); the job
sends it through Twilio's REST API once; a failure Twilio may recover from is put off with back-off and sent by the
dispatch timers' sweep when due; a refusal, or the last failure, is given up; a message sent is never sent again."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from rq import Queue, SimpleWorker
from rq.timeouts import TimerDeathPenalty
from sqlmodel import Session, select

from crm_store.calls.tables import OutboxJob
from crm_store.dispatch.messages import BACK_OFF, MAX_ATTEMPTS, SendFailed, due_messages, write_message
from crm_store.dispatch.tables import DispatchMessage
from gateway.app import create_app
from gateway.desk import CLOCK
from gateway.twilio_stand_in import TwilioStandIn
from tests.dispatch_api_helpers import NOW, bearer_headers
from tests.dispatch_helpers import SEOLLEUNG, YEOKSAM, World, add_surveyor, build_world
from workers.context import build_context, install
from workers.dispatch_messages import send_due_messages, send_messages
from workers.queueing import QUEUE_DEFAULT, relay_outbox
from workers.settings import Settings

PHONE = "+821055550001"


class InThread(SimpleWorker):
    """rq's SimpleWorker off the main thread (the Twilio stand-in answers on the test's event loop)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


class FlakySender:
    """Fails with each of `failures` in turn, then sends."""

    def __init__(self, *failures: SendFailed) -> None:
        self.failures, self.sent = list(failures), []  # type: list[SendFailed], list[str]

    def __call__(self, *, to: str, from_: str, body: str) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(body)
        return f"SM{len(self.sent):032d}"


def _world_with_request(engine: Any) -> tuple[World, int]:
    world = build_world(engine)
    add_surveyor(engine, world, "surv.kim", at=YEOKSAM)
    with Session(engine) as session:
        from crm_store.dispatch.tables import DispatchRequest

        request = DispatchRequest(kind="survey", skill="auto", state="open", source="api", org_unit_id=1,
                                  vehicles=[], injured=[], created_at=NOW, updated_at=NOW)  # fmt: skip
        session.add(request)
        session.commit()
        return world, int(request.id or 0)


def _message(engine: Any, request_id: int) -> int:
    with Session(engine) as session:
        message = write_message(session, request_id=request_id, purpose="assignment", to=PHONE,
                                sender="+8215881234", body="배정 알림", now=NOW)  # fmt: skip
        session.commit()
        return int(message.id or 0)


def _stored(engine: Any, message_id: int) -> DispatchMessage:
    with Session(engine) as session:
        found = session.get(DispatchMessage, message_id)
        assert found is not None
        session.expunge(found)
        return found


def test_a_retryable_failure_is_put_off_then_sent_once(engine: Any) -> None:
    _, request_id = _world_with_request(engine)
    message_id = _message(engine, request_id)
    sender = FlakySender(SendFailed("HTTP 503", retryable=True))
    assert send_messages(engine, sender, [message_id], now=NOW) == {"sent": 0, "retry": 1, "failed": 0}
    stored = _stored(engine, message_id)
    assert (stored.status, stored.attempts) == ("pending", 1)
    assert stored.next_attempt_at == NOW + timedelta(seconds=BACK_OFF[0])
    assert stored.error is not None and PHONE not in stored.error  # the number masked
    with Session(engine) as session:
        assert due_messages(session, now=NOW) == []  # not before its time
    later = NOW + timedelta(seconds=BACK_OFF[0])
    assert send_due_messages(engine, sender, now=later) == {"sent": 1, "retry": 0, "failed": 0}
    stored = _stored(engine, message_id)
    assert (stored.status, stored.attempts, stored.sent_at) == ("sent", 2, later) and stored.message_sid
    # The job run again (a retried job, a sweep after it): nothing more is sent.
    assert send_messages(engine, sender, [message_id], now=later) == {"sent": 0, "retry": 0, "failed": 0}
    assert sender.sent == ["배정 알림"]


def test_a_refusal_or_the_last_failure_is_given_up(engine: Any) -> None:
    _, request_id = _world_with_request(engine)
    refused, flaky = _message(engine, request_id), _message(engine, request_id)
    sender = FlakySender(SendFailed("HTTP 400 invalid number", retryable=False))
    assert send_messages(engine, sender, [refused], now=NOW)["failed"] == 1
    assert _stored(engine, refused).status == "failed"

    failing = FlakySender(*[SendFailed("no answer", retryable=True)] * MAX_ATTEMPTS)
    now = NOW
    for _ in range(MAX_ATTEMPTS):
        send_due_messages(engine, failing, now=now)
        now += timedelta(seconds=max(BACK_OFF))
    stored = _stored(engine, flaky)
    assert (stored.status, stored.attempts) == ("failed", MAX_ATTEMPTS) and failing.sent == []


async def test_an_assignment_message_outlives_the_gateway_and_is_sent_by_the_workers(
    aiohttp_client: Any, settings: Settings, engine: Any
) -> None:
    world = build_world(engine)
    add_surveyor(engine, world, "surv.kim", at=YEOKSAM)
    with Session(engine) as session:
        from crm_store.dispatch.tables import SurveyorProfile

        profile = session.get(SurveyorProfile, world.staff["surv.kim"].id)
        assert profile is not None
        profile.phone = PHONE
        session.add(profile)
        session.commit()
    twilio = TwilioStandIn(settings.twilio_account_sid, settings.twilio_auth_token)
    await twilio.start()
    try:
        app = create_app(settings.model_copy(update={"twilio_api_base": twilio.base_url}), embedded_worker=False)
        app[CLOCK] = lambda: NOW
        client = await aiohttp_client(app)
        headers = bearer_headers(engine, world)["disp.gangnam"]
        body = {"kind": "survey", "location": {"lat": SEOLLEUNG[0], "lon": SEOLLEUNG[1], "address": "선릉역"}}
        request_id = (await (await client.post("/api/v1/dispatches", json=body, headers=headers)).json())["id"]
        answer = await client.post(f"/api/v1/dispatches/{request_id}/assign", json={"username": "surv.kim"},
                                   headers=headers)  # fmt: skip
        assert answer.status == 200, await answer.text()
        await client.close()  # the gateway goes away before anything was sent
        assert twilio.messages == []
        with Session(engine) as session:
            [message] = session.exec(select(DispatchMessage).where(DispatchMessage.request_id == request_id)).all()
            assert (message.status, message.to_phone, message.purpose) == ("pending", PHONE, "assignment")
            job = session.exec(select(OutboxJob).where(OutboxJob.job_id == f"dispatch-message-{message.id}")).one()
            assert job.func == "workers.dispatch_messages.send_dispatch_message" and job.call_sid == str(message.id)

        # A worker, later: the outbox relayed, the job run, the message sent through Twilio's REST API.
        worker_settings = settings.model_copy(update={"twilio_api_base": twilio.base_url})

        def work() -> None:
            context = build_context(worker_settings)
            install(context)
            try:
                with Session(engine) as session:  # the gateway's own relay may have marked it enqueued in its queue
                    job.enqueued_at = None
                    session.add(session.merge(job))
                    session.commit()
                assert relay_outbox(context.engine, context.redis, worker_settings) >= 1
                InThread([Queue(QUEUE_DEFAULT, connection=context.redis)], connection=context.redis).work(burst=True)
            finally:
                context.close()

        await asyncio.to_thread(work)
        told = [m for m in twilio.messages if m["to"] == PHONE]
        assert len(told) == 1 and f"/console/field/{request_id}" in told[0]["body"]
        with Session(engine) as session:
            sent = session.get(DispatchMessage, message.id)
            assert sent is not None and sent.status == "sent" and sent.message_sid
    finally:
        await twilio.stop()
