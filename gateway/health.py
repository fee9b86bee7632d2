"""GET /healthz and GET /metrics."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import func
from sqlmodel import col, select

from crm_store.calls.tables import OutboxJob
from gateway.keys import EXECUTOR, METRICS, REDIS, SESSIONS
from workers.queueing import ALL_QUEUES

log = logging.getLogger(__name__)


def _queue_figures(redis) -> dict[str, tuple[int, int]]:  # type: ignore[no-untyped-def]
    return {
        name: (Queue(name, connection=redis).count, FailedJobRegistry(name, connection=redis).count)
        for name in ALL_QUEUES
    }


async def healthz(request: web.Request) -> web.Response:
    """Database and queue reachability; 503 if the database is down (the queue may be, for a while)."""
    checks: dict[str, str] = {}
    try:
        async with request.app[SESSIONS]() as session:
            await session.exec(select(1))
        checks["database"] = "ok"
    except Exception as err:
        checks["database"] = f"error: {type(err).__name__}"
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(request.app[EXECUTOR], request.app[REDIS].ping), 3)
        checks["queue"] = "ok"
    except Exception as err:
        checks["queue"] = f"error: {type(err).__name__}"
    healthy = checks["database"] == "ok"
    return web.json_response(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition, with outbox and queue gauges read at scrape time."""
    metrics = request.app[METRICS]
    try:
        async with request.app[SESSIONS]() as session:
            pending = (
                await session.exec(
                    select(func.count()).select_from(OutboxJob).where(col(OutboxJob.enqueued_at).is_(None))
                )
            ).one()
        metrics.outbox_pending.set(pending)
    except Exception:
        log.warning("outbox gauge unavailable", exc_info=True)
    loop = asyncio.get_running_loop()
    try:
        figures = await asyncio.wait_for(
            loop.run_in_executor(request.app[EXECUTOR], _queue_figures, request.app[REDIS]), 3
        )
        for name, (length, failed) in figures.items():
            metrics.queue_length.labels(name).set(length)
            metrics.failed_jobs.labels(name).set(failed)
    except Exception:
        log.warning("queue gauges unavailable", exc_info=True)
    body = generate_latest(metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
