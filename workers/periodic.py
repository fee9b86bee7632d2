"""Periodic duties of the workers: escalation of review items nobody took within their queue's time limit.

Every worker serving the `hotline` queue (the `hotline worker` processes, and the in-process worker of the embedded
mode) checks at each maintenance pass (HOTLINE_WORKER_MAINTENANCE_INTERVAL, default 60 s) whether a duty is due,
and enqueues it as an ordinary job whose id names its time slot (`escalate-reviews-<slot>`): however many workers
look, one job per slot runs. The job is idempotent (`escalate_overdue` moves an item only while it is open in the
queue it was late in), so a retried or doubled run changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from rq import Queue
from rq.exceptions import DuplicateJobError

from crm_store.db import session_scope
from crm_store.routing import escalate_overdue
from crm_store.types import utcnow
from workers.context import current
from workers.queueing import FAILURE_TTL, QUEUE_DEFAULT

log = logging.getLogger(__name__)

ESCALATE_REVIEWS = "workers.periodic.escalate_reviews"
# A slot's job id stays known to Redis this long after the job ran, so a late worker cannot run the slot again.
SLOT_MEMORY = 3600


def escalate_reviews(as_of: str) -> list[int]:
    """The job: move every review item overdue at `as_of` (ISO) to the upper-level center; the ids moved."""
    with session_scope(current().engine) as session:
        moved = escalate_overdue(session, now=datetime.fromisoformat(as_of))
    if moved:
        log.info("escalated %d review item(s) nobody took in time: %s", len(moved), moved)
    return moved


class PeriodicDuties:
    """Enqueues the escalation job once per slot of `every` seconds (the clock is injectable for tests)."""

    def __init__(self, redis: Redis, *, every: int, clock: Callable[[], datetime] = utcnow) -> None:
        self.redis = redis
        self.every = max(1, every)
        self.clock = clock
        self._next: datetime | None = None

    def slot_job_id(self, now: datetime) -> str:
        """The id of the escalation job of the slot `now` falls in."""
        return f"escalate-reviews-{int(now.timestamp()) // self.every * self.every}"

    def run_due(self) -> str | None:
        """Enqueue the escalation job if its slot has come; its id (None when not due or already there)."""
        now = self.clock()
        if self._next is not None and now < self._next:
            return None
        slot_start = int(now.timestamp()) // self.every * self.every
        self._next = datetime.fromtimestamp(slot_start, UTC) + timedelta(seconds=self.every)
        job_id = self.slot_job_id(now)
        try:
            Queue(QUEUE_DEFAULT, connection=self.redis).enqueue(
                ESCALATE_REVIEWS,
                now.isoformat(),
                job_id=job_id,
                unique=True,
                job_timeout=300,
                result_ttl=SLOT_MEMORY,
                failure_ttl=FAILURE_TTL,
                description=job_id,
            )
        except DuplicateJobError:
            return None  # another worker enqueued this slot's job first
        return job_id


class PeriodicDutiesMixin:
    """For rq workers: the periodic duties run at each maintenance pass, after rq's own."""

    duties: PeriodicDuties | None = None

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()  # type: ignore[misc]
        if self.duties is None:
            return
        try:
            self.duties.run_due()
        except Exception:  # Redis away: the next maintenance pass tries again; the worker keeps working
            log.exception("periodic duties could not be enqueued; retrying at the next maintenance pass")


def attach_duties(worker: Any, redis: Redis, *, every: int) -> None:
    """Give a worker built from PeriodicDutiesMixin its duties."""
    worker.duties = PeriodicDuties(redis, every=every)
