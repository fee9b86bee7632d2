"""The desk's WebSocket, GET /api/v1/desk/ws: one connection per open desk of an agent.

Authenticated by the API's front door (bearer token or console session; a session must come from the console's
own origin), for desk roles only; a request that is no upgrade is answered 400. While it is open the connection
keeps its agent online: aiohttp pings it (a silent client is dropped), the agent's heartbeat is written when it
opens, and every `DeskTiming.beat` seconds each process writes the heartbeats of all the desks open in it in one
statement (not a transaction per desk, which at 200 desks was 40 a second); every process checks every
`DeskTiming.check` seconds for agents whose heartbeat went quiet for `DeskTiming.silence` and makes them offline
(`crm_store.desk.agents`; the rows are taken with SKIP LOCKED, so several gateway processes may check at once). An
agent who closes their desk goes offline at once; a socket the server closes (shutdown, a client too slow to read)
leaves the agent's state alone: their desk reconnects to another process, or falls silent.

Frames published on the agent's channel (`workers.desk_channel.send_to_agent`, from any process) reach every
socket the agent has open: each process subscribes once to every agent's channel (`AgentChannels`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import ChainMapProxy, WSCloseCode, WSMsgType, web
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from crm_store.db import async_session_scope
from crm_store.desk import agents, offers
from crm_store.desk.agent_tables import AgentState, DeskAgent
from crm_store.org.scope import Viewer
from crm_store.validation import Conflict, NotAllowed
from gateway import desk_frames
from gateway.desk import CLOCK, tell_desks, wake_distributor
from gateway.inputs import request_viewer
from gateway.keys import EXECUTOR, REDIS, SESSION_ID, SESSIONS, SETTINGS
from gateway.live_call import stored_transcript_frames
from gateway.live_sockets import async_redis as _async_redis
from gateway.live_sockets import same_origin as _same_origin
from workers.desk_channel import channel_pattern, send_to_agent, send_to_agent_async, staff_of_channel

log = logging.getLogger(__name__)

# An agent's frames are a few hundred bytes; anything near this is not one.
MAX_FRAME = 4096
# Frames waiting for a client that reads too slowly; beyond, the client is dropped rather than buffered.
OUTBOX = 64
# A frame the client's connection takes no sooner than this is a client gone quiet: dropped.
SEND_TIMEOUT = 10.0
CLEAN_CLOSE = frozenset({WSCloseCode.OK, WSCloseCode.GOING_AWAY})


@dataclass(frozen=True)
class DeskTiming:
    """The desk connection's clocks, in seconds: aiohttp's ping, the heartbeat write, the silence check, and the
    silence after which an agent is offline."""

    ping: float = 10.0
    beat: float = 5.0
    check: float = 5.0
    silence: float = 20.0


TIMING = web.AppKey("desk_timing", DeskTiming)
# The call distributor's handling of an agent's accept or decline (set by `gateway.desk_distributor`).
OfferAnswers = Callable[["DeskConnection", desk_frames.OfferAnswer], Awaitable[None]]
OFFER_ANSWERS: web.AppKey[OfferAnswers] = web.AppKey("desk_offer_answers")
# The offer open to the agent sent again to a desk opened while it waits (a reload), by the call distributor.
OfferAgain = Callable[["DeskConnection"], Awaitable[None]]
OFFER_AGAIN: web.AppKey[OfferAgain] = web.AppKey("desk_offer_again")
# The root application, or a request's view of it through a sub-application (`request.config_dict`).
Config = web.Application | ChainMapProxy


class DeskConnection:
    """One open desk: a bounded outbox drained by a writer task, the heartbeat, and the agent's frames."""

    def __init__(self, app: Config, ws: web.WebSocketResponse, viewer: Viewer) -> None:
        self.app, self.ws, self.viewer = app, ws, viewer
        self.staff_id = viewer.staff_id
        self.closed_by_server = False
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue(maxsize=OUTBOX)
        self._answering: set[asyncio.Task[None]] = set()

    def deliver(self, text: str) -> None:
        """Queue a frame; a client that lets its outbox fill up is dropped."""
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("desk of staff %d reads too slowly: dropped", self.staff_id)
            while not self._outbox.empty():
                self._outbox.get_nowait()
            self._outbox.put_nowait(None)

    async def close(self, code: int, message: bytes) -> None:
        """Close the socket from the server's side (the agent's state stays as it is)."""
        self.closed_by_server = True
        await self.ws.close(code=code, message=message)

    async def run(self) -> None:
        """Serve the socket until it closes: the state first, then frames both ways."""
        writer = asyncio.create_task(self._write(), name=f"desk-writer-{self.staff_id}")
        try:
            # The first beat at once; then the process's beat writes every open desk's together (`beat_open_desks`).
            async with async_session_scope(self.app[SESSIONS]) as session:
                await agents.heartbeat(session, self.staff_id, now=self.app[CLOCK]())
                agent = await agents.desk_agent(session, self.staff_id)
                # A desk opened (or reloaded) mid-call gets the call's live transcript so far after its state.
                earlier = await stored_transcript_frames(session, agent)
            self.deliver(desk_frames.encode(desk_frames.state_frame(agent)))
            for frame in earlier:
                self.deliver(desk_frames.encode(frame))
            if agent is not None and agent.state == AgentState.OFFERED.value:
                await self._offer_again()
            async for message in self.ws:
                if message.type is WSMsgType.TEXT:
                    self._answer(message.data)
                elif message.type is WSMsgType.BINARY:
                    self.deliver(desk_frames.encode(desk_frames.error_frame("frames are JSON text")))
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    async def _offer_again(self) -> None:
        offer_again = self.app.get(OFFER_AGAIN)
        if offer_again is None:
            return
        try:
            await offer_again(self)
        except Exception:  # the offer stands: its reservation runs out and the call goes to the next agent
            log.exception("the open offer of staff %d could not be sent again to their new desk", self.staff_id)

    def _answer(self, text: str) -> None:
        try:
            frame = desk_frames.parse_agent_frame(text)
        except desk_frames.FrameRefused as err:
            self.deliver(desk_frames.encode(desk_frames.error_frame(str(err), err.fields)))
            return
        answers = self.app.get(OFFER_ANSWERS)
        if answers is None:
            refusal = desk_frames.error_frame("no call is offered to you", call_sid=frame.call_sid)
            self.deliver(desk_frames.encode(refusal))
            return
        # The distributor answers in a task of its own: the reader goes on reading meanwhile.
        task = asyncio.create_task(self._answered(answers, frame), name=f"desk-answer-{self.staff_id}")
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def _answered(self, answers: OfferAnswers, frame: desk_frames.OfferAnswer) -> None:
        try:
            await answers(self, frame)
        except Exception:
            log.exception("the %s of call %s by staff %d failed", frame.type, frame.call_sid, self.staff_id)
            refusal = desk_frames.error_frame("the answer could not be taken; try again", call_sid=frame.call_sid)
            self.deliver(desk_frames.encode(refusal))

    async def _write(self) -> None:
        while True:
            text = await self._outbox.get()
            try:
                if text is not None:
                    await asyncio.wait_for(self.ws.send_str(text), SEND_TIMEOUT)
                    continue
            except TimeoutError:
                log.warning("desk of staff %d takes no frames: dropped", self.staff_id)
            except ConnectionError:
                return  # gone: the reader sees it too
            await self.close(WSCloseCode.POLICY_VIOLATION, b"too slow")
            return


class AgentChannels:
    """This process's open desks by agent, fed by one pattern subscription to every agent's channel."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._desks: dict[int, set[DeskConnection]] = {}
        self.subscribed = asyncio.Event()

    def attach(self, desk: DeskConnection) -> None:
        """Hold an open desk."""
        self._desks.setdefault(desk.staff_id, set()).add(desk)

    def detach(self, desk: DeskConnection) -> None:
        """Forget a closed desk."""
        open_here = self._desks.get(desk.staff_id, set())
        open_here.discard(desk)
        if not open_here:
            self._desks.pop(desk.staff_id, None)

    def open_for(self, staff_id: int) -> bool:
        """Whether the agent has a desk open in this process."""
        return bool(self._desks.get(staff_id))

    def agents_here(self) -> list[int]:
        """The agents with a desk open in this process."""
        return list(self._desks)

    def every_desk(self) -> list[DeskConnection]:
        """Every desk open in this process."""
        return [desk for desks in self._desks.values() for desk in desks]

    def forward(self, channel: str | bytes, data: str | bytes) -> None:
        """A published frame to the agent's desks in this process (none: another process holds them)."""
        staff_id = staff_of_channel(channel)
        if staff_id is None:
            return
        text = data.decode() if isinstance(data, bytes) else data
        for desk in list(self._desks.get(staff_id, ())):
            desk.deliver(text)

    async def listen(self) -> None:
        """Forward published frames until cancelled; Redis away: subscribe again a second later."""
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.psubscribe(channel_pattern(self.redis))
                    self.subscribed.set()
                    while True:
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        if message is not None and message["type"] == "pmessage":
                            self.forward(message["channel"], message["data"])
            except (RedisError, OSError):
                self.subscribed.clear()
                log.warning("desk channels: Redis unreachable; subscribing again in 1 s", exc_info=True)
                await asyncio.sleep(1.0)


CHANNELS = web.AppKey("desk_channels", AgentChannels)


async def publish(app: Config, staff_id: int, frame: Mapping[str, Any]) -> None:
    """Send a frame to the agent's desks from a handler (on the desk channels' asyncio client once they run, else
    off the event loop); a frame that cannot be published is logged and lost (the desk reads its state again when it
    reconnects)."""
    channels = app.get(CHANNELS)
    try:
        if channels is not None:
            await send_to_agent_async(channels.redis, staff_id, frame)
        else:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(app[EXECUTOR], send_to_agent, app[REDIS], staff_id, frame)
    except (RedisError, OSError):
        log.warning("desk frame for staff %d not published", staff_id, exc_info=True)


async def publish_state(app: Config, agent: DeskAgent) -> None:
    """Tell the agent's desks their state."""
    await publish(app, agent.staff_id, desk_frames.state_frame(agent))


async def desk_socket(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/desk/ws"""
    viewer = request_viewer(request)
    if viewer.role not in agents.DESK_ROLES:
        raise NotAllowed("only agents and center managers have a desk")
    # A page of another site could open the socket with the console's cookie: a session must come from our origin.
    if SESSION_ID in request and not _same_origin(request):
        raise NotAllowed("the desk opens from the console's own origin")
    app = request.config_dict
    ws = web.WebSocketResponse(heartbeat=app[TIMING].ping, max_msg_size=MAX_FRAME)
    if not ws.can_prepare(request).ok:
        raise web.HTTPBadRequest(text="a WebSocket upgrade is expected")
    await ws.prepare(request)
    desk = DeskConnection(app, ws, viewer)
    channels = app[CHANNELS]
    channels.attach(desk)
    try:
        await desk.run()
    finally:
        channels.detach(desk)
        if not desk.closed_by_server and ws.close_code in CLEAN_CLOSE and not channels.open_for(viewer.staff_id):
            await _close_desk(app, viewer)
    return ws


async def _close_desk(app: Config, viewer: Viewer) -> None:
    """The agent closed their desk: offline at once, unless a call holds them (the silence check sees to an offer;
    a connected call ends on its own)."""
    try:
        async with async_session_scope(app[SESSIONS]) as session:
            agent = await agents.choose_state(session, viewer, AgentState.OFFLINE, now=app[CLOCK]())
    except Conflict:
        return
    except Exception:
        log.exception("closing the desk of staff %d: not made offline (the silence check will)", viewer.staff_id)
        return
    await publish_state(app, agent)


async def silence_quiet_desks(app: Config) -> list[agents.SilencedAgent]:
    """One silence check: agents whose desk went quiet become offline, and their desks (if any) are told."""
    timing = app[TIMING]
    now = app[CLOCK]()
    async with async_session_scope(app[SESSIONS]) as session:
        silenced = await agents.silence_offline_agents(session, now=now, silence=timedelta(seconds=timing.silence))
        states = [desk_frames.state_frame(await agents.desk_agent(session, s.staff_id)) for s in silenced]
        # An offer held by an agent gone quiet goes back in line at once (offered to the next agent).
        released = await offers.release_offers_of(
            session, [s.staff_id for s in silenced if s.offered_call_sid is not None], now=now
        )
    for quiet, frame in zip(silenced, states, strict=True):
        log.info("staff %d went silent at the desk (%s): offline", quiet.staff_id, quiet.was.value)
        await publish(app, quiet.staff_id, frame)
    if released:
        await tell_desks(app, released)
        wake_distributor(app)
    return silenced


async def beat_open_desks(app: Config) -> int:
    """One heartbeat for every desk open in this process, in one statement (not a transaction per desk)."""
    open_here = app[CHANNELS].agents_here()
    if not open_here:
        return 0
    async with async_session_scope(app[SESSIONS]) as session:
        return await agents.heartbeats(session, open_here, now=app[CLOCK]())


async def _beat_loop(app: web.Application, stop: asyncio.Event) -> None:
    every = app[TIMING].beat
    async for _ in ticks(every, stop):
        try:
            await beat_open_desks(app)
        except Exception:  # the database away: the next beat tries again, the sockets stay open
            log.exception("heartbeat of the open desks not written; trying again in %.0f s", every)


async def ticks(every: float, stop: asyncio.Event) -> AsyncIterator[None]:
    """A tick at once and then every `every` seconds, until `stop` is set (work under way is not interrupted)."""
    while not stop.is_set():
        yield
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def _silence_loop(app: web.Application, stop: asyncio.Event) -> None:
    every = app[TIMING].check
    async for _ in ticks(every, stop):
        try:
            await silence_quiet_desks(app)
        except Exception:
            log.exception("desk silence check failed; trying again in %.0f s", every)


async def _desk_channels(app: web.Application) -> AsyncIterator[None]:
    redis = _async_redis(app[REDIS], app[SETTINGS].redis_url)
    channels = AgentChannels(redis)
    app[CHANNELS] = channels
    listening = asyncio.create_task(channels.listen(), name="desk-channels")
    stop = asyncio.Event()
    checking = asyncio.create_task(_silence_loop(app, stop), name="desk-silence")
    beating = asyncio.create_task(_beat_loop(app, stop), name="desk-heartbeat")
    # Frames published right after start reach the desks; Redis away does not hold the gateway up.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(channels.subscribed.wait(), 2.0)
    yield
    stop.set()
    listening.cancel()
    await asyncio.gather(listening, checking, beating, return_exceptions=True)
    await redis.aclose()


async def _close_desks(app: web.Application) -> None:
    """At shutdown: every desk of this process closed with 1001 (going away); the agents' desks reconnect."""
    desks = app[CHANNELS].every_desk()
    await asyncio.gather(*(desk.close(WSCloseCode.GOING_AWAY, b"server shutdown") for desk in desks))


def setup_desk_socket(app: web.Application) -> None:
    """The desk sockets' channels, their silence check and their closing at shutdown (the route is a row of the
    API's route table); tests may set their own timing first."""
    app.setdefault(TIMING, DeskTiming())
    app.cleanup_ctx.append(_desk_channels)
    app.on_shutdown.append(_close_desks)
