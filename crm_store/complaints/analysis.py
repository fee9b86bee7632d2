"""The monthly complaint analysis: complaints received in a month per 100,000 contracts in force, by disclosure
category, over the customers of the viewer's part of the organisation (non-life insurers disclose complaints so).

Both counts range over the same population, the customers whose unit the viewer sees: the complaints they made
(received in the month, Korea time, wherever the complaint is handled now) and the policies they held in force on
any day of the month."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pydantic import Field
from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from crm_store.calendar import KST
from crm_store.complaints.tables import Complaint
from crm_store.complaints.wire import Category, Channel
from crm_store.customers.tables import Customer, Policy
from crm_store.org.scope import Viewer
from crm_store.org.tables import OrgUnit
from crm_store.types import Answer

PER = 100_000


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


def _per_100k(count: int, contracts: int) -> float | None:
    return round(count * PER / contracts, 2) if contracts else None


def _month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def _customers_seen(session: Session, viewer: Viewer) -> ColumnElement[bool]:
    """Customers of the units at or below the viewer's, the viewer's path read first: with it a constant, the
    planner sees how many units (and customers) that is and joins by hash, where the per-row scope check of the
    listings (`customer_in_scope`) would probe the whole population row by row."""
    path = session.exec(select(col(OrgUnit.path)).where(col(OrgUnit.id) == viewer.org_unit_id)).one()
    units = select(col(OrgUnit.id)).where(col(OrgUnit.path).startswith(path, autoescape=True))
    return col(Customer.org_unit_id).in_(units)


def monthly_analysis(session: Session, viewer: Viewer, *, month: date) -> ComplaintAnalysis:
    """The analysis of the month `month` falls in, over the customers the viewer sees."""
    first, following = _month_bounds(month)
    start, end = (datetime.combine(day, time(), tzinfo=KST) for day in (first, following))
    seen = _customers_seen(session, viewer)
    received = session.exec(
        select(col(Complaint.category), col(Complaint.channel), func.count())
        .join(Customer, col(Customer.id) == col(Complaint.customer_id))
        .where(col(Complaint.received_at) >= start, col(Complaint.received_at) < end, seen)
        .group_by(col(Complaint.category), col(Complaint.channel))
    ).all()
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
    total = fss = 0
    for category, channel, count in received:
        by_category[Category(category)] += count
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
    )
