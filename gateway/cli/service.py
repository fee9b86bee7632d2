"""Running the service: the gateway, the workers, the schema, demo data, failed jobs and the daily duties by hand."""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Sequence
from datetime import date

from gateway.cli.errors import CommandFailed
from workers.settings import Settings

log = logging.getLogger("hotline")


def prepare_embedded_database(settings: Settings) -> None:
    """No DATABASE_URL: a SQLite file, created and migrated on the spot."""
    if settings.database_url is None:
        from crm_store.migrate import upgrade

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.sync_db_url)


def serve(settings: Settings) -> None:
    """Run the gateway until stopped (and, without REDIS_URL, the jobs in this process)."""
    from aiohttp import web

    from gateway.app import create_app

    prepare_embedded_database(settings)
    app = create_app(settings)
    mode = "embedded (SQLite + in-process queue)" if settings.redis_url is None else "PostgreSQL/Redis workers"
    print(
        f"Hotline listening on http://{settings.host}:{settings.port}  (Twilio base URL {settings.base_url}; {mode})",
        flush=True,
    )
    try:
        import uvloop  # libuv's event loop: the same asyncio API, about twice the I/O throughput

        uvloop.install()
    except ImportError:
        log.info("uvloop not installed; using asyncio's default event loop")
    app.on_startup.append(_freeze_heap)
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None)


async def _freeze_heap(_app: object) -> None:
    """Once started: what the start made (modules, the engines, menus, models) is kept out of the collector's full
    passes, which otherwise walked it all and held the event loop 150-200 ms several times a minute (the desk's
    screen pops waited on them)."""
    gc.collect()
    gc.freeze()


def worker(settings: Settings, queue_names: Sequence[str], *, burst: bool, name: str | None) -> None:
    """Serve rq queues in this process (`all`: every queue)."""
    from workers.queueing import ALL_QUEUES
    from workers.runner import run_worker

    if settings.redis_url is None:
        raise CommandFailed("hotline worker needs REDIS_URL; without it `hotline serve` runs the jobs itself")
    queues = list(ALL_QUEUES) if list(queue_names) == ["all"] else list(queue_names)
    run_worker(settings, queues, burst=burst, name=name)


def migrate(settings: Settings, revision: str) -> None:
    """Bring the schema to `revision` and print where it is."""
    from crm_store.migrate import current_revision, upgrade

    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sync_db_url, revision)
    print(f"database at revision {current_revision(settings.sync_db_url)}")


def seed_demo(settings: Settings, *, customers: int) -> None:
    """The demo organisation, staff and customers; prints a summary."""
    from crm_store.db import make_engine
    from crm_store.desk.seed import seed_desk
    from demo_seed.desk_agents import seed_desk_agents
    from demo_seed.dispatch_demo import seed_dispatch
    from demo_seed.seed import seed_demo

    prepare_embedded_database(settings)
    engine = make_engine(settings.sync_db_url)
    try:
        summary = seed_demo(engine, secret_key=settings.secret_key, customers=customers)
        # The desk's queues and a menu for every hotline number (once; later runs leave them as they are), then every
        # demo agent's desk profile (endpoint and the queues' skills).
        seed_desk(engine)
        seed_desk_agents(engine)
        # Every demo surveyor's dispatch profile and the tow and rescue vendors (once).
        seed_dispatch(engine)
    finally:
        engine.dispose()
    print(summary)


def jobs(settings: Settings, action: str, job_ids: Sequence[str]) -> None:
    """`failed`: one JSON object per failed job; `requeue`: put failed jobs (all, or these) back on their queues."""
    from workers.failures import failed_jobs, requeue_failed
    from workers.queueing import connect_redis

    if settings.redis_url is None:
        raise CommandFailed("hotline jobs needs REDIS_URL (the in-process queue lives inside `hotline serve`)")
    redis = connect_redis(settings)
    if action == "failed":
        for job in failed_jobs(redis):
            print(json.dumps(job, ensure_ascii=False))
        return
    count = requeue_failed(redis, list(job_ids) or None)
    print(f"requeued {count} job(s)")


def escalate(settings: Settings) -> None:
    """Move review items nobody took in time to the upper-level center (run from cron or a scheduler)."""
    from crm_store.db import make_engine, session_scope
    from crm_store.review.routing import escalate_overdue
    from crm_store.types import utcnow

    engine = make_engine(settings.sync_db_url)
    try:
        with session_scope(engine) as session:
            moved = escalate_overdue(session, now=utcnow())
    finally:
        engine.dispose()
    print(f"{len(moved)} review items escalated")


def recompute_segments(settings: Settings, *, as_of: date | None) -> None:
    """Every customer's segment now (the workers also run this once per business day)."""
    from crm_store.customers.rules import load_rules
    from crm_store.customers.segments import recompute_all_segments
    from crm_store.db import make_engine
    from crm_store.validation import business_today

    engine = make_engine(settings.sync_db_url)
    try:
        run = recompute_all_segments(
            engine, rules=load_rules(), as_of=as_of or business_today(), changed_by="segment-cli"
        )
    finally:
        engine.dispose()
    segments = ", ".join(f"{name} {count:,}" for name, count in sorted(run.by_segment.items()))
    print(f"{run.customers:,} customers, {run.changed:,} changed, {run.seconds:.1f} s; segments: {segments or '-'}")


def service_duties(settings: Settings, *, as_of: date | None) -> None:
    """Schedule the account managers' service tasks now (the workers also run this once per business day)."""
    from crm_store.customers.rules import load_rules
    from crm_store.db import make_engine
    from crm_store.managers.account_managers import schedule_service_tasks
    from crm_store.validation import business_today

    engine = make_engine(settings.sync_db_url)
    try:
        created = schedule_service_tasks(engine, rules=load_rules(), as_of=as_of or business_today())
    finally:
        engine.dispose()
    print(f"{created} service task(s) scheduled")
