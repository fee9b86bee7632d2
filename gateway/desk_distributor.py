"""The automatic call distributor of the gateway: offers waiting calls to agents over their desks, takes their
answers, connects the caller through Twilio's REST API, and tells the desks what became of each call.

Every gateway process runs one `Distributor`: a pass (`crm_store.desk.offers.distribute`, row locks with SKIP
LOCKED, so the processes' passes never take the same rows) runs at once when something may let a call be offered
(a call queued, an agent available, an offer declined, timed out or withdrawn: `gateway.desk.wake_distributor`),
shortly after a pass whose chosen agent another transaction held, and otherwise every `DistributorTiming.tick`
seconds; beside the passes, every tick, a sweep takes back offers past their reservation and accepted calls whose
connection never reached Twilio (a gateway that died between offer and connect). The database is the truth; a
process's memory holds nothing another process would need.

The offer frame carries the customer's picture as `GET /api/v1/customers/{id}` gives it to the agent offered the
call (scope, clearance, masking), read and audited as serving the call; `null` when the caller is unknown or out of
the agent's scope, which `caller_status` and `caller_note` say plainly, and a blacklisted caller's flag shows
whatever the scope (`blacklisted`), the details staying masked. Connecting never blocks a handler: the REST
redirect runs in a task of its own; refused, the call waits again and is offered again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlmodel import col, select

from crm_store.db import async_session_scope
from crm_store.desk import offers
from crm_store.desk.offers import Accepted, Ended, Moved, Offered, Withdrawn
from crm_store.errors import CustomerNotFound
from crm_store.org.scope import Viewer
from crm_store.org.tables import Staff
from crm_store.validation import Conflict, business_today
from gateway import desk_frames
from gateway.desk import CLOCK, DIRECTORY, DISTRIBUTION_DUE, TELL_DESKS, TWILIO_REST
from gateway.desk_socket import OFFER_AGAIN, OFFER_ANSWERS, DeskConnection, publish
from gateway.keys import METRICS, PICTURES, RULES, SESSIONS, SETTINGS
from telephony import ivr
from telephony.twilio_rest import TwilioRestError

log = logging.getLogger(__name__)
UNKNOWN_NOTE = "등록되지 않은 번호입니다: 고객을 검색해 연결해 주십시오."
WITHHELD_NOTE = "발신 번호가 표시되지 않은 전화입니다."
OUT_OF_SCOPE_NOTE = "조회 권한 밖의 고객입니다: 고객 정보는 표시되지 않습니다."
BLACKLIST_NOTE = "블랙리스트 해당 고객입니다 (상세 내용은 권한에 따라 가려집니다)."


@dataclass(frozen=True)
class DistributorTiming:
    """The distributor's clocks, in seconds: a pass (and sweep) at least every `tick`, and how long an accepted call
    may stay unconfirmed by Twilio before it is taken as never connected and offered again."""

    tick: float = 1.0
    connect_grace: float = 15.0


DISTRIBUTOR_TIMING = web.AppKey("desk_distributor_timing", DistributorTiming)
# After a pass that found a chosen agent's row held by another transaction: the next pass this soon (the holder's
# statement is short; at once would spin while it runs).
REPASS_AFTER = 0.02


def _gateway_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


class Distributor:
    """This process's distributor (see the module's docstring)."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.due = asyncio.Event()
        self.gateway = _gateway_name()
        self._pass = asyncio.Lock()
        self._sweeping = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- passes -------------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Passes until `stop`: at once when due, else every tick; the sweep runs beside them, every tick."""
        tick = self.app[DISTRIBUTOR_TIMING].tick
        sweeping = asyncio.create_task(self._sweep_every(tick, stop), name="desk-distributor-sweep")
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.due.wait(), tick)
                if stop.is_set():
                    return
                self.due.clear()
                try:
                    # The decision only: the offers' pictures are read and published while the next pass runs.
                    made, _, passed_over = await self._offer_pass()
                except Exception:
                    log.exception("desk distributor pass failed; trying again in %.1f s", tick)
                    continue
                if len(made) >= offers.PASS_CALLS:
                    self.due.set()  # a full pass may have left calls waiting: once more at once
                elif passed_over:
                    # An agent chosen was held by another transaction (another gateway's pass, the heartbeat
                    # statement): another pass shortly, not at the next call or tick.
                    asyncio.get_running_loop().call_later(REPASS_AFTER, self.due.set)
        finally:
            await asyncio.gather(sweeping, return_exceptions=True)

    async def _sweep_every(self, tick: float, stop: asyncio.Event) -> None:
        # Beside the passes, not between them: a call queued while a sweep runs is offered at once.
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), tick)
            if stop.is_set():
                return
            try:
                await self.sweep()
            except Exception:
                log.exception("desk distributor sweep failed; trying again in %.1f s", tick)

    async def sweep(self) -> None:
        """Take back offers past their reservation and accepted calls never connected; agents whose after-call time
        is over become available."""
        settings = self.app[SETTINGS]
        grace = timedelta(seconds=self.app[DISTRIBUTOR_TIMING].connect_grace)
        now = self.app[CLOCK]()
        async with self._sweeping, async_session_scope(self.app[SESSIONS]) as session:
            expired = await offers.expire_offers(session, now=now)
            stale = await offers.stale_connections(session, now=now, grace=grace)
            wrapped = await offers.wrap_ups_done(
                session, now=now, after_call=timedelta(seconds=settings.desk_after_call)
            )
        if expired or stale or wrapped:
            self.due.set()
        for item in (*expired, *stale):
            log.info("offer of call %s to staff %d taken back (%s)", item.call_sid, item.staff_id, item.outcome)
        await asyncio.gather(*(self.tell(item) for item in (*expired, *stale)), *(self._state(m) for m in wrapped))

    async def offer_calls(self) -> list[Offered]:
        """One distribution pass; the offers made (each published to its agent's desks)."""
        made, publishing, _ = await self._offer_pass()
        if publishing is not None:
            await publishing
        return made

    async def _offer_pass(self) -> tuple[list[Offered], asyncio.Task[None] | None, int]:
        """One pass's decision, committed; the offers made, the task publishing them (pictures read meanwhile), and
        the calls passed over for an agent another transaction held."""
        settings = self.app[SETTINGS]
        async with self._pass, async_session_scope(self.app[SESSIONS]) as session:
            decided = await offers.distribute(
                session,
                now=self.app[CLOCK](),
                reservation=timedelta(seconds=settings.desk_reservation),
                gateway=self.gateway,
            )
            made = decided.offered
            staff = await _viewers(session, [offer.staff_id for offer in made])
        if not made:
            return made, None, decided.passed_over
        publishing = asyncio.create_task(self._publish_offers(made, staff), name=f"desk-offers-{made[0].call_sid}")
        self._tasks.add(publishing)
        publishing.add_done_callback(self._tasks.discard)
        return made, publishing, decided.passed_over

    async def _publish_offers(self, made: list[Offered], staff: dict[int, Viewer]) -> None:
        results = await asyncio.gather(
            *(self._publish_offer(offer, staff[offer.staff_id]) for offer in made), return_exceptions=True
        )
        for offer, result in zip(made, results, strict=True):
            if isinstance(result, BaseException):
                # The offer stands (its reservation runs out, the sweep takes it back); the desk reads its state.
                log.error("offer of call %s to staff %d not published", offer.call_sid, offer.staff_id, exc_info=result)

    async def _publish_offer(self, offer: Offered, viewer: Viewer) -> None:
        self.app[METRICS].desk_offers.labels(offer.queue, "made").inc()
        log.info("call %s offered to staff %d until %s", offer.call_sid, offer.staff_id, offer.expires_at.isoformat())
        # The agent's new state goes out while the picture is read.
        _, frame = await asyncio.gather(self._state(offer.agent), self.offer_frame(offer, viewer))
        await publish(self.app, offer.staff_id, frame)

    async def offer_frame(self, offer: Offered, viewer: Viewer) -> dict[str, Any]:
        """The offer frame for the agent: the fixed fields, then what says plainly who is calling."""
        picture, status = None, "withheld" if offer.caller is None and offer.customer_id is None else "unknown"
        if offer.customer_id is not None:
            try:
                picture = await self.app[PICTURES].picture(
                    viewer,
                    rules=self.app[RULES],
                    as_of=business_today(),
                    customer_id=offer.customer_id,
                    call_sid=offer.call_sid,
                )
                status = "known"
            except CustomerNotFound:
                status = "out_of_scope"
            except Exception:
                log.exception("picture of call %s for staff %d could not be read", offer.call_sid, offer.staff_id)
                status = "unavailable"
        notes = {"unknown": UNKNOWN_NOTE, "withheld": WITHHELD_NOTE, "out_of_scope": OUT_OF_SCOPE_NOTE}
        note = notes.get(status)
        if offer.blacklisted:
            note = f"{note} {BLACKLIST_NOTE}" if note else BLACKLIST_NOTE
        return {
            "type": "offer",
            "call_sid": offer.call_sid,
            "queue": offer.queue,
            "priority": offer.priority,
            "caller": offer.caller,
            "customer": picture,
            "queue_label": offer.queue_label,
            "caller_status": status,
            "caller_note": note,
            "blacklisted": offer.blacklisted,
            "green_channel": offer.priority > 0,
            "offered_at": offer.offered_at.isoformat(),
            "expires_at": offer.expires_at.isoformat(),
        }

    async def offer_again(self, desk_connection: DeskConnection) -> None:
        """The offer open to the agent, sent again to a desk they opened while it waits (a reload): the same frame,
        the picture read again for them."""
        async with async_session_scope(self.app[SESSIONS]) as session:
            offer = await offers.open_offer_of(session, desk_connection.staff_id)
        if offer is not None:
            frame = await self.offer_frame(offer, desk_connection.viewer)
            desk_connection.deliver(desk_frames.encode(frame))

    # -- the agent's answer -------------------------------------------------------------------------------

    async def answer(self, desk_connection: DeskConnection, frame: desk_frames.OfferAnswer) -> None:
        """An agent's `accept` or `decline` (from the desk it came on); refused with an `error` frame on that desk
        when no such offer is open."""
        staff_id, now = desk_connection.staff_id, self.app[CLOCK]()
        try:
            async with async_session_scope(self.app[SESSIONS]) as session:
                if frame.type == "accept":
                    outcome: Accepted | Withdrawn = await offers.accept(
                        session, staff_id=staff_id, call_sid=frame.call_sid, now=now
                    )
                else:
                    outcome = await offers.decline(session, staff_id=staff_id, call_sid=frame.call_sid, now=now)
        except Conflict as err:
            refusal = desk_frames.error_frame(str(err), call_sid=frame.call_sid)
            desk_connection.deliver(desk_frames.encode(refusal))
            return
        if isinstance(outcome, Withdrawn):
            await self.tell(outcome)
            self.due.set()
            return
        self._count(outcome.call_sid, "accepted", queue=outcome.queue)
        await self._state(outcome.agent)
        task = asyncio.create_task(self.connect(outcome), name=f"desk-connect-{outcome.call_sid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def connect(self, accepted: Accepted) -> None:
        """Redirect the caller to the agent's endpoint; refused, the call waits again and is offered again."""
        settings = self.app[SETTINGS]
        twiml = ivr.connect_agent(
            settings.base_url, endpoint=accepted.endpoint, queue_name=accepted.queue, stream=settings.desk_media_stream
        )
        try:
            await self.app[TWILIO_REST].redirect_call_async(accepted.call_sid, twiml)
        except TwilioRestError as err:
            log.warning("call %s could not be connected to staff %d: %s", accepted.call_sid, accepted.staff_id, err)
            async with async_session_scope(self.app[SESSIONS]) as session:
                failed = await offers.connect_failed(session, offer_id=accepted.offer_id, now=self.app[CLOCK]())
            if failed is not None:
                await self.tell(failed)
            self.due.set()
            return
        async with async_session_scope(self.app[SESSIONS]) as session:
            await offers.connected(session, offer_id=accepted.offer_id, now=self.app[CLOCK]())
        log.info("call %s connected to staff %d (%s)", accepted.call_sid, accepted.staff_id, accepted.username)
        await publish(self.app, accepted.staff_id, call_frame(accepted.call_sid, "connected"))

    # -- telling the desks --------------------------------------------------------------------------------

    async def tell(self, news: Withdrawn | Ended | Sequence[Withdrawn] | None) -> None:
        """Tell the agents' desks what became of a call, and count it."""
        if news is None:
            return
        if isinstance(news, Sequence):
            for item in news:
                await self.tell(item)
            return
        if isinstance(news, Ended):
            if news.agent is not None:
                await self._state(news.agent)
            state = "abandoned" if news.extra.get("unanswered") else "ended"
            await publish(self.app, news.staff_id, call_frame(news.call_sid, state))
            return
        self._count(news.call_sid, news.outcome, queue_id=news.queue_id)
        if news.outcome == offers.ABANDONED:
            await publish(self.app, news.staff_id, call_frame(news.call_sid, "abandoned"))
        elif news.outcome != offers.SILENCED:
            withdrawn = {"type": "offer_withdrawn", "call_sid": news.call_sid, "reason": news.outcome}
            await publish(self.app, news.staff_id, withdrawn)
        if news.agent is not None:
            await self._state(news.agent)
        self.due.set()

    async def _state(self, moved: Moved) -> None:
        await publish(self.app, moved.staff_id, desk_frames.state_of(moved.state, moved.since))

    def _count(self, call_sid: str, outcome: str, *, queue: str | None = None, queue_id: int | None = None) -> None:
        name = queue if queue is not None else self.app[DIRECTORY].queue_name(queue_id or 0)
        self.app[METRICS].desk_offers.labels(name, outcome).inc()

    async def close(self) -> None:
        """Let the connections under way finish."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def call_frame(call_sid: str, state: str) -> dict[str, Any]:
    """`{"type": "call", "call_sid", "state"}`: connected, ended or abandoned."""
    return {"type": "call", "call_sid": call_sid, "state": state}


async def _viewers(session: Any, staff_ids: list[int]) -> dict[int, Viewer]:
    if not staff_ids:
        return {}
    rows = (await session.exec(select(Staff).where(col(Staff.id).in_(staff_ids)))).all()
    return {int(staff.id): Viewer.of(staff) for staff in rows}


DISTRIBUTOR = web.AppKey("desk_distributor", Distributor)


async def _distributor(app: web.Application) -> AsyncIterator[None]:
    distributor = Distributor(app)
    app[DISTRIBUTOR] = distributor
    app[DISTRIBUTION_DUE] = distributor.due
    app[TELL_DESKS] = distributor.tell
    app[OFFER_ANSWERS] = distributor.answer
    app[OFFER_AGAIN] = distributor.offer_again
    stop = asyncio.Event()
    running = asyncio.create_task(distributor.run(stop), name="desk-distributor")
    distributor.due.set()
    yield
    stop.set()
    distributor.due.set()
    await asyncio.gather(running, return_exceptions=True)
    await distributor.close()


def setup_distributor(app: web.Application) -> None:
    """The distributor, started with the application (after the database and Twilio's REST client); tests may set
    their own timing first."""
    app.setdefault(DISTRIBUTOR_TIMING, DistributorTiming())
    app.cleanup_ctx.append(_distributor)
