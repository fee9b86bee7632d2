"""The application factory: one place where the gateway is assembled.

The root application holds the Twilio webhooks, health, metrics and the console's stylesheet, and everything
the requests share (database, queue, settings, metrics, caches: `gateway.keys`), made and closed in its cleanup
contexts. Two front doors are mounted on it, each with its own middlewares: the JSON API at /api/v1
(`gateway.api_app`) and the web console at /console (`gateway.console.app`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from crm_store.calls.incoming import IncomingCallWriter
from crm_store.customers.rules import load_rules
from crm_store.customers.screen_pop import PictureReader
from crm_store.db import async_session_factory, make_async_engine, make_engine
from crm_store.dispatch.config import load_config as load_dispatch_config
from gateway import (
    api_app,
    desk_socket,
    desk_views,
    dispatch_live,
    health,
    media_socket,
    twilio_views,
    wallboard,
)
from gateway.client_address import client_address_middleware, parse_networks
from gateway.console import app as console_app
from gateway.keys import (
    DB_ENGINE,
    DISPATCH,
    EXECUTOR,
    INCOMING,
    METRICS,
    PICTURES,
    REDIS,
    RELAY_WAKE,
    RULES,
    SESSIONS,
    SETTINGS,
    SIGNATURE,
    SYNC_ENGINE,
    TOKEN_CACHE,
    TRUSTED_PROXIES,
)
from gateway.metrics import Metrics
from gateway.token_cache import TokenCache
from telephony.signature import TwilioSignature
from workers.queueing import CALL_ALERTS, connect_redis, relay_outbox
from workers.runner import EmbeddedWorker
from workers.settings import Settings

log = logging.getLogger(__name__)
CLIENT_MAX_SIZE = 1024 * 1024


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = make_async_engine(settings.async_db_url)
    app[DB_ENGINE] = engine
    app[SESSIONS] = async_session_factory(engine)
    app[INCOMING] = IncomingCallWriter(engine, app[SESSIONS], alert_job=CALL_ALERTS)
    # The outbox relay runs in a thread (rq is synchronous), with its own small pool.
    app[SYNC_ENGINE] = make_engine(settings.sync_db_url, pool_size=2)
    app[PICTURES] = PictureReader(engine, app[SESSIONS])
    yield
    await app[PICTURES].close()
    await app[INCOMING].close()
    await engine.dispose()
    app[SYNC_ENGINE].dispose()


async def _queue(app: web.Application) -> AsyncIterator[None]:
    app[EXECUTOR] = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hotline-io")
    app[REDIS] = connect_redis(app[SETTINGS])
    yield
    app[EXECUTOR].shutdown(wait=True, cancel_futures=True)
    app[REDIS].close()


async def _relay_loop(app: web.Application) -> None:
    """Relay promised jobs to the queue: at once when woken, and every few seconds to catch up after an outage."""
    settings, wake = app[SETTINGS], app[RELAY_WAKE]
    loop = asyncio.get_running_loop()
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), settings.outbox_interval)
        wake.clear()
        try:
            relayed = await loop.run_in_executor(app[EXECUTOR], relay_outbox, app[SYNC_ENGINE], app[REDIS], settings)
        except Exception:
            log.exception("outbox relay failed; retrying in %.0f s", settings.outbox_interval)
            continue
        if relayed:
            app[METRICS].outbox_relayed.inc(relayed)


async def _outbox_relay(app: web.Application) -> AsyncIterator[None]:
    app[RELAY_WAKE] = asyncio.Event()
    task = asyncio.create_task(_relay_loop(app), name="outbox-relay")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _embedded_worker(app: web.Application) -> object:
    async def context(app: web.Application) -> AsyncIterator[None]:
        worker = EmbeddedWorker(app[SETTINGS], app[REDIS])
        worker.start()
        log.info("no REDIS_URL: jobs run in this process (in-process queue and worker)")
        yield
        await asyncio.get_running_loop().run_in_executor(None, worker.stop)

    return context


def create_app(settings: Settings, *, embedded_worker: bool | None = None) -> web.Application:
    """The gateway: Twilio webhooks, health and metrics on the root; the JSON API and the console as sub-apps."""
    # The client-address middleware only behind trusted proxies: without them it would be a no-op on every request.
    # Middlewares of the root run for the sub-applications' requests too, before their own.
    proxies = parse_networks(settings.trusted_proxies)
    app = web.Application(middlewares=[client_address_middleware] if proxies else [], client_max_size=CLIENT_MAX_SIZE)
    app[SETTINGS] = settings
    app[TRUSTED_PROXIES] = proxies
    app[METRICS] = Metrics()
    app[SIGNATURE] = TwilioSignature(settings.twilio_auth_token, settings.base_url)
    app[TOKEN_CACHE] = TokenCache()
    app[RULES] = load_rules()
    app[DISPATCH] = load_dispatch_config()
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_queue)
    app.cleanup_ctx.append(_outbox_relay)
    if embedded_worker if embedded_worker is not None else settings.redis_url is None:
        app.cleanup_ctx.append(_embedded_worker(app))  # type: ignore[arg-type]
    twilio_views.setup_routes(app)
    desk_views.setup_routes(app)
    desk_socket.setup_desk_socket(app)
    dispatch_live.setup_dispatch_live(app)
    media_socket.setup_media_socket(app)
    wallboard.setup_wallboard(app)
    health.setup_routes(app)
    app.router.add_static("/static/", console_app.STATIC_DIR, name="static")
    app.add_subapp(api_app.PREFIX, api_app.create_api_app())
    app.add_subapp(console_app.PREFIX, console_app.create_console_app())
    return app
