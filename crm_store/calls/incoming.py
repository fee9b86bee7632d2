"""The incoming-call hot path: store the webhook, open the call and find the caller before Twilio hears back.

On PostgreSQL, concurrent incoming calls are written together (group commit): while one statement is in
flight, the next calls gather, and go in one statement and one commit. Each webhook is still answered only
after its own row is durable. SQLite (the laptop mode) takes the plain ORM path.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.calls.store import Caller, register_incoming_call
from crm_store.calls.tables import OutboxJob
from crm_store.coalesce import Coalescer
from crm_store.db import async_session_scope
from crm_store.types import storable, storable_fields, utcnow

log = logging.getLogger(__name__)


class AlertJob(Protocol):
    """The step whose job a blacklisted or key caller's call promises (`workers.queueing.CALL_ALERTS`).

    Plain strings go into the statement: building an OutboxJob model per webhook cost a sixth of the gateway's
    time on this path (pydantic validation), for a row written for a few calls in a hundred."""

    @property
    def queue(self) -> str: ...

    @property
    def func(self) -> str: ...

    def job_id(self, call_sid: str) -> str: ...


# One statement, one implicit transaction, any number of calls. Data-modifying CTEs are PostgreSQL's.
# A redelivered webhook (same delivery key) is stored once; a call row that a status callback opened
# first is completed, never overwritten.
_OPEN_CALLS_PG = """
    WITH incoming AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                             $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                             $11::text[], $12::text[], $13::text[])
            AS i(call_sid, e164, dedup_key, payload, received_at,
                 account_sid, from_number, to_number, direction, status,
                 alert_job, alert_queue, alert_func)
    ), caller AS (
        SELECT DISTINCT ON (i.call_sid) i.call_sid, c.id, c.segment, c.blacklisted, c.registration_hash
        FROM incoming i
        JOIN customer_phone p ON p.e164 = i.e164
        JOIN customer c ON c.id = p.customer_id
        ORDER BY i.call_sid
    ), match_keys AS (
        -- What a listing anywhere in the company is matched on: the calling number itself, and the
        -- caller's registration hash, other phones and vehicle plates. Each probe is one index lookup.
        SELECT i.call_sid, 'phone'::text AS kind, i.e164 AS value FROM incoming i WHERE i.e164 IS NOT NULL
        UNION ALL
        SELECT k.call_sid, 'registration', k.registration_hash FROM caller k WHERE k.registration_hash IS NOT NULL
        UNION ALL
        SELECT k.call_sid, 'phone', p.e164 FROM caller k JOIN customer_phone p ON p.customer_id = k.id
        UNION ALL
        SELECT k.call_sid, 'plate', v.plate FROM caller k JOIN vehicle v ON v.customer_id = k.id
    ), listed AS (
        SELECT DISTINCT ON (m.call_sid) m.call_sid, e.id AS entry_id, m.kind, u.name AS unit_name
        FROM match_keys m
        JOIN blacklist_key b ON b.kind = m.kind AND b.value = m.value
        -- In force only: approved by a center manager, not revoked (crm_store.customers.blacklist.in_force).
        JOIN blacklist_entry e ON e.id = b.entry_id AND e.approved_at IS NOT NULL AND e.revoked_at IS NULL
        JOIN customer lc ON lc.id = e.customer_id
        JOIN org_unit u ON u.id = lc.org_unit_id
        ORDER BY m.call_sid, e.id
    ), promised AS (
        -- A blacklist hit or a key customer calling: the account manager's event is written by a job
        -- (crm_store.calls.alerts), off this path; its promise is durable with the call, once per call.
        INSERT INTO outbox_job (job_id, queue, func, call_sid, created_at)
        SELECT DISTINCT ON (i.call_sid) i.alert_job, i.alert_queue, i.alert_func, i.call_sid, i.received_at
        FROM incoming i
        LEFT JOIN caller k ON k.call_sid = i.call_sid
        LEFT JOIN listed l ON l.call_sid = i.call_sid
        WHERE i.alert_job IS NOT NULL AND (l.entry_id IS NOT NULL OR k.blacklisted OR k.segment = 'key')
        ORDER BY i.call_sid
        ON CONFLICT (job_id) DO NOTHING
    ), event AS (
        INSERT INTO call_event (call_sid, kind, dedup_key, payload, received_at)
        SELECT call_sid, 'voice', dedup_key, payload::jsonb, received_at FROM incoming
        ON CONFLICT (dedup_key) DO NOTHING
    ), opened AS (
        INSERT INTO call AS c (call_sid, account_sid, from_number, to_number, direction, status,
                               status_sequence, customer_id, started_at, pipeline_state,
                               created_at, updated_at)
        SELECT DISTINCT ON (i.call_sid) i.call_sid, i.account_sid, i.from_number, i.to_number,
               i.direction, i.status, -1, k.id, i.received_at, 'received', i.received_at, i.received_at
        FROM incoming i LEFT JOIN caller k ON k.call_sid = i.call_sid
        ORDER BY i.call_sid
        ON CONFLICT (call_sid) DO UPDATE SET
            account_sid = COALESCE(c.account_sid, EXCLUDED.account_sid),
            from_number = COALESCE(c.from_number, EXCLUDED.from_number),
            to_number = COALESCE(c.to_number, EXCLUDED.to_number),
            direction = COALESCE(c.direction, EXCLUDED.direction),
            status = COALESCE(c.status, EXCLUDED.status),
            customer_id = COALESCE(c.customer_id, EXCLUDED.customer_id),
            started_at = COALESCE(c.started_at, EXCLUDED.started_at),
            updated_at = EXCLUDED.updated_at
    )
    SELECT DISTINCT ON (i.call_sid) i.call_sid, k.id, k.segment,
           COALESCE(k.blacklisted, false) OR l.entry_id IS NOT NULL, l.entry_id, l.kind, l.unit_name
    FROM incoming i
    LEFT JOIN caller k ON k.call_sid = i.call_sid
    LEFT JOIN listed l ON l.call_sid = i.call_sid
    ORDER BY i.call_sid
"""
_COLUMNS = 13


@dataclass(frozen=True)
class IncomingCall:
    """One incoming-call webhook, as the store needs it."""

    call_sid: str
    caller_e164: str | None
    dedup_key: str
    payload: dict[str, Any]
    received_at: datetime
    account_sid: str | None
    from_number: str | None
    to_number: str | None
    direction: str | None
    status: str | None


def _columns(calls: list[IncomingCall], alert_job: AlertJob | None) -> list[list[Any]]:
    columns: list[list[Any]] = [[] for _ in range(_COLUMNS)]
    job_queue, job_func = (alert_job.queue, alert_job.func) if alert_job is not None else (None, None)
    for call in calls:
        values = (
            call.call_sid,
            call.caller_e164,
            call.dedup_key,
            json.dumps(call.payload, ensure_ascii=False),
            call.received_at,
            call.account_sid,
            call.from_number or None,
            call.to_number or None,
            call.direction,
            call.status,
            alert_job.job_id(call.call_sid) if alert_job is not None else None,
            job_queue,
            job_func,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    return columns


class IncomingCallWriter:
    """Opens incoming calls: batched into one statement on PostgreSQL, one transaction each on SQLite.

    `alert_job` is the step whose outbox row promises the alert job of a call (the gateway passes the worker step);
    it is written only for a blacklisted or key caller, in the same statement and commit as the call."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_batch: int = 100,
        alert_job: AlertJob | None = None,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._alert_job = alert_job
        self._batched = engine.dialect.name == "postgresql"
        # One statement in flight: the calls that arrive meanwhile go in the next one, with one commit.
        self._writes = Coalescer(self._write, name="incoming-call-writer", max_batch=max_batch)

    async def open(self, call: IncomingCall) -> Caller:
        """Store the webhook and open the call; returns who is calling once the row is durable."""
        if not self._batched:
            return await self._open_one_orm(call)
        return await self._writes.submit(call)

    async def _write(self, calls: list[IncomingCall]) -> list[Caller]:
        async with self._engine.connect() as conn:
            raw = await conn.get_raw_connection()
            # The driver's own connection (asyncpg: prepared once per connection, autocommit).
            columns = _columns(calls, self._alert_job)
            rows = await raw.driver_connection.fetch(_OPEN_CALLS_PG, *columns)  # type: ignore[union-attr]
        callers = {row[0]: _caller(row) for row in rows}
        return [callers.get(call.call_sid, _UNKNOWN) for call in calls]

    async def _open_one_orm(self, call: IncomingCall) -> Caller:
        async with async_session_scope(self._sessions) as session:
            return await register_incoming_call(
                session,
                call_sid=call.call_sid,
                caller_e164=call.caller_e164,
                call_fields={
                    "account_sid": call.account_sid,
                    "from_number": call.from_number,
                    "to_number": call.to_number,
                    "direction": call.direction,
                    "status": call.status,
                },
                dedup_key=call.dedup_key,
                payload=call.payload,
                alert_job=_promise(self._alert_job, call.call_sid) if self._alert_job is not None else None,
            )

    async def close(self) -> None:
        """Let the calls already handed in be written."""
        await self._writes.close()


def _promise(step: AlertJob, call_sid: str) -> OutboxJob:
    return OutboxJob(job_id=step.job_id(call_sid), queue=step.queue, func=step.func, call_sid=call_sid)


_UNKNOWN = Caller(None, None, False)


def _caller(row: Any) -> Caller:
    _, customer_id, segment, blacklisted, entry_id, matched_on, unit_name = row
    reason = f"entry {entry_id} of {unit_name}, matched on {matched_on}" if entry_id is not None else None
    alerts = (("blacklist",) if blacklisted else ()) + (("key_customer",) if segment == "key" else ())
    return Caller(customer_id, segment, bool(blacklisted), reason, alerts)


def incoming_call(
    *, call_sid: str, caller_e164: str | None, call_fields: dict[str, Any], dedup_key: str, payload: dict[str, Any]
) -> IncomingCall:
    """An IncomingCall received now, its text made storable (NUL refused by PostgreSQL becomes U+FFFD)."""
    fields = storable_fields(call_fields)
    return IncomingCall(
        call_sid=storable(call_sid),
        caller_e164=storable(caller_e164) if caller_e164 is not None else None,
        dedup_key=storable(dedup_key),
        payload=storable_fields(payload),
        received_at=utcnow(),
        account_sid=fields.get("account_sid"),
        from_number=fields.get("from_number"),
        to_number=fields.get("to_number"),
        direction=fields.get("direction"),
        status=fields.get("status"),
    )
