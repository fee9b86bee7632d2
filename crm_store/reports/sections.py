"""The monthly report's sections that are not read from the call roll-up: the desk's waiting calls (service level,
abandonment, waits), customer-information changes decided from calls, alerts raised and what followed, complaints,
regional hot spots, and for each hot spot the Korean nouns that carry it, example calls and the potential customers
(callers asking about a line they hold no policy of).

Each reads one month of one subtree through indexed columns (creation times, units' materialised paths); none
scans more than the month. The waiting calls are read only through `_waiting_rows` (the desk's table is being
extended with answer and end times: what this module needs of it stays in that one function)."""

from __future__ import annotations

import functools
import re
from collections import Counter
from datetime import date, datetime
from typing import Any

from pydantic import Field
from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_store.calls.tables import Call
from crm_store.complaints.tables import Complaint
from crm_store.customers.tables import Customer, CustomerEvent, Policy
from crm_store.desk.tables import CallbackTask, WaitingCall
from crm_store.org.tables import OrgUnit
from crm_store.reports.hot_spots import HotSpot, hot_spots
from crm_store.reports.rollup import month_bounds, subtree_ids
from crm_store.reports.tables import UNCLASSIFIED
from crm_store.review.tables import ReviewEvent, ReviewItem
from crm_store.types import Answer

# A waiting call answered within this many seconds counts toward the service level (the usual 80/20 target).
SERVICE_LEVEL_SECONDS = 20
EXAMPLES_PER_HOT_SPOT = 3
# Transcripts of a hot topic read for its nouns.
NOUN_SAMPLE = 200
NOUNS_PER_HOT_SPOT = 8
POTENTIAL_CUSTOMERS_LISTED = 20
# Inquiries about what a product covers or costs: asked by a caller who holds no policy in force, a potential
# customer.
PRODUCT_TOPICS = ("inquiry.coverage", "inquiry.premium")


class WaitingFigures(Answer):
    """The desk's queues in the month for the unit's callers: offered, answered, abandoned, waits."""

    offered: int = Field(description="calls put in a queue")
    answered: int = Field(description="taken by an agent")
    abandoned: int = Field(description="the caller hung up while waiting")
    service_level: float | None = Field(
        description=f"share of offered calls answered within {SERVICE_LEVEL_SECONDS} s (null without calls)"
    )
    abandonment_rate: float | None = Field(description="abandoned / offered (null without calls)")
    average_wait_seconds: float | None = Field(description="mean wait of the calls that left the queue")
    longest_wait_seconds: int | None = Field(description="the longest wait")
    average_handling_seconds: float | None = Field(
        default=None, description="mean time from an agent answering to the conversation's end (null without any)"
    )
    callbacks: dict[str, int] = Field(
        default_factory=dict, description="call-back tasks asked in the month per reason (abandoned, after_hours)"
    )
    callbacks_done: int = Field(default=0, description="of those, called back by now")


class AlertFigures(Answer):
    """Alerts (customer events) raised in the month for the unit's customers, and what followed."""

    by_kind: dict[str, int] = Field(description="events per kind (blacklist_hit, frequent_claims, ...)")
    addressed: int = Field(description="events sent to an account manager")
    unaddressed: int = Field(description="events of customers without an account manager (listed to supervisors)")


class ChangeFigures(Answer):
    """Customer-information changes proposed from calls and decided by operators in the month."""

    applied: int = Field(description="proposed changes applied to the customer's record")
    rejected: int = Field(description="proposed changes rejected")


class ComplaintFigures(Answer):
    """Complaints received in the month by the unit and the units below it."""

    received: int = Field(description="complaints received in the month")
    by_category: dict[str, int] = Field(description="per disclosure category")
    by_channel: dict[str, int] = Field(default_factory=dict, description="per channel (call, visit, letter, web, fss)")
    closed: int = Field(description="of those, closed by now")


class RegionalHotSpot(HotSpot):
    """A hot spot of one unit directly below the report's unit (a province of the company, a city of a province)."""

    org_unit_id: int = Field(description="the unit directly below whose subtree the topic rose in")
    org_unit_name: str = Field(description="its name")


class ExampleCall(Answer):
    call_sid: str = Field(description="the call's Twilio CallSid")
    received_at: str = Field(description="Korea time, YYYY-MM-DD HH:MM")
    excerpt: str = Field(description="the start of the redacted transcript")


class HotSpotDetail(Answer):
    """What carries a hot spot: the nouns most frequent in its calls' transcripts, and example calls."""

    topic: str = Field(description="the hot spot's topic")
    nouns: list[str] = Field(description="Korean nouns (Kiwi NNG/NNP), most frequent first")
    examples: list[ExampleCall] = Field(description="the latest calls on the topic in the month")


class PotentialCustomer(Answer):
    customer_id: int = Field(description="the caller's customer id")
    name: str = Field(description="the caller's name")
    topic: str = Field(description="what they asked about")
    calls: int = Field(description="their calls on it in the month")


def _month_calls(session: Session, unit: OrgUnit, month: date) -> Any:
    """The month's calls of customers of the subtree (the call's own unit: its customer's)."""
    start, end = month_bounds(month)
    return (
        select(Call)
        .join(Customer, col(Customer.id) == col(Call.customer_id))
        .where(
            col(Call.created_at) >= start,
            col(Call.created_at) < end,
            col(Customer.org_unit_id).in_(subtree_ids(session, unit)),
        )
    )


# -- the desk's waiting calls ----------------------------------------------------------------------------------------


def _waiting_rows(
    session: Session, unit: OrgUnit, month: date, *, head_office: bool
) -> list[tuple[str, int | None, datetime | None, datetime | None]]:
    """(state, wait in seconds, answered, ended) of the month's waiting calls of the subtree's customers (unknown
    callers count at the head office). The one place that knows WaitingCall's columns."""
    start, end = month_bounds(month)
    in_subtree = col(Customer.org_unit_id).in_(subtree_ids(session, unit))
    who = (in_subtree | col(WaitingCall.customer_id).is_(None)) if head_office else in_subtree
    rows = session.exec(
        select(
            col(WaitingCall.state),
            col(WaitingCall.wait_seconds),
            col(WaitingCall.answered_at),
            col(WaitingCall.ended_at),
        )
        .outerjoin(Customer, col(Customer.id) == col(WaitingCall.customer_id))
        .where(col(WaitingCall.enqueued_at) >= start, col(WaitingCall.enqueued_at) < end, who)
    ).all()
    return [(str(state), wait, answered, ended) for state, wait, answered, ended in rows]


def _callback_counts(session: Session, unit: OrgUnit, month: date, *, head_office: bool) -> list[tuple[str, bool, int]]:
    """(reason, done, tasks) of the call-back tasks asked in the month for the subtree's callers (unknown callers at
    the head office)."""
    start, end = month_bounds(month)
    in_subtree = col(Customer.org_unit_id).in_(subtree_ids(session, unit))
    who = (in_subtree | col(CallbackTask.customer_id).is_(None)) if head_office else in_subtree
    done = col(CallbackTask.done_at).is_not(None)
    rows = session.exec(
        select(col(CallbackTask.reason), done, func.count())
        .outerjoin(Customer, col(Customer.id) == col(CallbackTask.customer_id))
        .where(col(CallbackTask.requested_at) >= start, col(CallbackTask.requested_at) < end, who)
        .group_by(col(CallbackTask.reason), done)
    ).all()
    return [(str(reason), bool(finished), int(count)) for reason, finished, count in rows]


def waiting_figures(session: Session, unit: OrgUnit, month: date) -> WaitingFigures:
    head_office = unit.parent_id is None
    rows = _waiting_rows(session, unit, month, head_office=head_office)
    offered = len(rows)
    answered = [wait for state, wait, _a, _e in rows if state == "connected"]
    abandoned = sum(1 for state, *_ in rows if state == "abandoned")
    waits = [wait for _, wait, _a, _e in rows if wait is not None]
    quick = sum(1 for wait in answered if wait is not None and wait <= SERVICE_LEVEL_SECONDS)
    handled = [(e - a).total_seconds() for _s, _w, a, e in rows if a is not None and e is not None and e >= a]
    callbacks: Counter[str] = Counter()
    called_back = 0
    for reason, done, count in _callback_counts(session, unit, month, head_office=head_office):
        callbacks[reason] += count
        called_back += count if done else 0
    return WaitingFigures(
        offered=offered,
        answered=len(answered),
        abandoned=abandoned,
        service_level=round(quick / offered, 4) if offered else None,
        abandonment_rate=round(abandoned / offered, 4) if offered else None,
        average_wait_seconds=round(sum(waits) / len(waits), 1) if waits else None,
        longest_wait_seconds=max(waits) if waits else None,
        average_handling_seconds=round(sum(handled) / len(handled), 1) if handled else None,
        callbacks=dict(sorted(callbacks.items())),
        callbacks_done=called_back,
    )


# -- alerts, changes, complaints --------------------------------------------------------------------------------------


def alert_figures(session: Session, unit: OrgUnit, month: date) -> AlertFigures:
    start, end = month_bounds(month)
    rows = session.exec(
        select(col(CustomerEvent.kind), col(CustomerEvent.account_manager_id).is_not(None), func.count())
        .join(Customer, col(Customer.id) == col(CustomerEvent.customer_id))
        .where(
            col(CustomerEvent.created_at) >= start,
            col(CustomerEvent.created_at) < end,
            col(Customer.org_unit_id).in_(subtree_ids(session, unit)),
        )
        .group_by(col(CustomerEvent.kind), col(CustomerEvent.account_manager_id).is_not(None))
    ).all()
    kinds: Counter[str] = Counter()
    addressed = unaddressed = 0
    for kind, has_manager, count in rows:
        kinds[kind] += count
        if has_manager:
            addressed += count
        else:
            unaddressed += count
    return AlertFigures(by_kind=dict(sorted(kinds.items())), addressed=addressed, unaddressed=unaddressed)


def change_figures(session: Session, unit: OrgUnit, month: date) -> ChangeFigures:
    start, end = month_bounds(month)
    rows = session.exec(
        select(col(ReviewEvent.action), func.count())
        .join(ReviewItem, col(ReviewItem.id) == col(ReviewEvent.item_id))
        .where(
            col(ReviewEvent.created_at) >= start,
            col(ReviewEvent.created_at) < end,
            col(ReviewEvent.action).in_(("change_applied", "change_rejected")),
            col(ReviewItem.org_unit_id).in_(subtree_ids(session, unit)),
        )
        .group_by(col(ReviewEvent.action))
    ).all()
    counts = dict(rows)
    return ChangeFigures(applied=counts.get("change_applied", 0), rejected=counts.get("change_rejected", 0))


def complaint_figures(session: Session, unit: OrgUnit, month: date) -> ComplaintFigures:
    start, end = month_bounds(month)
    rows = session.exec(
        select(col(Complaint.category), col(Complaint.channel), col(Complaint.state), func.count())
        .where(
            col(Complaint.received_at) >= start,
            col(Complaint.received_at) < end,
            col(Complaint.org_unit_id).in_(subtree_ids(session, unit)),
        )
        .group_by(col(Complaint.category), col(Complaint.channel), col(Complaint.state))
    ).all()
    categories: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    closed = 0
    for category, channel, state, count in rows:
        categories[category] += count
        channels[channel] += count
        closed += count if state == "closed" else 0
    return ComplaintFigures(
        received=sum(categories.values()),
        by_category=dict(sorted(categories.items())),
        by_channel=dict(sorted(channels.items())),
        closed=closed,
    )


# -- hot spots by region, their nouns, examples and potential customers ----------------------------------------------


def _topic_counts(session: Session, units: list[OrgUnit], months: list[date]) -> dict[int, dict[str, int]]:
    """Calls per topic of each unit's subtree in `months`, from the roll-up."""
    from crm_store.reports.tables import CallRollup, Dimension

    counts: dict[int, dict[str, int]] = {}
    for unit in units:
        assert unit.id is not None
        rows = session.exec(
            select(col(CallRollup.value), func.sum(col(CallRollup.calls)))
            .where(
                col(CallRollup.month).in_(months),
                col(CallRollup.dimension) == Dimension.TOPIC.value,
                col(CallRollup.org_unit_id).in_(subtree_ids(session, unit)),
            )
            .group_by(col(CallRollup.value))
        ).all()
        counts[unit.id] = {value: int(calls) for value, calls in rows}
    return counts


def regional_hot_spots(session: Session, unit: OrgUnit, month: date, trailing: list[date]) -> list[RegionalHotSpot]:
    """The hot spots of each unit directly below `unit`, highest score first."""
    children = list(
        session.exec(select(OrgUnit).where(col(OrgUnit.parent_id) == unit.id).order_by(col(OrgUnit.path))).all()
    )
    now, before = _topic_counts(session, children, [month]), _topic_counts(session, children, trailing)
    found = []
    for child in children:
        assert child.id is not None
        for spot in hot_spots(now[child.id], before[child.id], skip=frozenset({UNCLASSIFIED})):
            found.append(RegionalHotSpot(**spot.model_dump(), org_unit_id=child.id, org_unit_name=child.name))
    return sorted(found, key=lambda spot: (-spot.score, spot.org_unit_name, spot.topic))


@functools.cache
def _kiwi() -> Any:
    """The classifier's morphological analyser (workers.understanding), loaded once per process."""
    from kiwipiepy import Kiwi

    return Kiwi()


_MASKED = re.compile(r"[*#]")


def nouns_of(texts: list[str], *, limit: int = NOUNS_PER_HOT_SPOT) -> list[str]:
    """The Korean nouns (common and proper, two characters or more, no masked digits) most frequent in `texts`,
    counted once per text, ties in alphabetical order."""
    if not texts:
        return []
    counted: Counter[str] = Counter()
    for tokens in _kiwi().tokenize(texts):
        counted.update(
            {t.form for t in tokens if t.tag in ("NNG", "NNP") and len(t.form) > 1 and not _MASKED.search(t.form)}
        )
    return [noun for noun, _ in sorted(counted.items(), key=lambda item: (-item[1], item[0]))[:limit]]


def hot_spot_details(session: Session, unit: OrgUnit, month: date, topics: list[str]) -> list[HotSpotDetail]:
    from crm_store.validation import BUSINESS_TZ

    details = []
    for topic in topics:
        calls = session.exec(
            _month_calls(session, unit, month)
            .where(col(Call.topic) == topic, col(Call.transcript).is_not(None))
            .order_by(col(Call.created_at).desc())
            .limit(NOUN_SAMPLE)
        ).all()
        examples = [
            ExampleCall(
                call_sid=call.call_sid,
                received_at=_at(call.created_at, BUSINESS_TZ),
                excerpt=(call.transcript or "")[:120],
            )
            for call in calls[:EXAMPLES_PER_HOT_SPOT]
        ]
        details.append(
            HotSpotDetail(topic=topic, nouns=nouns_of([c.transcript or "" for c in calls]), examples=examples)
        )
    return details


def _at(moment: datetime, zone: Any) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def potential_customers(session: Session, unit: OrgUnit, month: date) -> list[PotentialCustomer]:
    """Callers of the month who asked about a product (PRODUCT_TOPICS) and hold no policy in force on the month's
    first day, most calls first."""
    start, end = month_bounds(month)
    holds = select(col(Policy.customer_id)).where(col(Policy.end_date) >= month, col(Policy.start_date) < end.date())
    found: list[PotentialCustomer] = []
    for topic in PRODUCT_TOPICS:
        rows = session.exec(
            select(col(Customer.id), col(Customer.name), func.count())
            .join(Call, col(Call.customer_id) == col(Customer.id))
            .where(
                col(Call.created_at) >= start,
                col(Call.created_at) < end,
                col(Call.topic) == topic,
                col(Customer.org_unit_id).in_(subtree_ids(session, unit)),
                col(Customer.id).not_in(holds),
            )
            .group_by(col(Customer.id), col(Customer.name))
        ).all()
        found += [
            PotentialCustomer(customer_id=int(cid or 0), name=name, topic=topic, calls=n) for cid, name, n in rows
        ]
    return sorted(found, key=lambda p: (-p.calls, p.customer_id))[:POTENTIAL_CUSTOMERS_LISTED]
