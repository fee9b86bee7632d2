"""The caller's path through the desk, as the Twilio webhooks answer it: the menu of the number called, the queue
the caller's key or words choose (or a message recorded when it is closed), the wait, and how the wait ended.

Menus are read from the store into a `DeskDirectory` and kept for a short while, so the incoming-call answer
asks a dictionary, not the database. Twilio never hears an error: when the store fails, the caller is still
put in the chosen queue."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.calendar import BusinessCalendar
from crm_store.customers.phones import normalise_phone
from crm_store.db import async_session_scope
from crm_store.desk import offers
from crm_store.desk.menus import Menu, QueueInfo, describe_hours, load_menus
from crm_store.desk.tables import CallbackTask, WaitingCall
from crm_store.desk.waiting import (
    CALLBACK_AFTER_HOURS,
    abandon,
    caller_of_call,
    enqueue_call,
    is_green_channel,
    request_callback,
)
from crm_store.types import utcnow
from gateway.keys import METRICS, SESSIONS, SETTINGS
from gateway.metrics import Metrics
from telephony import ivr
from telephony.twilio_rest import TwilioRest

log = logging.getLogger(__name__)
BLACKLIST_FLAG = "blacklist"
# Terminal statuses of a call: one that was still waiting in a queue was abandoned.
ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
MAX_ATTEMPTS = 2
FALLBACK_QUEUE = "hotline"


class DeskDirectory:
    """Menus by hotline number and queues by name, read from the store at most every `ttl` seconds."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        ttl: float = 30.0,
        calendar: BusinessCalendar | None = None,
    ) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._calendar = calendar
        self._menus: Mapping[str, Menu] = {}
        self._queues: Mapping[str, QueueInfo] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def _fresh(self) -> None:
        if self._loaded_at is not None and time.monotonic() - self._loaded_at < self._ttl:
            return
        async with self._lock:
            if self._loaded_at is not None and time.monotonic() - self._loaded_at < self._ttl:
                return
            try:
                async with async_session_scope(self._sessions) as session:
                    self._menus, self._queues = await load_menus(session, self._calendar)
            except Exception:
                if self._loaded_at is None:
                    raise
                # Keep answering with the menus we have; try again at the next request.
                log.exception("desk menus could not be read again; keeping the previous ones")
                return
            self._loaded_at = time.monotonic()

    async def menu(self, hotline_number: str | None) -> Menu | None:
        """The menu of a hotline number (any Korean format), or None when the number has none."""
        await self._fresh()
        if not self._menus or not hotline_number:
            return None
        return self._menus.get(hotline_number) or self._menus.get(_e164(hotline_number) or "")

    async def queue(self, name: str | None) -> QueueInfo | None:
        """A queue by name."""
        await self._fresh()
        return self._queues.get(name or "")

    def queue_name(self, queue_id: int) -> str:
        """The name of a queue known at the last reading (its id otherwise), for logs and metrics."""
        return next((queue.name for queue in self._queues.values() if queue.id == queue_id), str(queue_id))

    def wait_ended(self, metrics: Metrics, waiting: WaitingCall, callback: CallbackTask | None = None) -> None:
        """Count how a wait ended, and the call-back task it left."""
        name = self.queue_name(waiting.queue_id)
        metrics.desk_wait_seconds.labels(name, waiting.state).observe(waiting.wait_seconds or 0)
        if callback is not None:
            metrics.desk_callbacks.labels(name, callback.reason).inc()

    def invalidate(self) -> None:
        """Read the menus again at the next request (after they were changed)."""
        self._loaded_at = None


@functools.lru_cache(maxsize=1024)
def _e164(number: str) -> str | None:
    """A called number in E.164 (Twilio sends a handful of hotline numbers: parsed once each, not per call)."""
    return normalise_phone(number)


DIRECTORY = web.AppKey("desk_directory", DeskDirectory)
Clock = Callable[[], datetime]
CLOCK: web.AppKey[Clock] = web.AppKey("desk_clock")


TWILIO_REST = web.AppKey("twilio_rest", TwilioRest)
# Set when something may let the call distributor offer a call (a call queued, an agent available): its next pass
# runs at once instead of at its next tick (`gateway.desk_distributor`).
DISTRIBUTION_DUE = web.AppKey("desk_distribution_due", asyncio.Event)


# What the distributor tells the agents' desks of a call's change (an offer withdrawn, a conversation ended), set
# by `gateway.desk_distributor`; absent, nobody is told.
DeskNews = Callable[[Any], Awaitable[None]]
TELL_DESKS: web.AppKey[DeskNews] = web.AppKey("desk_tell")


async def tell_desks(app: Mapping[Any, Any], news: Any) -> None:
    """Tell the agents' desks what became of a call (`crm_store.desk.offers` results)."""
    tell = app.get(TELL_DESKS)
    if tell is not None and news is not None:
        await tell(news)


# Tells the open desks serving a queue that its call-back tasks changed (`gateway.desk_callbacks.announce`, set by
# `gateway.desk_views`); absent, nobody is told.
CallbackNews = Callable[[Any, int, int | None, str], Awaitable[None]]
CALLBACK_NEWS: web.AppKey[CallbackNews] = web.AppKey("desk_callback_news")


async def callback_requested(app: Mapping[Any, Any], task: CallbackTask | None) -> None:
    """Tell the desks serving the task's queue that a call-back task was made (after its transaction)."""
    tell = app.get(CALLBACK_NEWS)
    if tell is not None and task is not None:
        await tell(app, task.queue_id, task.id, "requested")


def wake_distributor(app: Mapping[Any, Any]) -> None:
    """Ask this process's distributor for a pass now (no-op before it runs)."""
    due = app.get(DISTRIBUTION_DUE)
    if due is not None:
        due.set()


def setup_desk(app: web.Application) -> None:
    """The desk's directory (made once the database is up, menus read at start when they can be), Twilio's REST
    client on TWILIO_API_BASE, and the desk's clock (tests may set their own first)."""

    async def desk_context(app: web.Application) -> AsyncIterator[None]:
        directory = DeskDirectory(app[SESSIONS])
        app[DIRECTORY] = directory
        try:
            await directory.menu(None)
        except Exception:
            log.exception("desk menus could not be read at start; trying again at the first call")
        settings = app[SETTINGS]
        rest = TwilioRest.for_asyncio(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            base_url=settings.twilio_api_base,
        )
        app[TWILIO_REST] = rest
        try:
            yield
        finally:
            await rest.close_async()

    app.cleanup_ctx.append(desk_context)
    app.setdefault(CLOCK, utcnow)


def _now(request: web.Request) -> datetime:
    return request.app.get(CLOCK, utcnow)()


async def menu_answer(
    request: web.Request, *, to_number: str | None, segment: str | None, blacklisted: bool
) -> str | None:
    """The menu of the number called, greeting first; None when the number has no menu (voicemail as before)."""
    try:
        menu = await request.app[DIRECTORY].menu(to_number)
    except Exception:
        log.exception("desk menus could not be read; answering the voicemail")
        return None
    if menu is None:
        return None
    return ivr.menu(
        request.app[SETTINGS].base_url,
        greeting=menu.greeting,
        prompt=menu.prompt,
        hints=menu.hints,
        attempt=1,
        green_channel=is_green_channel(segment),
        flag=BLACKLIST_FLAG if blacklisted else None,
    )


def _attempt(request: web.Request) -> int:
    try:
        return max(1, int(request.query.get("attempt", "1")))
    except ValueError:
        return 1


async def gather_answer(request: web.Request, form: Mapping[str, str]) -> str | None:
    """The caller's choice: the queue it picks (repeating the menu once on no input or a wrong key, then the default
    queue); None when the number has no menu."""
    settings = request.app[SETTINGS]
    try:
        menu = await request.app[DIRECTORY].menu(form.get("To"))
    except Exception:
        # Twilio must never hear an error: the caller still reaches a queue.
        log.exception("desk menus could not be read; the caller goes to the fallback queue")
        return ivr.enqueue(settings.base_url, queue_name=FALLBACK_QUEUE, label=None)
    if menu is None:
        return None
    flag = request.query.get("flag")
    digits, speech = form.get("Digits"), form.get("SpeechResult")
    option = menu.choose(digits=digits, speech=speech)
    attempt = _attempt(request)
    if option is None and attempt < MAX_ATTEMPTS:
        notice = ivr.WRONG_KEY if digits else ivr.NOT_UNDERSTOOD if speech else ivr.NO_INPUT
        return ivr.menu(
            settings.base_url,
            greeting=None,
            prompt=menu.prompt,
            hints=menu.hints,
            attempt=attempt + 1,
            notice=notice,
            flag=flag,
        )
    queue = option.queue if option is not None else menu.default_queue
    return await enter_queue(request, call_sid=form["CallSid"], queue=queue, blacklisted=flag == BLACKLIST_FLAG)


async def enter_queue(request: web.Request, *, call_sid: str, queue: QueueInfo, blacklisted: bool) -> str:
    """Into the queue when it is open (priority by the caller's segment); after hours a message for a call back."""
    base_url = request.app[SETTINGS].base_url
    now = _now(request)
    if not queue.is_open(now):
        log.info("call %s chose %s outside its hours; taking a message", call_sid, queue.name)
        task = None
        try:
            async with async_session_scope(request.app[SESSIONS]) as session:
                caller = await caller_of_call(session, call_sid)
                task = await request_callback(
                    session,
                    call_sid=call_sid,
                    queue_id=queue.id,
                    reason=CALLBACK_AFTER_HOURS,
                    caller=caller.caller,
                    customer_id=caller.customer_id,
                    now=now,
                )
        except Exception:
            # The message is still recorded: it reaches the call's record through the recording callback.
            log.exception("call-back task of call %s (%s, after hours) could not be stored", call_sid, queue.name)
        else:
            request.app[METRICS].desk_callbacks.labels(queue.name, CALLBACK_AFTER_HOURS).inc()
            await callback_requested(request.app, task)
        message = queue.closed_message or ivr.closed_message(queue.label, describe_hours(queue.hours))
        return ivr.take_message(base_url, message=message, queue_name=queue.name)
    try:
        async with async_session_scope(request.app[SESSIONS]) as session:
            caller = await caller_of_call(session, call_sid)
            waiting = await enqueue_call(
                session, call_sid=call_sid, queue_id=queue.id, caller=caller, now=now, blacklisted=blacklisted
            )
    except Exception:
        # Twilio must never hear an error: the caller waits in the queue all the same.
        log.exception("call %s could not be put in queue %s in the store; enqueued anyway", call_sid, queue.name)
        return ivr.enqueue(base_url, queue_name=queue.name, label=queue.label)
    log.info("call %s waits in %s with priority %d", call_sid, queue.name, waiting.priority)
    wake_distributor(request.app)
    green = is_green_channel(waiting.segment)
    request.app[METRICS].desk_enqueued.labels(queue.name, "green" if green else "normal").inc()
    return ivr.enqueue(base_url, queue_name=queue.name, label=queue.label, green_channel=green)


async def call_status(request: web.Request, *, call_sid: str, status: str | None) -> None:
    """A call that ended while waiting in a queue is abandoned (whichever report comes first counts); an offer of
    it is withdrawn, a conversation with an agent ends."""
    if status not in ENDED:
        return
    now = _now(request)
    try:
        async with async_session_scope(request.app[SESSIONS]) as session:
            ended = await abandon(session, call_sid=call_sid, now=now, queue_result=f"call-{status}")
            news = await offers.caller_gone(session, call_sid=call_sid, now=now)
    except Exception:
        log.exception("call %s ended; its wait could not be closed", call_sid)
        return
    await tell_desks(request.app, news)
    if ended is not None:
        waiting, task = ended
        request.app[DIRECTORY].wait_ended(request.app[METRICS], waiting, task)
        await callback_requested(request.app, task)
        log.info("call %s abandoned after %ss in the queue; call-back task %s", call_sid, task.wait_seconds, task.id)
