"""Failed jobs made visible, and requeued on request."""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq.job import Job
from rq.registry import FailedJobRegistry

from workers.queueing import ALL_QUEUES


def failed_jobs(redis: Redis) -> list[dict[str, Any]]:
    """Every failed job on our queues, with the last line of its error."""
    rows: list[dict[str, Any]] = []
    for name in ALL_QUEUES:
        registry = FailedJobRegistry(name, connection=redis)
        for job in Job.fetch_many(registry.get_job_ids(), connection=redis):
            if job is None:
                continue
            result = job.latest_result()
            error = (result.exc_string or "").strip().splitlines()[-1:] if result else []
            rows.append(
                {
                    "job_id": job.id,
                    "queue": name,
                    "call_sid": job.args[0] if job.args else None,
                    "ended_at": job.ended_at.isoformat() if job.ended_at else None,
                    "error": error[0] if error else None,
                }
            )
    return rows


def requeue_failed(redis: Redis, job_ids: list[str] | None = None) -> int:
    """Put failed jobs back on their queues (all of them, or the ones named)."""
    count = 0
    for name in ALL_QUEUES:
        registry = FailedJobRegistry(name, connection=redis)
        for job_id in registry.get_job_ids():
            if job_ids is None or job_id in job_ids:
                registry.requeue(job_id)
                count += 1
    return count
