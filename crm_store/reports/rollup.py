"""The monthly roll-up of calls: one month's calls counted per unit by type, topic, hour, weekday, caller segment and
hotline number into `call_rollup`, replacing whatever that month held (re-running it is harmless).

The workers roll up the month before at the start of each month (`workers.report_jobs`); a report asking for a
month that was never rolled up (or a running month whose roll-up has aged past `REFRESH`) rolls it up first, in the
same transaction: one grouped scan of that month's calls by their indexed creation time, done once per month.
Concurrent roll-ups of one month queue on the month's row in `call_rollup_month`."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Date,
    Integer,
    String,
    cast,
    delete,
    func,
    insert,
    literal,
    union_all,
    update,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from crm_store.calls.tables import Call
from crm_store.customers.tables import Customer
from crm_store.org.tables import OrgUnit
from crm_store.reports.tables import (
    UNCLASSIFIED,
    UNKNOWN_CALLER,
    CallRollup,
    CallRollupMonth,
    Dimension,
)
from crm_store.review.tables import ReviewItem
from crm_store.upsert import insert_ignoring_conflict
from crm_store.validation import BUSINESS_TZ

# A running month's roll-up is done again when a report asks for it this long after.
REFRESH = timedelta(minutes=15)


def month_start(day: date) -> date:
    """The first day of the month `day` falls in."""
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after (before, if negative) `month`'s."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def subtree_ids(session: Session, unit: OrgUnit) -> list[int]:
    """The ids of the unit and every unit below it (one indexed read of the units' paths). Given to the report's
    queries as constants, they let PostgreSQL reach a county's customers through the customers' unit index instead
    of scanning every customer of the company."""
    return [int(i or 0) for i in session.exec(select(col(OrgUnit.id)).where(col(OrgUnit.path).startswith(unit.path)))]


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month's first moment and the next month's, in Korea time."""
    first = month_start(month)
    following = add_months(first, 1)
    return datetime.combine(first, time(), tzinfo=BUSINESS_TZ), datetime.combine(following, time(), tzinfo=BUSINESS_TZ)


def _local_hour_and_weekday(dialect: str, moment: Any) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """The hour (0-23) and ISO weekday (1 Monday to 7 Sunday) of a UTC moment, in Korea (no daylight saving)."""
    if dialect == "postgresql":
        local = func.timezone(str(BUSINESS_TZ), moment)
        return cast(func.extract("hour", local), Integer), cast(func.extract("isodow", local), Integer)
    sunday_first = cast(func.strftime("%w", moment, "+9 hours"), Integer)
    return cast(func.strftime("%H", moment, "+9 hours"), Integer), (sunday_first + 6) % 7 + 1


def _grouped_calls(session: Session, month: date) -> CompoundSelect[*tuple[Any, ...]]:
    """The month's calls counted per unit under each dimension, as rows of the roll-up (one pass over the calls,
    kept as a common table expression and grouped once per dimension; GROUPING SETS measured twice as slow on
    PostgreSQL 15 at 850,000 calls a month: it sorted the month once per dimension)."""
    start, end = month_bounds(month)
    dialect = session.get_bind().dialect.name
    hour, weekday = _local_hour_and_weekday(dialect, col(Call.created_at))
    review_unit = (
        select(func.min(col(ReviewItem.org_unit_id))).where(col(ReviewItem.call_sid) == col(Call.call_sid))
    ).scalar_subquery()
    head_office = (select(func.min(col(OrgUnit.id))).where(col(OrgUnit.parent_id).is_(None))).scalar_subquery()
    unit = func.coalesce(col(Customer.org_unit_id), review_unit, head_office)
    calls = (
        sa_select(
            unit.label("org_unit_id"),
            func.coalesce(col(Call.type), UNCLASSIFIED).label(Dimension.TYPE),
            func.coalesce(col(Call.topic), UNCLASSIFIED).label(Dimension.TOPIC),
            cast(hour, String).label(Dimension.HOUR),
            cast(weekday, String).label(Dimension.WEEKDAY),
            func.coalesce(col(Customer.segment), UNKNOWN_CALLER).label(Dimension.SEGMENT),
            func.coalesce(func.substr(col(Call.to_number), 1, 64), UNKNOWN_CALLER).label(Dimension.HOTLINE),
            func.coalesce(func.substr(col(Call.direction), 1, 64), UNKNOWN_CALLER).label(Dimension.CHANNEL),
        )
        .select_from(Call)
        .outerjoin(Customer, col(Customer.id) == col(Call.customer_id))
        .where(col(Call.created_at) >= start, col(Call.created_at) < end)
        .cte("month_calls")
    )
    return union_all(
        *(
            sa_select(
                literal(month, Date()), calls.c.org_unit_id, literal(dimension.value), calls.c[dimension], func.count()
            )  # fmt: skip
            .where(calls.c.org_unit_id.is_not(None))
            .group_by(calls.c.org_unit_id, calls.c[dimension])
            for dimension in Dimension
        )
    )


def roll_up_month(session: Session, month: date, *, now: datetime) -> int:
    """Count the calls of `month` into the roll-up, replacing that month's counts; the month's calls."""
    month = month_start(month)
    session.execute(
        insert_ignoring_conflict(
            session.get_bind().dialect.name,
            CallRollupMonth,
            {"month": month, "complete": False, "calls": 0, "rolled_up_at": now},
        )
    )
    # Holding the month's row until commit: a second roll-up of the month waits, then replaces this one's counts.
    session.exec(select(CallRollupMonth).where(col(CallRollupMonth.month) == month).with_for_update()).one()
    session.execute(delete(CallRollup).where(col(CallRollup.month) == month))
    # Counted and written by the database in one statement: no row of the month travels to this process.
    columns = ("month", "org_unit_id", "dimension", "value", "calls")
    session.execute(insert(CallRollup).from_select(columns, _grouped_calls(session, month)))
    total = session.exec(
        select(func.coalesce(func.sum(col(CallRollup.calls)), 0)).where(
            col(CallRollup.month) == month, col(CallRollup.dimension) == Dimension.TYPE.value
        )
    ).one()
    _, end = month_bounds(month)
    session.execute(
        update(CallRollupMonth)
        .where(col(CallRollupMonth.month) == month)
        .values(complete=now >= end, calls=total, rolled_up_at=now)
    )
    return total


def ensure_rolled_up(session: Session, months: list[date], *, now: datetime) -> None:
    """Roll up each of `months` (first days) up to the running one that has no roll-up yet, or whose roll-up was
    taken while the month ran and is older than `REFRESH`; months to come are left alone (they have no calls)."""
    running = month_start(now.astimezone(BUSINESS_TZ).date())
    wanted = sorted({month_start(m) for m in months if month_start(m) <= running})
    if not wanted:
        return
    done = {
        row.month: row
        for row in session.exec(select(CallRollupMonth).where(col(CallRollupMonth.month).in_(wanted))).all()
    }
    for month in wanted:
        row = done.get(month)
        if row is None or (not row.complete and now - row.rolled_up_at >= REFRESH):
            roll_up_month(session, month, now=now)
