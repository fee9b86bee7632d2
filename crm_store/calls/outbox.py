"""The outbox: jobs promised in a data transaction, relayed to the queue until they get there."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from crm_store.calls.tables import OutboxJob
from crm_store.types import utcnow
from crm_store.upsert import insert_ignoring_conflict


def pending_jobs(limit: int = 100) -> SelectOfScalar[OutboxJob]:
    """Promised jobs not yet on a queue, oldest first."""
    query = select(OutboxJob).where(col(OutboxJob.enqueued_at).is_(None)).order_by(col(OutboxJob.id)).limit(limit)
    return query


def promise_job(session: Session, job: OutboxJob) -> None:
    """Add a job to the outbox in the caller's transaction (a second promise of the same id is a no-op)."""
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    session.exec(insert_ignoring_conflict(dialect, OutboxJob, job.model_dump(exclude={"id"})))


def mark_enqueued(session: Session, job_ids: Iterable[str]) -> None:
    """Record that these jobs reached the queue."""
    ids = list(job_ids)
    if ids:
        session.exec(update(OutboxJob).where(col(OutboxJob.job_id).in_(ids)).values(enqueued_at=utcnow()))
