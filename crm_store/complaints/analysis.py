"""The monthly complaint analysis: complaints received in a month per 100,000 contracts in force, by disclosure
category, over the customers of the viewer's part of the organisation (non-life insurers disclose complaints so).

Both counts range over the same population, the customers whose unit the viewer sees: the complaints they made
(received in the month, Korea time, wherever the complaint is handled now) and the policies they held in force on
any day of the month."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

from pydantic import Field
from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from crm_store.calendar import KST, BusinessCalendar, kst_date
from crm_store.complaints.tables import Complaint
from crm_store.complaints.wire import Category, Channel
from crm_store.customers.tables import Customer, Policy
from crm_store.org.scope import Viewer
from crm_store.org.tables import OrgUnit
from crm_store.types import Answer

PER = 100_000
# How many months before the analysed one its trend shows.
TREND_MONTHS = 5


class CategoryFigure(Answer):
    """The complaints of one disclosure category in the month."""

    received: int = Field(description="complaints received")
    per_100k: float | None = Field(description="received per 100,000 contracts; null without contracts")


class CategoryFigures(Answer):
    """The month's complaints by the four disclosure categories."""

    sales: CategoryFigure = Field(description="sales (판매)")
    maintenance: CategoryFigure = Field(description="policy maintenance (보유계약관리)")
    claims_payment: CategoryFigure = Field(description="claims payment (보험금 지급)")
    other: CategoryFigure = Field(description="other (기타)")


class MonthTrend(Answer):
    """One month of the trend: complaints received and closed."""

    month: str = Field(description="YYYY-MM")
    received: int = Field(description="complaints received in the month (KST)")
    closed: int = Field(description="complaints closed in the month (KST)")


class TopicFigure(Answer):
    """The complaints of one topic in the month."""

    topic: str = Field(description="a complaint topic of the taxonomy, or `none`")
    received: int = Field(description="complaints received")


class ComplaintAnalysis(Answer):
    """The month's complaints against the contracts in force, for the viewer's part of the organisation."""

    month: str = Field(description="YYYY-MM")
    contracts: int = Field(
        description="policies of customers of your part of the organisation in force on any day of the month "
        "(start date on or before its last day, end date on or after its first)"
    )
    received: int = Field(description="complaints received in the month (KST) from those customers, every channel")
    fss_referred: int = Field(description="of them, referrals by the Financial Supervisory Service (channel fss)")
    per_100k: float | None = Field(description="received per 100,000 contracts; null without contracts")
    own_per_100k: float | None = Field(description="received by the company's own doors (not FSS) per 100,000")
    by_category: CategoryFigures = Field(description="received and per 100,000 contracts by disclosure category")
    fss_per_100k: float | None = Field(default=None, description="FSS referrals per 100,000 contracts")
    closed: int = Field(default=0, description="complaints of those customers closed in the month (KST)")
    overdue: int = Field(default=0, description="of the month's complaints, those past their resolve limit")
    by_topic: list[TopicFigure] = Field(default_factory=list, description="received by topic, most first")
    repeat_complainants: int = Field(
        default=0, description="customers with two or more complaints received in the month or a repeat linked"
    )
    average_business_days: float | None = Field(
        default=None, description="mean resolution time of those closed in the month, Korean business days"
    )
    p90_business_days: float | None = Field(
        default=None, description="90th percentile of that resolution time (nearest rank), business days"
    )
    trend: list[MonthTrend] = Field(default_factory=list, description="received and closed, earlier months first")


def _per_100k(count: int, contracts: int) -> float | None:
    return round(count * PER / contracts, 2) if contracts else None


def _month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def _unit_path(session: Session, unit_id: int) -> str:
    return session.exec(select(col(OrgUnit.path)).where(col(OrgUnit.id) == unit_id)).one()


def _customers_seen(session: Session, viewer: Viewer | int) -> ColumnElement[bool]:
    """Customers of the units at or below the viewer's (or the unit's), the path read first: with it a constant, the
    planner sees how many units (and customers) that is and joins by hash, where the per-row scope check of the
    listings (`customer_in_scope`) would probe the whole population row by row."""
    path = _unit_path(session, viewer if isinstance(viewer, int) else viewer.org_unit_id)
    units = select(col(OrgUnit.id)).where(col(OrgUnit.path).startswith(path, autoescape=True))
    return col(Customer.org_unit_id).in_(units)


def _month_add(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _kst_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=KST)


def nearest_rank(values: list[int], share: float) -> float | None:
    """The nearest-rank percentile of the values (None without any)."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(share * len(ordered)) - 1)])


def _business_day_index(first: date, last: date, calendar: BusinessCalendar) -> dict[date, int]:
    """Each day of the span with the business days counted from its start up to it: the business days between two
    days are one subtraction."""
    index, count, day = {}, 0, first
    while day <= last:
        if calendar.is_business_day(day) and day != first:
            count += 1
        index[day] = count
        day += timedelta(days=1)
    return index


def _resolution_days(session: Session, seen: ColumnElement[bool], start: datetime, end: datetime) -> list[int]:
    rows = session.exec(
        select(col(Complaint.received_at), col(Complaint.closed_at))
        .join(Customer, col(Customer.id) == col(Complaint.customer_id))
        .where(col(Complaint.closed_at) >= start, col(Complaint.closed_at) < end, seen)
    ).all()
    if not rows:
        return []
    days = [(kst_date(received), kst_date(closed)) for received, closed in rows if closed is not None]
    index = _business_day_index(min(d for d, _ in days), max(c for _, c in days), BusinessCalendar())
    return [max(0, index[closed] - index[received]) for received, closed in days]


def _month_counts(
    session: Session, column: object, seen: ColumnElement[bool], start: datetime, end: datetime
) -> list[tuple[datetime, int]]:
    """How many complaints have `column` (a moment) in each month (KST) of [start, end): grouped in PostgreSQL,
    counted here on SQLite."""
    where = (col(column) >= start, col(column) < end, seen)  # type: ignore[arg-type]
    joined = (Customer, col(Customer.id) == col(Complaint.customer_id))
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        month = func.date_trunc("month", func.timezone("Asia/Seoul", col(column)))  # type: ignore[arg-type]
        rows = session.exec(select(month, func.count()).join(*joined).where(*where).group_by(month)).all()
        return [(moment, int(count)) for moment, count in rows]
    moments = session.exec(select(col(column)).join(*joined).where(*where)).all()  # type: ignore[call-overload]
    return [(moment.astimezone(KST), 1) for moment in moments if isinstance(moment, datetime)]


def _trend(session: Session, seen: ColumnElement[bool], first: date) -> list[MonthTrend]:
    earliest = _month_add(first, -TREND_MONTHS)
    start, end = _kst_start(earliest), _kst_start(first)
    months = [_month_add(earliest, n) for n in range(TREND_MONTHS)]
    counts = {month: [0, 0] for month in months}
    for column, slot in ((Complaint.received_at, 0), (Complaint.closed_at, 1)):
        for moment, count in _month_counts(session, column, seen, start, end):
            key = date(moment.year, moment.month, 1)
            if key in counts:
                counts[key][slot] += count
    return [MonthTrend(month=f"{m:%Y-%m}", received=counts[m][0], closed=counts[m][1]) for m in months]


def monthly_analysis(
    session: Session, viewer: Viewer | int, *, month: date, now: datetime | None = None
) -> ComplaintAnalysis:
    """The analysis of the month `month` falls in, over the customers the viewer (or the unit of this id) sees;
    overdue as of `now` (the end of the month when absent)."""
    first, following = _month_bounds(month)
    start, end = (datetime.combine(day, time(), tzinfo=KST) for day in (first, following))
    seen = _customers_seen(session, viewer)
    in_month = (col(Complaint.received_at) >= start, col(Complaint.received_at) < end, seen)
    joined = (Customer, col(Customer.id) == col(Complaint.customer_id))
    received = session.exec(
        select(col(Complaint.category), col(Complaint.channel), col(Complaint.topic), func.count())
        .join(*joined)
        .where(*in_month)
        .group_by(col(Complaint.category), col(Complaint.channel), col(Complaint.topic))
    ).all()
    as_of = min(now or end, end)
    overdue = session.exec(
        select(func.count())
        .select_from(Complaint)
        .join(*joined)
        .where(
            *in_month,
            col(Complaint.resolve_by) < as_of,
            (col(Complaint.closed_at).is_(None)) | (col(Complaint.closed_at) > col(Complaint.resolve_by)),
        )
    ).one()
    per_customer = (
        select(col(Complaint.customer_id))
        .join(*joined)
        .where(*in_month)
        .group_by(col(Complaint.customer_id))
        .having((func.count() > 1) | (func.max(col(Complaint.repeats)) > 0))
        .subquery()
    )
    repeaters = session.exec(select(func.count()).select_from(per_customer)).one()
    resolution = _resolution_days(session, seen, start, end)
    contracts = session.exec(
        select(func.count())
        .select_from(Policy)
        .join(Customer, col(Customer.id) == col(Policy.customer_id))
        .where(
            col(Policy.start_date) < following,
            col(Policy.end_date) >= first,
            seen,
        )
    ).one()
    by_category = dict.fromkeys(Category, 0)
    by_topic: dict[str, int] = {}
    total = fss = 0
    for category, channel, topic, count in received:
        by_category[Category(category)] += count
        by_topic[topic or "none"] = by_topic.get(topic or "none", 0) + count
        total += count
        fss += count if channel == Channel.FSS.value else 0
    figures = {
        category.value: CategoryFigure(received=count, per_100k=_per_100k(count, contracts))
        for category, count in by_category.items()
    }
    return ComplaintAnalysis(
        month=first.strftime("%Y-%m"),
        contracts=contracts,
        received=total,
        fss_referred=fss,
        per_100k=_per_100k(total, contracts),
        own_per_100k=_per_100k(total - fss, contracts),
        by_category=CategoryFigures.model_validate(figures),
        fss_per_100k=_per_100k(fss, contracts),
        closed=len(resolution),
        overdue=overdue,
        by_topic=[TopicFigure(topic=t, received=n) for t, n in sorted(by_topic.items(), key=lambda i: (-i[1], i[0]))],
        repeat_complainants=repeaters,
        average_business_days=round(sum(resolution) / len(resolution), 2) if resolution else None,
        p90_business_days=nearest_rank(resolution, 0.9),
        trend=_trend(session, seen, first),
    )
