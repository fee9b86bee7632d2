"""Segments over stored data: load the facts, decide, write changes with their history and events.

`recompute_customer` runs at once when a policy, claim or listing changes through the API (async, one customer);
`recompute_all_segments` is the scheduled job (sync, keyset chunks of customers). Both load facts with the same
range queries, so one customer is the range [id, id].
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.customers.blacklist import matched_customers_query
from crm_store.customers.rules import Rules
from crm_store.customers.segment_rules import CustomerFacts, YearFigures, decide_segment, months_before
from crm_store.customers.tables import (
    AlertLevel,
    Claim,
    Customer,
    CustomerEvent,
    CustomerKind,
    CustomerStats,
    CustomerYearStats,
    KeyAccount,
    OrgUnitPremium,
    Policy,
    Segment,
    SegmentChange,
)
from crm_store.managers.tables import AccountAssignment
from crm_store.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentRun:
    """What a full segment run did."""

    customers: int
    changed: int
    seconds: float
    by_segment: dict[str, int]


def _range_queries(low: int, high: int, *, as_of: date, rules: Rules) -> dict[str, Any]:
    """The queries that load the facts of customers with ids in [low, high]."""
    first_year = as_of.year - rules.segments.window_years + 1
    months = max(rules.segments.inferior.claims_months, rules.alerts.frequent_claims.months)
    return {
        "customers": sa_select(
            col(Customer.id),
            col(Customer.kind),
            col(Customer.org_unit_id),
            col(Customer.segment),
            col(Customer.segment_reason),
            col(Customer.key_account),
            col(Customer.fraud_marker),
            col(Customer.late_payments),
        )
        .where(col(Customer.id).between(low, high))
        .order_by(col(Customer.id)),
        "first_policy": select(col(CustomerStats.customer_id), col(CustomerStats.first_policy_on)).where(
            col(CustomerStats.customer_id).between(low, high)
        ),
        "years": sa_select(
            col(CustomerYearStats.customer_id),
            col(CustomerYearStats.year),
            col(CustomerYearStats.premium),
            col(CustomerYearStats.paid),
            col(CustomerYearStats.claims),
        ).where(col(CustomerYearStats.customer_id).between(low, high), col(CustomerYearStats.year) >= first_year),
        "claims": select(col(Claim.customer_id), col(Claim.occurred_on)).where(
            col(Claim.customer_id).between(low, high), col(Claim.occurred_on) > months_before(as_of, months)
        ),
        "in_force": select(col(Policy.customer_id), func.sum(col(Policy.premium)))
        .where(
            col(Policy.customer_id).between(low, high), col(Policy.start_date) <= as_of, col(Policy.end_date) > as_of
        )
        .group_by(col(Policy.customer_id)),
        "listed": matched_customers_query(low, high),
    }


def unit_premiums_query() -> Any:
    return select(col(OrgUnitPremium.org_unit_id), col(OrgUnitPremium.in_force_premium))


@dataclass
class _Loaded:
    customers: list[Sequence[Any]]
    first_policy: dict[int, date | None]
    years: dict[int, dict[int, YearFigures]]
    claims: dict[int, list[date]]
    in_force: dict[int, int]
    listed: set[int]
    unit_premiums: dict[int, int]


def _assemble(results: dict[str, list[Sequence[Any]]], unit_premiums: dict[int, int]) -> _Loaded:
    years: dict[int, dict[int, YearFigures]] = defaultdict(dict)
    for customer_id, year, premium, paid, count in results["years"]:
        years[customer_id][year] = YearFigures(int(premium), int(paid), int(count))
    claims: dict[int, list[date]] = defaultdict(list)
    for customer_id, occurred_on in results["claims"]:
        claims[customer_id].append(occurred_on)
    return _Loaded(
        customers=results["customers"],
        first_policy={c: d for c, d in results["first_policy"]},
        years=years,
        claims=claims,
        in_force={c: int(p or 0) for c, p in results["in_force"]},
        listed={int(c) for (c,) in results["listed"]},
        unit_premiums=unit_premiums,
    )


def _facts(row: Sequence[Any], loaded: _Loaded) -> CustomerFacts:
    customer_id, kind, unit_id, _segment, _reason, key_account, fraud, late = row
    return CustomerFacts(
        kind=CustomerKind(kind),
        years=loaded.years.get(customer_id, {}),
        claim_dates=loaded.claims.get(customer_id, ()),
        first_policy_on=loaded.first_policy.get(customer_id),
        in_force_premium=loaded.in_force.get(customer_id, 0),
        branch_premium=loaded.unit_premiums.get(unit_id, 0),
        company_premium=sum(loaded.unit_premiums.values()),
        key_account=KeyAccount(key_account) if key_account else None,
        fraud_marker=bool(fraud),
        late_payments=int(late or 0),
        blacklisted=customer_id in loaded.listed,
    )


@dataclass(frozen=True)
class _Change:
    customer_id: int
    old: Segment | None
    new: Segment
    reason: str


def _decide(loaded: _Loaded, rules: Rules, as_of: date) -> tuple[list[_Change], list[_Change], dict[str, int]]:
    changes, refreshed = [], []
    counts: dict[str, int] = defaultdict(int)
    for row in loaded.customers:
        customer_id, _kind, _unit, segment, reason = row[:5]
        new, why = decide_segment(_facts(row, loaded), rules.segments, as_of=as_of)
        counts[new.value] += 1
        old = Segment(segment) if segment else None
        if new is not old:
            changes.append(_Change(customer_id, old, new, why))
        elif reason != why:
            refreshed.append(_Change(customer_id, old, new, why))
    return changes, refreshed, counts


def _writes(
    changes: list[_Change], refreshed: list[_Change], changed_by: str
) -> list[tuple[Any, list[dict[str, Any]]]]:
    """The statements (with their parameter rows) that store decided segments, history and events."""
    now = utcnow()
    table = Customer.__table__  # type: ignore[attr-defined]  # Core statements: no ORM bulk synchronisation
    statements: list[tuple[Any, list[dict[str, Any]]]] = []
    rows = [{"cid": c.customer_id, "segment": c.new.value, "reason": c.reason, "changed": now} for c in changes]
    if rows:
        statements.append(
            (
                update(table)
                .where(table.c.id == bindparam("cid"))
                .values(
                    segment=bindparam("segment"),
                    segment_reason=bindparam("reason"),
                    segment_changed_at=bindparam("changed"),
                ),
                rows,
            )
        )
        statements.append(
            (
                insert(SegmentChange.__table__),  # type: ignore[attr-defined]
                [
                    {
                        "customer_id": c.customer_id,
                        "old_segment": c.old.value if c.old else None,
                        "new_segment": c.new.value,
                        "reason": c.reason,
                        "changed_at": now,
                        "changed_by": changed_by,
                    }
                    for c in changes
                ],
            )
        )
    if refreshed:
        statements.append(
            (
                update(table).where(table.c.id == bindparam("cid")).values(segment_reason=bindparam("reason")),
                [{"cid": c.customer_id, "reason": c.reason} for c in refreshed],
            )
        )
    return statements


def _events(changes: list[_Change], managers: dict[int, int]) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {
            "customer_id": c.customer_id,
            "account_manager_id": managers.get(c.customer_id),
            "kind": "segment_changed",
            "level": (AlertLevel.WARNING if c.new is Segment.INFERIOR else AlertLevel.INFO).value,
            "reason": f"등급 변경 {c.old.value if c.old else '-'} → {c.new.value}: {c.reason}"[:500],
            "call_sid": None,
            "created_at": now,
        }
        for c in changes
    ]


def _managers_query(customer_ids: list[int]) -> Any:
    return select(col(AccountAssignment.customer_id), col(AccountAssignment.account_manager_id)).where(
        col(AccountAssignment.customer_id).in_(customer_ids), col(AccountAssignment.ended_at).is_(None)
    )


async def recompute_customer(
    session: AsyncSession, customer_id: int, *, rules: Rules, as_of: date, changed_by: str = "rules"
) -> tuple[Segment, CustomerFacts]:
    """Decide one customer's segment now; a change is written with its reason, kept in history, and reported."""
    queries = _range_queries(customer_id, customer_id, as_of=as_of, rules=rules)
    results = {name: list((await session.exec(q)).all()) for name, q in queries.items()}
    if not results["customers"]:
        raise LookupError(customer_id)
    units = {u: int(p) for u, p in (await session.exec(unit_premiums_query())).all()}
    loaded = _assemble(results, units)
    changes, refreshed, counts = _decide(loaded, rules, as_of)
    for statement, rows in _writes(changes, refreshed, changed_by):
        await session.exec(statement, params=rows)
    if changes:
        managers = {c: m for c, m in (await session.exec(_managers_query([customer_id]))).all()}
        await session.exec(
            insert(CustomerEvent.__table__),  # type: ignore[attr-defined]
            params=_events(changes, managers),
        )
    return next(Segment(s) for s in counts), _facts(loaded.customers[0], loaded)


def refresh_unit_premiums(conn: Connection, *, as_of: date) -> dict[int, int]:
    """In-force premium per owning unit, stored as the base of the key customers' shares."""
    rows = conn.execute(
        select(col(Customer.org_unit_id), func.sum(col(Policy.premium)))
        .join(Customer, col(Customer.id) == col(Policy.customer_id))
        .where(col(Policy.start_date) <= as_of, col(Policy.end_date) > as_of)
        .group_by(col(Customer.org_unit_id))
    ).all()
    premiums = {int(u): int(p or 0) for u, p in rows}
    conn.execute(OrgUnitPremium.__table__.delete())  # type: ignore[attr-defined]
    if premiums:
        now = utcnow()
        conn.execute(
            insert(OrgUnitPremium),
            [{"org_unit_id": u, "in_force_premium": p, "computed_at": now} for u, p in premiums.items()],
        )
    return premiums


def recompute_all_segments(
    engine: Engine, *, rules: Rules, as_of: date, chunk: int = 20_000, changed_by: str = "segment-job"
) -> SegmentRun:
    """The scheduled job: every customer's segment, in chunks of `chunk` customers, one transaction each."""
    started = time.perf_counter()
    with engine.begin() as conn:
        units = refresh_unit_premiums(conn, as_of=as_of)
    total, changed, last_id = 0, 0, 0
    by_segment: dict[str, int] = defaultdict(int)
    while True:
        with engine.begin() as conn:
            high = _chunk_end(conn, last_id, chunk)
            if high is None:
                break
            queries = _range_queries(last_id + 1, high, as_of=as_of, rules=rules)
            loaded = _assemble({name: list(conn.execute(q).all()) for name, q in queries.items()}, units)
            changes, refreshed, counts = _decide(loaded, rules, as_of)
            for statement, rows in _writes(changes, refreshed, changed_by):
                conn.execute(statement, rows)
            if changes:
                ids = [c.customer_id for c in changes]
                managers = {c: m for c, m in conn.execute(_managers_query(ids)).all()}
                conn.execute(insert(CustomerEvent.__table__), _events(changes, managers))  # type: ignore[attr-defined]
        total += len(loaded.customers)
        changed += len(changes)
        for name, n in counts.items():
            by_segment[name] += n
        last_id = high
    seconds = time.perf_counter() - started
    log.info("segments recomputed: %d customers, %d changed, %.1f s", total, changed, seconds)
    return SegmentRun(total, changed, round(seconds, 2), dict(by_segment))


def _chunk_end(conn: Connection, after: int, chunk: int) -> int | None:
    """The highest id of the next `chunk` customers after `after`, or None when none are left."""
    ids = select(col(Customer.id)).where(col(Customer.id) > after).order_by(col(Customer.id)).limit(chunk).subquery()
    return conn.scalar(select(func.max(ids.c.id)))


def changes_of(customer_ids: Iterable[int]) -> Any:
    """Segment history of these customers, newest first."""
    return (
        select(SegmentChange)
        .where(col(SegmentChange.customer_id).in_(list(customer_ids)))
        .order_by(col(SegmentChange.changed_at).desc(), col(SegmentChange.id).desc())
    )
