"""The CRM analytics of a monthly report on a unit and its subtree: customers per segment and the month's movements
between segments, loss ratio (paid / premium) by segment, policy line and the units directly below, claim frequency
by segment over the year to the month's end, the share of premium held by key customers, and the account managers'
visits and interviews due in the month and done.

Read from the per-customer running totals (`customer_stats`), the segment history, policies, claims and service
duties of the subtree's customers: grouped queries, nothing per customer in Python."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_store.customers.tables import Claim, Customer, CustomerStats, Policy, SegmentChange
from crm_store.managers.tables import ServiceTask
from crm_store.org.tables import OrgUnit
from crm_store.reports.rollup import add_months, month_bounds, subtree_ids
from crm_store.types import Answer


class LossRatio(Answer):
    name: str = Field(description="the segment, policy line or unit")
    premium: int = Field(description="premium written (won)")
    paid: int = Field(description="claims paid (won)")
    ratio: float | None = Field(description="paid / premium, null without premium")


class SegmentMove(Answer):
    old_segment: str | None = Field(description="the segment left (null: a new customer)")
    new_segment: str = Field(description="the segment entered")
    customers: int = Field(description="customers who moved so in the month")


class DutyCompletion(Answer):
    kind: str = Field(description="key_visit, quality_interview, renewal_reminder, ...")
    due: int = Field(description="duties due in the month")
    done: int = Field(description="of those, done by the month's end")


class CrmAnalytics(Answer):
    segments: dict[str, int] = Field(description="customers per segment now")
    movements: list[SegmentMove] = Field(description="segment changes in the month, old to new")
    loss_by_segment: list[LossRatio] = Field(description="loss ratio per segment")
    loss_by_line: list[LossRatio] = Field(description="loss ratio per policy line")
    loss_by_unit: list[LossRatio] = Field(description="the units directly below")
    claim_frequency: dict[str, float] = Field(
        description="claims occurred in the 12 months to the month's end per customer, by segment"
    )
    key_premium_share: float | None = Field(description="key customers' share of the premium (null without premium)")
    duties: list[DutyCompletion] = Field(description="account managers' duties due in the month, per kind")


def _ratio(name: str, premium: Any, paid: Any) -> LossRatio:
    premium, paid = int(premium or 0), int(paid or 0)
    return LossRatio(name=name, premium=premium, paid=paid, ratio=round(paid / premium, 4) if premium else None)


def crm_analytics(session: Session, unit: OrgUnit, month: date) -> CrmAnalytics:
    start, end = month_bounds(month)
    last_day = add_months(month, 1) - timedelta(days=1)
    subtree = subtree_ids(session, unit)
    ours = col(Customer.org_unit_id).in_(subtree)
    # One grouped pass over the subtree's customers and their running totals: per unit and segment.
    groups = session.exec(
        select(  # type: ignore[call-overload]
            col(Customer.org_unit_id),
            col(Customer.segment),
            func.count(),
            func.sum(col(CustomerStats.premium_total)),
            func.sum(col(CustomerStats.paid_total)),
        )
        .select_from(Customer)
        .outerjoin(CustomerStats, col(CustomerStats.customer_id) == col(Customer.id))
        .where(ours)
        .group_by(col(Customer.org_unit_id), col(Customer.segment))
    ).all()
    paths = dict(session.exec(select(col(OrgUnit.id), col(OrgUnit.path)).where(col(OrgUnit.id).in_(subtree))).all())
    children = session.exec(select(OrgUnit).where(col(OrgUnit.parent_id) == unit.id).order_by(col(OrgUnit.path))).all()
    segments: dict[str, int] = {}
    segment_money: dict[str, list[int]] = {}
    child_money: dict[int, list[int]] = {int(child.id or 0): [0, 0] for child in children}
    for unit_id, segment, count, premium, paid in groups:
        segments[segment] = segments.get(segment, 0) + count
        money = segment_money.setdefault(segment, [0, 0])
        money[0], money[1] = money[0] + int(premium or 0), money[1] + int(paid or 0)
        under = next((c for c in children if paths.get(unit_id, "").startswith(c.path)), None)
        if under is not None:
            totals = child_money[int(under.id or 0)]
            totals[0], totals[1] = totals[0] + int(premium or 0), totals[1] + int(paid or 0)
    moves = session.exec(
        select(col(SegmentChange.old_segment), col(SegmentChange.new_segment), func.count())
        .join(Customer, col(Customer.id) == col(SegmentChange.customer_id))
        .where(ours, col(SegmentChange.changed_at) >= start, col(SegmentChange.changed_at) < end)
        .group_by(col(SegmentChange.old_segment), col(SegmentChange.new_segment))
    ).all()
    premium_by_line = dict(
        session.exec(
            select(col(Policy.line), func.sum(col(Policy.premium)))
            .join(Customer, col(Customer.id) == col(Policy.customer_id))
            .where(ours)
            .group_by(col(Policy.line))
        ).all()
    )
    paid_by_line = dict(
        session.exec(
            select(col(Policy.line), func.sum(col(Claim.paid_amount)))
            .select_from(Claim)
            .join(Policy, col(Policy.id) == col(Claim.policy_id))
            .join(Customer, col(Customer.id) == col(Claim.customer_id))
            .where(ours)
            .group_by(col(Policy.line))
        ).all()
    )
    by_unit = [_ratio(child.name, *child_money[int(child.id or 0)]) for child in children]
    year_ago = add_months(month, -11)
    claims: dict[str, int] = dict(
        session.exec(
            select(col(Customer.segment), func.count())
            .select_from(Claim)
            .join(Customer, col(Customer.id) == col(Claim.customer_id))
            .where(ours, col(Claim.occurred_on) >= year_ago, col(Claim.occurred_on) <= last_day)
            .group_by(col(Customer.segment))
        ).all()
    )
    premium_total = sum(money[0] for money in segment_money.values())
    key_premium = segment_money.get("key", [0, 0])[0]
    duties = session.exec(
        select(
            col(ServiceTask.kind),
            func.count(),
            func.count(col(ServiceTask.done_on)).filter(col(ServiceTask.done_on) <= last_day),
        )
        .join(Customer, col(Customer.id) == col(ServiceTask.customer_id))
        .where(ours, col(ServiceTask.due_on) >= month, col(ServiceTask.due_on) <= last_day)
        .group_by(col(ServiceTask.kind))
    ).all()
    return CrmAnalytics(
        segments=dict(sorted(segments.items())),
        movements=[SegmentMove(old_segment=o, new_segment=n, customers=c) for o, n, c in sorted(moves, key=str)],
        loss_by_segment=[_ratio(name, *money) for name, money in sorted(segment_money.items())],
        loss_by_line=[_ratio(line, p, paid_by_line.get(line, 0)) for line, p in sorted(premium_by_line.items())],
        loss_by_unit=by_unit,
        claim_frequency={s: round(claims.get(s, 0) / n, 4) for s, n in sorted(segments.items()) if n},
        key_premium_share=round(key_premium / premium_total, 4) if premium_total else None,
        duties=[DutyCompletion(kind=k, due=due, done=done) for k, due, done in sorted(duties)],
    )
