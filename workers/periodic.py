"""Periodic duties of the workers: escalation of late review items, the segment run, the account managers' duties.

Every worker serving the `hotline` queue (the `hotline worker` processes, and the in-process worker of the embedded
mode) checks at each maintenance pass (HOTLINE_WORKER_MAINTENANCE_INTERVAL, default 60 s) whether a duty is due,
and enqueues it as an ordinary job whose id names its time slot:

- `escalate-reviews-<slot start, epoch seconds>`: every maintenance interval;
- `escalate-complaints-<slot start>`: every maintenance interval, overdue complaints move up to the parent unit
  (crm_store.complaints.escalation);
- `complaint-notices-<slot start>`: every maintenance interval, the complaint notices due are sent through Twilio's
  REST API (workers.complaint_jobs; a failed send is retried later with back-off);
- `complaint-reminders-<slot start>`: every maintenance interval, complaints whose next limit is near are reminded of
  (once per limit);
- `complaint-analysis-<business day>`: every day, the month before's complaint analysis is generated and stored
  unless it already was after it ended, so it is generated on the first day of each month;
- `recover-stuck-calls-<slot start>`: every maintenance interval, calls that stopped moving for HOTLINE_STUCK_AFTER
  seconds have their next step enqueued again (workers.stuck);
- `recompute-segments-<business day, YYYYMMDD>`: every HOTLINE_SEGMENT_RECOMPUTE_INTERVAL (default one day; slots
  start at midnight in Korea). It also refreshes the branch and company premium that key-by-share is decided on;
- `service-duties-<business day>`: every HOTLINE_SERVICE_DUTIES_INTERVAL (default one day): key-customer visits,
  quality-individual interviews and renewal reminders for the account managers;
- `roll-up-calls-<business day>`: every day, the month before is rolled up for the monthly reports unless it already
  was after it ended (workers.report_jobs), so it is counted on the first day of each month.

However many workers look, one job per slot runs: the id stays known to Redis for the whole slot (and a while after),
and rq refuses a second job of the same id. Each job is idempotent (escalation moves an item only while it is open
in the queue it was late in; the segment run writes only changes; service tasks are unique per customer, kind and
due day), so a retried or doubled run changes nothing. An interval of 0 turns a daily duty off, for a site that runs
`hotline recompute-segments` and `hotline service-duties` from cron instead. A failed run stays in rq's failed
registry (`hotline jobs failed`); the next slot runs again anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from rq import Queue
from rq.exceptions import DuplicateJobError, StopRequested

from crm_store.complaints.escalation import escalate_overdue_complaints
from crm_store.db import session_scope
from crm_store.review.routing import escalate_overdue
from crm_store.types import utcnow
from crm_store.validation import BUSINESS_TZ
from workers.context import current
from workers.queueing import FAILURE_TTL, QUEUE_DEFAULT
from workers.settings import Settings

log = logging.getLogger(__name__)

ESCALATE_REVIEWS = "workers.periodic.escalate_reviews"
ESCALATE_COMPLAINTS = "workers.periodic.escalate_complaints"
DISPATCH_TIMERS = "workers.dispatch_timers.dispatch_timers"
RECOVER_STUCK_CALLS = "workers.stuck.recover_stuck_calls"
RECOMPUTE_SEGMENTS = "workers.customer_jobs.recompute_segments"
SERVICE_DUTIES = "workers.customer_jobs.schedule_service_duties"
ROLL_UP_CALLS = "workers.report_jobs.roll_up_last_month"
COMPLAINT_NOTICES = "workers.complaint_jobs.send_complaint_notices"
COMPLAINT_REMINDERS = "workers.complaint_jobs.remind_complaints"
COMPLAINT_ANALYSIS = "workers.complaint_jobs.generate_complaint_analyses"
# A slot's job id stays known to Redis this long after its slot ended, so a late worker cannot run the slot again.
SLOT_MEMORY = 3600
DAY = 86400
# The segment run over 1,000,000 customers takes about 100 s here (BENCHMARKS.md) and grows linearly: room for 30x.
SEGMENT_RUN_TIMEOUT = 3600
SERVICE_DUTIES_TIMEOUT = 1800
# A month's roll-up is one grouped scan of that month's calls.
ROLL_UP_TIMEOUT = 1800


def escalate_reviews(as_of: str) -> list[int]:
    """The job: move every review item overdue at `as_of` (ISO) to the upper-level center; the ids moved."""
    return _escalate(escalate_overdue, as_of, "review item(s) nobody took in time")


def escalate_complaints(as_of: str) -> list[int]:
    """The job: move every complaint overdue at `as_of` (ISO) up to the parent unit; the ids moved."""
    return _escalate(escalate_overdue_complaints, as_of, "overdue complaint(s)")


def _escalate(escalate: Callable[..., list[int]], as_of: str, what: str) -> list[int]:
    with session_scope(current().engine) as session:
        moved = escalate(session, now=datetime.fromisoformat(as_of))
    if moved:
        log.info("escalated %d %s: %s", len(moved), what, moved)
    return moved


@dataclass(frozen=True)
class Duty:
    """One periodic duty: the job function, how often, and how its slots are reckoned and named."""

    name: str  # the job id's prefix
    func: str
    every: int  # seconds
    job_timeout: int
    # Business-day duties: slots start at midnight in Korea, the job gets the business day (ISO date) and a daily
    # slot is named by that day; the others get the moment they were found due (ISO) and are named in epoch seconds.
    business_day: bool = False

    def _offset(self, now: datetime) -> int:
        if not self.business_day:
            return 0
        offset = now.astimezone(BUSINESS_TZ).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0

    def slot_start(self, now: datetime) -> datetime:
        """The start of the slot `now` falls in."""
        offset = self._offset(now)
        start = (int(now.timestamp()) + offset) // self.every * self.every - offset
        return datetime.fromtimestamp(start, UTC)

    def job_id(self, now: datetime) -> str:
        """The id of this duty's job in the slot `now` falls in."""
        start = self.slot_start(now)
        if self.business_day and self.every % DAY == 0:
            return f"{self.name}-{start.astimezone(BUSINESS_TZ):%Y%m%d}"
        return f"{self.name}-{int(start.timestamp())}"

    def args(self, now: datetime) -> tuple[Any, ...]:
        if self.business_day:
            return (now.astimezone(BUSINESS_TZ).date().isoformat(),)
        return (now.isoformat(),)


def escalation_duty(every: int) -> Duty:
    """Escalation of late review items, every `every` seconds."""
    return Duty("escalate-reviews", ESCALATE_REVIEWS, max(1, every), job_timeout=300)


def complaint_escalation_duty(every: int) -> Duty:
    """Escalation of overdue complaints, every `every` seconds."""
    return Duty("escalate-complaints", ESCALATE_COMPLAINTS, max(1, every), job_timeout=300)


def complaint_notices_duty(every: int) -> Duty:
    """The complaint notices due, sent every `every` seconds."""
    return Duty("complaint-notices", COMPLAINT_NOTICES, max(1, every), job_timeout=300)


def complaint_reminders_duty(every: int) -> Duty:
    """Reminders of complaints falling due, every `every` seconds."""
    return Duty("complaint-reminders", COMPLAINT_REMINDERS, max(1, every), job_timeout=300)


def complaint_analysis_duty() -> Duty:
    """The monthly complaint analysis of the month before, looked at every business day."""
    return Duty("complaint-analysis", COMPLAINT_ANALYSIS, DAY, job_timeout=ROLL_UP_TIMEOUT, business_day=True)


def dispatch_timers_duty(every: int) -> Duty:
    """The dispatch timers (`workers.dispatch_timers`): unaccepted assignments back on the board, late requests
    escalated, every `every` seconds."""
    return Duty("dispatch-timers", DISPATCH_TIMERS, max(1, every), job_timeout=120)


def stuck_calls_duty(every: int) -> Duty:
    """Recovery of calls that stopped moving, every `every` seconds."""
    return Duty("recover-stuck-calls", RECOVER_STUCK_CALLS, max(1, every), job_timeout=300)


def segment_duty(every: int = DAY) -> Duty:
    """The segment run (and the premium shares of branches and company it rests on)."""
    return Duty("recompute-segments", RECOMPUTE_SEGMENTS, every, job_timeout=SEGMENT_RUN_TIMEOUT, business_day=True)


def service_duty(every: int = DAY) -> Duty:
    """The account managers' service tasks."""
    return Duty("service-duties", SERVICE_DUTIES, every, job_timeout=SERVICE_DUTIES_TIMEOUT, business_day=True)


def roll_up_duty() -> Duty:
    """The monthly reports' roll-up of the month before, looked at every business day."""
    return Duty("roll-up-calls", ROLL_UP_CALLS, DAY, job_timeout=ROLL_UP_TIMEOUT, business_day=True)


def duties_of(settings: Settings) -> list[Duty]:
    """The duties a worker of these settings carries (a daily duty with interval 0 is off)."""
    duties = [
        escalation_duty(settings.worker_maintenance_interval),
        complaint_escalation_duty(settings.worker_maintenance_interval),
        complaint_notices_duty(settings.worker_maintenance_interval),
        complaint_reminders_duty(settings.worker_maintenance_interval),
        stuck_calls_duty(settings.worker_maintenance_interval),
        dispatch_timers_duty(settings.worker_maintenance_interval),
    ]
    if settings.segment_recompute_interval:
        duties.append(segment_duty(settings.segment_recompute_interval))
    if settings.service_duties_interval:
        duties.append(service_duty(settings.service_duties_interval))
    duties.append(roll_up_duty())
    duties.append(complaint_analysis_duty())
    return duties


class PeriodicDuties:
    """Enqueues each duty once per slot of its own interval (the clock is injectable for tests)."""

    def __init__(self, redis: Redis, duties: Sequence[Duty], *, clock: Callable[[], datetime] = utcnow) -> None:
        self.redis = redis
        self.duties = tuple(duties)
        self.clock = clock
        self._next: dict[str, datetime] = {}

    @classmethod
    def of(cls, redis: Redis, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> PeriodicDuties:
        """The duties configured by `settings`."""
        return cls(redis, duties_of(settings), clock=clock)

    def run_due(self) -> list[str]:
        """Enqueue every duty whose slot has come; the ids enqueued (not those another worker enqueued first)."""
        now = self.clock()
        enqueued = []
        for duty in self.duties:
            due = self._next.get(duty.name)
            if due is not None and now < due:
                continue
            slot_end = duty.slot_start(now) + timedelta(seconds=duty.every)
            job_id = self._enqueue(duty, now, memory=int((slot_end - now).total_seconds()) + SLOT_MEMORY)
            # Only once it is enqueued (or found there): Redis away means the next pass tries again.
            self._next[duty.name] = slot_end
            if job_id is not None:
                enqueued.append(job_id)
        return enqueued

    def _enqueue(self, duty: Duty, now: datetime, *, memory: int) -> str | None:
        job_id = duty.job_id(now)
        try:
            Queue(QUEUE_DEFAULT, connection=self.redis).enqueue(
                duty.func,
                *duty.args(now),
                job_id=job_id,
                unique=True,
                job_timeout=duty.job_timeout,
                result_ttl=memory,
                failure_ttl=max(FAILURE_TTL, memory),
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
        except StopRequested:  # raised by rq's signal handler: the worker's loop ends
            raise
        except Exception:  # Redis away: the next maintenance pass tries again; the worker keeps working
            log.exception("periodic duties could not be enqueued; retrying at the next maintenance pass")
