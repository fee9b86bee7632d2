"""The screen-pop hot path: the customer picture read and audited in one statement on PostgreSQL.

One statement finds the customer (by id or by phone number), checks the viewer's scope (org path prefix),
builds every section as JSON (head, aggregates, account manager, contacts, policies, claims, yearly figures,
blacklist matches, calls, segment history) and appends the audit row through a data-modifying CTE, so reading
and auditing stay one atomic step, and an out-of-scope or unknown customer leaves no audit row. Concurrent
reads go together in one statement and one commit (group commit, as `crm_store.calls.incoming` does for calls);
each request still gets its answer only after its own audit row is durable. The rows come back in their wire
form and `crm_store.customers.picture` assembles the answer, exactly as for the ORM reader, which SQLite keeps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.coalesce import Coalescer
from crm_store.customers.picture import (
    PICTURE_CALLS,
    PICTURE_CLAIMS,
    PICTURE_HISTORY,
    PICTURE_RECENT_CALLS,
    REQUEST_TYPES,
    PictureSource,
    customer_document,
    customer_picture,
    first_year_shown,
    picture_audit_fields,
)
from crm_store.customers.rules import Rules
from crm_store.db import async_session_scope
from crm_store.errors import CustomerNotFound
from crm_store.org.scope import Viewer

log = logging.getLogger(__name__)


def _iso(column: str) -> str:
    """A UTC timestamp written as Python's `datetime.isoformat()` writes it (microseconds only when not zero)."""
    return (
        f"CASE WHEN date_trunc('second', {column}) = {column} "
        f"""THEN to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"') """
        f"""ELSE to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') END"""
    )


_OPEN_REQUEST_TYPES = "(" + ", ".join(f"'{t}'" for t in sorted(REQUEST_TYPES)) + ")"

# Every probe is an index lookup; sections are capped as the ORM reader caps them. Ties in the orders are
# broken by id so that both readers list the same rows in the same order.
_PICTURES_PG = f"""
    WITH asked AS (
        SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::int[], $5::int[], $6::text[], $7::text[],
                             $8::text[], $9::text[], $10::text[], $11::int[])
            AS a(n, customer_id, e164, viewer_unit, staff_id, username, purpose, call_sid, remote_addr,
                 fields, first_year)
    ), found AS (
        -- The customer first, then the scope test on its unit (a filter, so that the planner never pairs
        -- every unit with every unit below it before probing the customer).
        SELECT a.n, c.id, u.name AS unit_name
        FROM asked a
        JOIN customer c ON c.id = COALESCE(
            a.customer_id, (SELECT ph.customer_id FROM customer_phone ph WHERE ph.e164 = a.e164))
        JOIN org_unit u ON u.id = c.org_unit_id
        WHERE starts_with(u.path, (SELECT v.path FROM org_unit v WHERE v.id = a.viewer_unit))
    ), audited AS (
        INSERT INTO audit_entry (staff_id, username, customer_id, action, fields, purpose, call_sid, remote_addr,
                                 created_at)
        SELECT a.staff_id, a.username, f.id, 'read', a.fields::jsonb, a.purpose, a.call_sid, a.remote_addr, now()
        FROM found f JOIN asked a ON a.n = f.n
    )
    SELECT f.n, json_build_object(
        'id', c.id,
        'name', c.name,
        'kind', c.kind,
        'org_unit_id', c.org_unit_id,
        'org_unit_name', f.unit_name,
        'registration_number', c.registration_masked,
        'profile', COALESCE(NULLIF(c.profile, 'null'::jsonb), '{{}}'::jsonb),
        'segment', c.segment,
        'segment_reason', c.segment_reason,
        'segment_changed_at', {_iso("c.segment_changed_at")},
        'key_account', c.key_account,
        'premium_total', COALESCE(s.premium_total, 0),
        'paid_total', COALESCE(s.paid_total, 0),
        'claim_count', COALESCE(s.claim_count, 0),
        'open_claims', COALESCE(s.open_claims, 0),
        'account_manager', (
            SELECT json_build_object('username', st.username, 'full_name', st.full_name, 'grade', m.grade,
                                     'org_unit_id', st.org_unit_id, 'since', {_iso("aa.assigned_at")},
                                     'certified_on', m.certified_on, 'valid_until', m.valid_until)
            FROM account_assignment aa
            JOIN staff st ON st.id = aa.account_manager_id
            LEFT JOIN account_manager m ON m.staff_id = st.id
            WHERE aa.customer_id = c.id AND aa.ended_at IS NULL
            LIMIT 1),
        'phones', COALESCE(ph.list, '[]'),
        'vehicles', COALESCE(vh.list, '[]'),
        'policies', COALESCE((
            SELECT json_agg(json_build_object('id', p.id, 'policy_number', p.policy_number, 'line', p.line,
                                              'premium', p.premium, 'start_date', p.start_date,
                                              'end_date', p.end_date)
                            ORDER BY p.start_date DESC, p.id DESC)
            FROM policy p WHERE p.customer_id = c.id), '[]'),
        'claims', COALESCE((
            SELECT json_agg(json_build_object('id', k.id, 'policy_id', k.policy_id, 'claim_number', k.claim_number,
                                              'occurred_on', k.occurred_on, 'paid_amount', k.paid_amount,
                                              'status', k.status, 'closed_on', k.closed_on,
                                              'stage', k.stage, 'survey_report_id', k.survey_report_id)
                            ORDER BY k.occurred_on DESC, k.id DESC)
            FROM (SELECT * FROM claim WHERE customer_id = c.id
                  ORDER BY occurred_on DESC, id DESC LIMIT {PICTURE_CLAIMS}) k), '[]'),
        'years', COALESCE((
            SELECT json_agg(json_build_array(y.year, y.premium, y.paid, y.claims))
            FROM customer_year_stats y WHERE y.customer_id = c.id AND y.year >= a.first_year), '[]'),
        'hits', COALESCE((
            -- Listings anywhere in the company: the customer's own, and those matched on its registration
            -- hash, phones or plates. (The number looked up is one of the customer's phones.)
            SELECT json_agg(json_build_array(e.id, e.customer_id, e.reason, m.kind, lu.name))
            FROM (
                SELECT e.id AS entry_id, 'customer' AS kind FROM blacklist_entry e WHERE e.customer_id = c.id
                UNION ALL
                SELECT b.entry_id, b.kind FROM blacklist_key b
                WHERE b.kind = 'registration' AND b.value = c.registration_hash
                UNION ALL
                SELECT b.entry_id, b.kind FROM blacklist_key b WHERE b.kind = 'phone' AND b.value = ANY(ph.numbers)
                UNION ALL
                SELECT b.entry_id, b.kind FROM blacklist_key b WHERE b.kind = 'plate' AND b.value = ANY(vh.plates)
            ) m
            -- In force only: approved by a center manager, not revoked (crm_store.customers.blacklist.in_force).
            JOIN blacklist_entry e ON e.id = m.entry_id AND e.approved_at IS NOT NULL AND e.revoked_at IS NULL
            JOIN customer lc ON lc.id = e.customer_id
            JOIN org_unit lu ON lu.id = lc.org_unit_id), '[]'),
        'calls', COALESCE((
            SELECT json_agg(json_build_array(k.type, (k.created_at AT TIME ZONE 'UTC')::date) ORDER BY k.id DESC)
            FROM (SELECT id, type, created_at FROM call WHERE customer_id = c.id
                  ORDER BY id DESC LIMIT {PICTURE_CALLS}) k), '[]'),
        'recent_calls', COALESCE((
            SELECT json_agg(json_build_object('call_sid', k.call_sid, 'type', k.type, 'topic', k.topic,
                                              'status', k.status, 'started_at', {_iso("k.started_at")})
                            ORDER BY k.id DESC)
            FROM (SELECT id, call_sid, type, topic, status, started_at FROM call WHERE customer_id = c.id
                  ORDER BY id DESC LIMIT {PICTURE_RECENT_CALLS}) k), '[]'),
        'open_requests', COALESCE((
            SELECT json_agg(json_build_object('call_sid', k.call_sid, 'type', k.type, 'topic', k.topic,
                                              'state', COALESCE(r.state, 'processing'), 'queue', u.name,
                                              'since', {_iso("k.created_at")})
                            ORDER BY k.id DESC)
            FROM (SELECT id, call_sid, type, topic, created_at FROM call WHERE customer_id = c.id
                  ORDER BY id DESC LIMIT {PICTURE_CALLS}) k
            LEFT JOIN review_item r ON r.call_sid = k.call_sid
            LEFT JOIN org_unit u ON u.id = r.org_unit_id
            WHERE k.type IN {_OPEN_REQUEST_TYPES} AND (r.state IS NULL OR r.state <> 'closed')), '[]'),
        'segment_history', COALESCE((
            SELECT json_agg(json_build_object('from', h.old_segment, 'to', h.new_segment, 'reason', h.reason,
                                              'at', {_iso("h.changed_at")}, 'by', h.changed_by)
                            ORDER BY h.id DESC)
            FROM (SELECT * FROM segment_change WHERE customer_id = c.id
                  ORDER BY id DESC LIMIT {PICTURE_HISTORY}) h), '[]')
    )::text
    FROM found f
    JOIN asked a ON a.n = f.n
    JOIN customer c ON c.id = f.id
    LEFT JOIN customer_stats s ON s.customer_id = c.id
    -- Phones and plates are shown and matched against the blacklist: read once.
    CROSS JOIN LATERAL (
        SELECT json_agg(json_build_object('number', p.e164, 'label', p.label) ORDER BY p.id) AS list,
               array_agg(p.e164::text) AS numbers
        FROM customer_phone p WHERE p.customer_id = c.id) ph
    CROSS JOIN LATERAL (
        SELECT json_agg(v.plate ORDER BY v.id) AS list, array_agg(v.plate::text) AS plates
        FROM vehicle v WHERE v.customer_id = c.id) vh
"""
_COLUMNS = 11


@cache
def _fields_json(clearance: int) -> str:
    """The audit row names the fields shown: the same for every read at one clearance, so written once each."""
    return orjson.dumps(picture_audit_fields(clearance)).decode()


@dataclass(frozen=True)
class PictureRequest:
    """One read of a customer picture: by id or by E.164 number, on behalf of a viewer."""

    viewer: Viewer
    first_year: int
    customer_id: int | None = None
    phone: str | None = None
    call_sid: str | None = None


def _columns(requests: list[PictureRequest]) -> list[list[Any]]:
    columns: list[list[Any]] = [[] for _ in range(_COLUMNS)]
    for n, r in enumerate(requests):
        values = (
            n,
            r.customer_id,
            r.phone if r.customer_id is None else None,
            r.viewer.org_unit_id,
            r.viewer.staff_id,
            r.viewer.username,
            "lookup" if r.phone is not None else "detail",
            r.call_sid,
            (r.viewer.remote_addr or "")[:64] or None,
            _fields_json(r.viewer.clearance),
            r.first_year,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    return columns


class PictureReader:
    """Reads customer pictures: one grouped statement on PostgreSQL, the ORM reader on any other database."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_batch: int = 64,
        max_statements: int = 2,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._batched = engine.dialect.name == "postgresql"
        # Unlike the webhook's writes, reads may run side by side: one statement runs on one PostgreSQL backend
        # (one core), so two in flight keep both cores of a small server busy while the next batch gathers.
        self._reads = Coalescer(
            self.read, name="customer-picture-reader", max_batch=max_batch, max_in_flight=max_statements
        )

    async def picture(
        self,
        viewer: Viewer,
        *,
        rules: Rules,
        as_of: date,
        customer_id: int | None = None,
        phone: str | None = None,
        call_sid: str | None = None,
    ) -> dict[str, Any]:
        """The picture of one customer in the viewer's scope, audited; CustomerNotFound otherwise."""
        if not self._batched:
            async with async_session_scope(self._sessions) as session:
                return await customer_picture(
                    session, viewer, rules=rules, as_of=as_of, customer_id=customer_id, phone=phone, call_sid=call_sid
                )
        request = PictureRequest(viewer, first_year_shown(rules, as_of), customer_id, phone, call_sid)
        source = await self._reads.submit(request)
        if source is None:
            raise CustomerNotFound(
                f"no customer {customer_id}" if customer_id is not None else "no customer with this number"
            )
        return customer_document(source, viewer, rules=rules, as_of=as_of)

    async def read(self, requests: list[PictureRequest]) -> list[PictureSource | None]:
        """The sources of the pictures asked for, in order (None: unknown or out of scope), audited."""
        async with self._engine.connect() as conn:
            raw = await conn.get_raw_connection()
            # The driver's own connection: prepared once per connection, one implicit transaction.
            rows = await raw.driver_connection.fetch(_PICTURES_PG, *_columns(requests))  # type: ignore[union-attr]
        sources: list[PictureSource | None] = [None] * len(requests)
        for n, document in rows:
            sources[n] = orjson.loads(document)
        return sources

    async def close(self) -> None:
        """Let the reads already asked for finish."""
        await self._reads.close()
