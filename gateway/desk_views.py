"""Twilio's webhooks of the desk's queues: the wait URL (place in line, hold audio), the <Enqueue> action (how
the wait ended: an abandoned call becomes a call-back task), the message recorded after hours, and the hold audio."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from functools import cache

import numpy as np
from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.customers.phones import normalise_phone
from crm_store.db import async_session_scope
from crm_store.desk import offers
from crm_store.desk.tables import CallbackTask
from crm_store.desk.waiting import (
    CALLBACK_UNSERVED,
    CONNECTED,
    LEFT,
    WAITING,
    abandon,
    attach_message,
    leave_queue,
    position_in_queue,
    request_callback,
    waiting_call,
)
from gateway import desk, desk_callbacks, desk_distributor
from gateway.keys import METRICS, SESSIONS, SETTINGS
from gateway.twilio_views import observe, store_delivery, verified_form, xml
from telephony import ivr, twiml
from telephony.audio import wav_bytes

log = logging.getLogger(__name__)
HOLD_AUDIO = "/twilio/hold.wav"
# <Enqueue> action results: the caller is with an agent, or was taken out of the queue by us.
_CONNECTED_RESULTS = frozenset({"bridged", "bridging-in-process"})
_UNSERVED_RESULTS = frozenset({"queue-full", "error", "system-error"})
# <Dial> outcomes of a conversation that took place; any other (no-answer, busy, failed, canceled): the agent's
# endpoint never answered.
_TALKED = frozenset({"completed", "answered"})


def _seconds(value: str | None) -> int | None:
    try:
        return max(0, int(value)) if value not in (None, "") else None  # type: ignore[arg-type]
    except ValueError:
        return None


def _call_sid(form: dict[str, str]) -> str:
    sid = form.get("CallSid", "")
    if not (sid.startswith("CA") and len(sid) == 34):
        raise web.HTTPBadRequest(text="CallSid missing or malformed")
    return sid


async def wait(request: web.Request) -> web.Response:
    """Twilio's wait URL, asked again and again while the caller waits: the place in line, then hold audio.

    The place is ours (green-channel callers go ahead), Twilio's QueuePosition when the call is not in our table."""
    started = time.perf_counter()
    form = await verified_form(request, "wait")
    call_sid = _call_sid(form)
    position = _seconds(form.get("QueuePosition"))
    try:
        async with async_session_scope(request.app[SESSIONS]) as session:
            waiting = await waiting_call(session, call_sid)
            if waiting is not None and waiting.state == WAITING:
                position = await position_in_queue(session, waiting)
    except Exception:
        log.exception("place in line of call %s could not be read; saying Twilio's", call_sid)
    hold = request.app[SETTINGS].base_url + HOLD_AUDIO
    observe(request, "wait", started, "ok")
    return xml(ivr.wait(position=position, hold_audio_url=hold))


async def queue_result(request: web.Request) -> web.Response:
    """The <Enqueue> action: how the wait ended. A hang-up is an abandoned call (wait time, call-back task); a queue
    that failed the caller takes a message instead."""
    started = time.perf_counter()
    form = await verified_form(request, "queue_result")
    call_sid = _call_sid(form)
    result = form.get("QueueResult", "")
    waited = _seconds(form.get("QueueTime"))
    now = desk._now(request)
    base_url = request.app[SETTINGS].base_url
    queue_name = request.query.get("queue", "")
    # What the caller hears does not wait on the store: it depends on the result alone.
    if result in _CONNECTED_RESULTS:
        answer = ivr.goodbye()  # after the conversation the caller comes back here
    elif result in _UNSERVED_RESULTS:
        answer = ivr.take_message(base_url, message=ivr.UNSERVED, queue_name=queue_name)
    else:
        answer = twiml.empty()
    news = None
    try:
        async with async_session_scope(request.app[SESSIONS]) as session:
            await store_delivery(session, request, form, kind="queue-result", call_sid=call_sid)
            news, task = await _wait_ended(
                request, session, form, call_sid=call_sid, result=result, waited=waited, now=now
            )
    except Exception as err:
        log.exception("end of the wait of call %s (%s) could not be stored", call_sid, result)
        if result == "hangup":
            # The caller is gone and hears nothing: refuse, so that nothing is acknowledged and lost (the call's
            # status callback reports the hang-up again).
            observe(request, "queue_result", started, "unavailable")
            raise web.HTTPServiceUnavailable(text="the end of the wait could not be stored") from err
    else:
        await desk.callback_requested(request.app, task)
    await desk.tell_desks(request.app, news)
    observe(request, "queue_result", started, result or "none")
    return xml(answer)


async def _wait_ended(
    request: web.Request,
    session: AsyncSession,
    form: dict[str, str],
    *,
    call_sid: str,
    result: str,
    waited: int | None,
    now: datetime,
) -> tuple[offers.Withdrawn | offers.Ended | None, CallbackTask | None]:
    """Close the wait as Twilio reported it; what the agents' desks are to be told (a caller who hung up while
    offered or connected), and the call-back task it made (a caller who hung up, or one the queue failed)."""
    directory = request.app[desk.DIRECTORY]
    metrics = request.app[METRICS]
    if result == "hangup":
        ended = await abandon(session, call_sid=call_sid, now=now, queue_result=result, wait_seconds=waited)
        if ended is not None:
            directory.wait_ended(metrics, *ended)
            log.info("call %s abandoned after %ss in the queue; call-back task %s", call_sid, waited, ended[1].id)
        # Told to the agent's desk after the commit.
        gone = await offers.caller_gone(session, call_sid=call_sid, now=now)
        return gone, ended[1] if ended is not None else None
    state = CONNECTED if result in _CONNECTED_RESULTS else LEFT
    waiting = await leave_queue(
        session, call_sid=call_sid, state=state, now=now, queue_result=result, wait_seconds=waited
    )
    if waiting is not None:
        directory.wait_ended(metrics, waiting)
    if result not in _UNSERVED_RESULTS:
        return None, None
    queue = await request.app[desk.DIRECTORY].queue(request.query.get("queue"))
    queue_id = waiting.queue_id if waiting is not None else queue.id if queue is not None else None
    if queue_id is None:
        return None, None
    task = await request_callback(
        session,
        call_sid=call_sid,
        queue_id=queue_id,
        reason=CALLBACK_UNSERVED,
        caller=waiting.caller if waiting is not None else normalise_phone(form.get("From")),
        customer_id=waiting.customer_id if waiting is not None else None,
        now=now,
        wait_seconds=waited,
    )
    metrics.desk_callbacks.labels(directory.queue_name(queue_id), task.reason).inc()
    return None, task


async def desk_message(request: web.Request) -> web.Response:
    """The <Record> action of a message left for a call back: stored, put on the call-back task; thanks, goodbye.

    The audio itself comes with the recording callback and goes through the usual pipeline of the call."""
    started = time.perf_counter()
    form = await verified_form(request, "desk_message")
    call_sid = _call_sid(form)
    recording_sid = form.get("RecordingSid", "")
    task = None
    try:
        async with async_session_scope(request.app[SESSIONS]) as session:
            await store_delivery(session, request, form, kind="desk-message", call_sid=call_sid)
            if recording_sid:
                task = await attach_message(session, call_sid=call_sid, recording_sid=recording_sid)
    except Exception:
        log.exception("message of call %s could not be stored", call_sid)
    else:
        # The desks show that a message was left.
        await desk.callback_requested(request.app, task)
    observe(request, "desk_message", started, "ok")
    return xml(ivr.goodbye())


async def desk_dial(request: web.Request) -> web.Response:
    """The <Dial> action of a caller connected to an agent: the conversation ended (the agent goes to wrap-up and
    the caller hears thanks), or the agent's endpoint never answered (the caller waits again in their place)."""
    started = time.perf_counter()
    form = await verified_form(request, "desk_dial")
    call_sid = _call_sid(form)
    status = form.get("DialCallStatus", "")
    now = desk._now(request)
    talked = status in _TALKED
    queue = await request.app[desk.DIRECTORY].queue(request.query.get("queue"))
    news = None
    try:
        async with async_session_scope(request.app[SESSIONS]) as session:
            await store_delivery(session, request, form, kind="desk-dial", call_sid=call_sid)
            if talked:
                news = await offers.end_conversation(session, call_sid=call_sid, now=now)
            else:
                news = await offers.back_in_queue(session, call_sid=call_sid, now=now)
    except Exception:
        log.exception("end of the conversation of call %s (%s) could not be stored", call_sid, status)
    await desk.tell_desks(request.app, news)
    if not talked:
        desk.wake_distributor(request.app)
    observe(request, "desk_dial", started, status or "none")
    if talked or queue is None:
        return xml(ivr.goodbye())
    log.info("call %s: the agent's endpoint did not answer (%s); back in %s", call_sid, status, queue.name)
    return xml(ivr.enqueue(request.app[SETTINGS].base_url, queue_name=queue.name, label=queue.label))


@cache
def hold_audio_bytes(seconds: float = 8.0, rate: int = 8000) -> bytes:
    """A quiet two-note chime every two seconds, as an 8 kHz telephone WAV (made once per process)."""
    t = np.arange(int(rate * 2.0)) / rate
    envelope = np.exp(-3.0 * t)
    phrase = 0.12 * envelope * (np.sin(2 * np.pi * 523.25 * t) + 0.6 * np.sin(2 * np.pi * 659.25 * t)) / 1.6
    return wav_bytes(np.tile(phrase, max(1, round(seconds / 2.0))), rate)


async def hold_audio(_request: web.Request) -> web.Response:
    """The hold audio Twilio plays to a waiting caller (<Play> fetches it with GET, unsigned)."""
    return web.Response(body=hold_audio_bytes(), content_type="audio/wav", headers={"Cache-Control": "max-age=86400"})


def setup_routes(app: web.Application) -> None:
    """The desk's webhooks and its directory of menus."""
    desk.setup_desk(app)
    app[desk.CALLBACK_NEWS] = desk_callbacks.announce
    app.router.add_post("/twilio/wait", wait)
    app.router.add_post("/twilio/queue-result", queue_result)
    app.router.add_post("/twilio/desk-message", desk_message)
    app.router.add_post("/twilio/desk-dial", desk_dial)
    desk_distributor.setup_distributor(app)
    app.router.add_get(HOLD_AUDIO, hold_audio)
