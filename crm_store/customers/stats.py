"""Aggregates per customer and per year, kept current in the transaction that adds a policy or a claim.

Earned premium is reckoned by calendar year: each policy's premium is spread over the years it covers, pro rata
by days. Claims count, and their paid amounts add up, in the year they occurred (accident year). The screen-pop
reads these rows instead of summing all claims at call time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import case, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert
from sqlmodel import col

from crm_store.customers.tables import Claim, Customer, CustomerStats, CustomerYearStats, Policy
from crm_store.types import utcnow

OPEN_CLAIM = "open"


def premium_by_year(premium: int, start: date, end: date) -> dict[int, int]:
    """The premium spread over the calendar years of [start, end), pro rata by days; the shares add up exactly."""
    days = (end - start).days
    if days <= 0:
        return {start.year: premium}
    shares: dict[int, int] = {}
    given = 0
    for year in range(start.year, end.year + 1):
        low, high = max(start, date(year, 1, 1)), min(end, date(year + 1, 1, 1))
        if high <= low:
            continue
        share = premium * (high - low).days // days
        shares[year] = share
        given += share
    last = max(shares)
    shares[last] += premium - given
    return shares


def _upsert(dialect: str, table: Any, values: dict[str, Any], keys: tuple[str, ...], update: dict[str, Any]) -> Insert:
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table).values(**values)
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(**values)
    else:
        raise ValueError(f"unsupported dialect {dialect!r}")
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: make(table.c, excluded) for name, make in update.items()}
    )


def _add(name: str) -> Any:
    return lambda current, excluded: current[name] + excluded[name]


_TOTALS = ("policy_count", "premium_total", "claim_count", "open_claims", "paid_total")


def _totals_upsert(
    dialect: str, customer_id: int, adds: dict[str, int], *, first: dict[str, Any] | None = None, keep: Any = None
) -> Insert:
    """Add `adds` to the customer's running totals (a first row starts from zero); `first` sets a date column whose
    value on conflict is `keep(current, excluded)`."""
    values = {"customer_id": customer_id, **dict.fromkeys(_TOTALS, 0), **adds, **(first or {}), "updated_at": utcnow()}
    update: dict[str, Any] = {name: _add(name) for name in adds}
    update |= {name: keep for name in first or {}}
    update["updated_at"] = lambda current, excluded: excluded.updated_at
    return _upsert(dialect, CustomerStats.__table__, values, ("customer_id",), update)  # type: ignore[attr-defined]


def _year_upsert(dialect: str, customer_id: int, year: int, adds: dict[str, int]) -> Insert:
    """Add `adds` to the customer's figures of one calendar year (a first row starts from zero)."""
    values = {"customer_id": customer_id, "year": year, "premium": 0, "paid": 0, "claims": 0, **adds}
    table = CustomerYearStats.__table__  # type: ignore[attr-defined]
    return _upsert(dialect, table, values, ("customer_id", "year"), {name: _add(name) for name in adds})


def _newer_or_older(column: str, *, newer: bool) -> Any:
    """On conflict: the excluded date if the current one is empty or it is newer (older), else the current one."""

    def pick(current: Any, excluded: Any) -> Any:
        wins = excluded[column] > current[column] if newer else excluded[column] < current[column]
        return case((current[column].is_(None) | wins, excluded[column]), else_=current[column])

    return pick


def policy_increments(dialect: str, *, customer_id: int, premium: int, start: date, end: date) -> list[Insert]:
    """The statements that count a new policy in the customer's aggregates."""
    earlier = _newer_or_older("first_policy_on", newer=False)
    totals = {"policy_count": 1, "premium_total": premium}
    statements = [_totals_upsert(dialect, customer_id, totals, first={"first_policy_on": start}, keep=earlier)]
    for year, share in premium_by_year(premium, start, end).items():
        statements.append(_year_upsert(dialect, customer_id, year, {"premium": share}))
    return statements


def claim_increments(dialect: str, *, customer_id: int, occurred_on: date, paid: int, status: str) -> list[Insert]:
    """The statements that count a new claim in the customer's aggregates."""
    later = _newer_or_older("last_claim_on", newer=True)
    totals = {"claim_count": 1, "open_claims": int(status == OPEN_CLAIM), "paid_total": paid}
    return [
        _totals_upsert(dialect, customer_id, totals, first={"last_claim_on": occurred_on}, keep=later),
        _year_upsert(dialect, customer_id, occurred_on.year, {"paid": paid, "claims": 1}),
    ]


def claim_adjustments(
    dialect: str, *, customer_id: int, occurred_on: date, paid_delta: int, open_delta: int
) -> list[Insert]:
    """The statements that move a changed claim's paid amount and open state in the customer's aggregates."""
    statements = [_totals_upsert(dialect, customer_id, {"open_claims": open_delta, "paid_total": paid_delta})]
    if paid_delta:
        statements.append(_year_upsert(dialect, customer_id, occurred_on.year, {"paid": paid_delta}))
    return statements


def _chunk_rows(
    policies: Iterable[tuple[int, int, date, date]], claims: Iterable[tuple[int, date, int, str]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    now = utcnow()
    stats: dict[int, dict[str, Any]] = {}
    years: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0])

    def row(customer_id: int) -> dict[str, Any]:
        if customer_id not in stats:
            stats[customer_id] = {
                "customer_id": customer_id,
                "policy_count": 0,
                "premium_total": 0,
                "claim_count": 0,
                "open_claims": 0,
                "paid_total": 0,
                "first_policy_on": None,
                "last_claim_on": None,
                "updated_at": now,
            }
        return stats[customer_id]

    for customer_id, premium, start, end in policies:
        r = row(customer_id)
        r["policy_count"] += 1
        r["premium_total"] += premium
        if r["first_policy_on"] is None or start < r["first_policy_on"]:
            r["first_policy_on"] = start
        for year, share in premium_by_year(premium, start, end).items():
            years[customer_id, year][0] += share
    for customer_id, occurred_on, paid, status in claims:
        r = row(customer_id)
        r["claim_count"] += 1
        r["open_claims"] += int(status == OPEN_CLAIM)
        r["paid_total"] += paid
        if r["last_claim_on"] is None or occurred_on > r["last_claim_on"]:
            r["last_claim_on"] = occurred_on
        figures = years[customer_id, occurred_on.year]
        figures[1] += paid
        figures[2] += 1
    year_rows = [
        {"customer_id": c, "year": y, "premium": p, "paid": paid, "claims": n} for (c, y), (p, paid, n) in years.items()
    ]
    return list(stats.values()), year_rows


def rebuild_stats(engine: Engine, *, chunk: int = 20_000) -> int:
    """Recompute every customer's aggregates from policies and claims (backfill, repair); returns customers done."""
    with engine.begin() as conn:
        conn.execute(delete(CustomerYearStats))
        conn.execute(delete(CustomerStats))
    done, last_id = 0, 0
    while True:
        with engine.begin() as conn:
            ids = conn.scalars(
                select(col(Customer.id)).where(col(Customer.id) > last_id).order_by(col(Customer.id)).limit(chunk)
            ).all()
            if not ids:
                return done
            low, high = ids[0], ids[-1]
            policies = conn.execute(
                select(
                    col(Policy.customer_id), col(Policy.premium), col(Policy.start_date), col(Policy.end_date)
                ).where(col(Policy.customer_id).between(low, high))
            ).all()
            claims = conn.execute(
                select(col(Claim.customer_id), col(Claim.occurred_on), col(Claim.paid_amount), col(Claim.status)).where(
                    col(Claim.customer_id).between(low, high)
                )
            ).all()
            stat_rows, year_rows = _chunk_rows(
                ((int(c), int(p), s, e) for c, p, s, e in policies), ((int(c), o, int(p), s) for c, o, p, s in claims)
            )
            if stat_rows:
                conn.execute(insert(CustomerStats), stat_rows)
            if year_rows:
                conn.execute(insert(CustomerYearStats), year_rows)
            done += len(ids)
            last_id = int(high)  # type: ignore[arg-type]
