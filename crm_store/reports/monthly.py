"""The monthly customer-center report of a unit and its subtree, read from the roll-up (`crm_store.reports.rollup`):
calls by type, topic, hour, weekday and caller segment, the change against the month before and the same month a
year before, and the topics whose share rose significantly against the trailing months (`hot_spots`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field, field_validator
from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_store.calls.tables import CallType
from crm_store.customers.tables import Segment
from crm_store.errors import NotFound
from crm_store.org.scope import SUPERVISORS, Viewer, unit_in_scope
from crm_store.org.tables import OrgUnit
from crm_store.reports import sections
from crm_store.reports.analytics import CrmAnalytics, crm_analytics
from crm_store.reports.hot_spots import HotSpot, hot_spots
from crm_store.reports.rollup import add_months, ensure_rolled_up, month_bounds, month_start
from crm_store.reports.tables import (
    CALLBACK,
    PHONE,
    UNCLASSIFIED,
    UNKNOWN_CALLER,
    CallRollup,
    CallRollupMonth,
    Dimension,
    StoredReport,
)
from crm_store.types import Answer, Moment, iso
from crm_store.validation import NotAllowed

# The months before the report's month that its topic shares are set against.
TRAILING_MONTHS = 3


class UnitNotFound(NotFound):
    """No org unit of that id in the viewer's part of the organisation."""


class MonthlyReport(Answer):
    """The month's calls of a unit and the units below it, from the monthly roll-up."""

    month: str = Field(description="YYYY-MM (Korea time)")
    org_unit_id: int = Field(description="the unit reported on; its subtree is counted with it")
    org_unit_name: str = Field(description="its name")
    calls: int = Field(description="calls in the month")
    by_type: dict[str, int] = Field(
        description=f"calls per call type; calls not (yet) classified under '{UNCLASSIFIED}'"
    )
    by_topic: dict[str, int] = Field(description=f"calls per topic; calls without a topic under '{UNCLASSIFIED}'")
    by_hour: list[int] = Field(description="calls per hour of the day in Korea, 24 counts from 00:00")
    by_weekday: list[int] = Field(description="calls per weekday in Korea, 7 counts from Monday")
    segments: dict[str, int] = Field(
        description="calls per caller segment (quality, key, ordinary, inferior) as it stood at the roll-up; "
        f"callers not matched to a customer under '{UNKNOWN_CALLER}'"
    )
    previous_month: int = Field(description="calls of the unit and its subtree in the month before, for the change")
    same_month_last_year: int = Field(description="calls of the unit and its subtree in the same month a year before")
    trailing_months: list[str] = Field(description="the months (YYYY-MM) the hot spots' previous shares cover")
    hot_spots: list[HotSpot] = Field(description="topics whose share rose significantly, highest score first")
    rolled_up_at: Moment | None = Field(description="when the month's counts were taken; null for a month to come")
    by_hotline: dict[str, int] = Field(
        default_factory=dict, description=f"calls per hotline number called (E.164; '{UNKNOWN_CALLER}' without one)"
    )
    by_channel: dict[str, int] = Field(
        default_factory=dict,
        description=f"calls per channel: '{PHONE}' (to a hotline number), '{CALLBACK}' (an agent calling back), "
        f"'{UNKNOWN_CALLER}' (no direction known)",
    )
    waiting: sections.WaitingFigures | None = Field(
        default=None, description="the desk's queues: offered, answered, abandoned, service level, waits"
    )
    customer_changes: sections.ChangeFigures | None = Field(
        default=None, description="customer-information changes proposed from calls, applied and rejected"
    )
    alerts: sections.AlertFigures | None = Field(default=None, description="alerts raised and what followed")
    complaints: sections.ComplaintFigures | None = Field(default=None, description="complaints received")
    regional_hot_spots: list[sections.RegionalHotSpot] = Field(
        default_factory=list, description="hot spots of each unit directly below this one"
    )
    hot_spot_details: list[sections.HotSpotDetail] = Field(
        default_factory=list, description="for each hot spot (national and regional), its nouns and example calls"
    )
    potential_customers: list[sections.PotentialCustomer] = Field(
        default_factory=list, description="callers asking about products while holding no policy in force"
    )
    crm: CrmAnalytics | None = Field(
        default=None,
        description="segments and their movements, loss ratios, claim frequency, key customers' premium share, "
        "account managers' visits and interviews",
    )

    # Every call type and segment is a key, 0 when it had no call (a stored report of before included): a reader
    # indexing `by_type["report"]` or `segments["key"]` finds it.
    @field_validator("by_type")
    @classmethod
    def _every_type(cls, counts: dict[str, int]) -> dict[str, int]:
        return _every(counts, [*CallType, UNCLASSIFIED])

    @field_validator("segments")
    @classmethod
    def _every_segment(cls, counts: dict[str, int]) -> dict[str, int]:
        return _every(counts, [*Segment, UNKNOWN_CALLER])


def _label(month: date) -> str:
    return month.strftime("%Y-%m")


def check_reader(viewer: Viewer) -> None:
    """Reports are read by center managers, executives and administrators (NotAllowed for the other roles)."""
    if viewer.role not in SUPERVISORS:
        raise NotAllowed(f"the role {viewer.role.value} may not read reports")


def report_unit(session: Session, viewer: Viewer, unit_id: int | None) -> OrgUnit:
    """The unit a report is asked for (the viewer's own by default) if the viewer sees it; UnitNotFound otherwise.
    Reports are read by center managers, executives and administrators (NotAllowed for the other roles)."""
    check_reader(viewer)
    wanted = viewer.org_unit_id if unit_id is None else unit_id
    unit = session.exec(select(OrgUnit).where(col(OrgUnit.id) == wanted, unit_in_scope(viewer, wanted))).first()
    if unit is None:
        raise UnitNotFound(f"org unit {wanted} not found")
    return unit


def _counts(
    session: Session, unit: OrgUnit, months: list[date], dimension: Dimension, *, by_month: bool = False
) -> dict[Any, int]:
    """The roll-up's counts under `dimension` over the unit's subtree in `months`, summed per value (`by_month`:
    per month, the months' totals)."""
    subtree = select(col(OrgUnit.id)).where(col(OrgUnit.path).startswith(unit.path, autoescape=True))
    key = col(CallRollup.month) if by_month else col(CallRollup.value)
    rows = session.exec(
        select(key, func.sum(col(CallRollup.calls)))  # type: ignore[call-overload]
        .where(
            col(CallRollup.month).in_(months),
            col(CallRollup.dimension) == dimension.value,
            col(CallRollup.org_unit_id).in_(subtree),
        )
        .group_by(key)
    ).all()
    return dict(sorted((value, int(calls)) for value, calls in rows))


def _channels(directions: dict[str, int]) -> dict[str, int]:
    """Calls per channel from calls per Twilio Direction: inbound came to a hotline number, outbound-* were agents
    calling back."""
    channels: dict[str, int] = {}
    for direction, calls in directions.items():
        channel = PHONE if direction == "inbound" else CALLBACK if direction.startswith("outbound") else UNKNOWN_CALLER
        channels[channel] = channels.get(channel, 0) + calls
    return dict(sorted(channels.items()))


def _every(counts: dict[str, int], keys: list[str]) -> dict[str, int]:
    """The counts with each of `keys` present (0 when it had none), in the keys' order, then any other key."""
    return {**{str(key): counts.get(str(key), 0) for key in keys}, **counts}


def _spread(counts: dict[Any, int], size: int, first: int) -> list[int]:
    spread = [0] * size
    for value, calls in counts.items():
        spread[int(value) - first] += calls
    return spread


def monthly_report(
    session: Session, viewer: Viewer, *, month: date, unit_id: int | None = None, now: datetime
) -> MonthlyReport:
    """The report of `month` on the unit `unit_id` (the viewer's own by default) and its subtree: the stored report
    when one was generated after the month ended (one row), else computed, rolling up first the months it reads that
    have no roll-up yet."""
    unit = report_unit(session, viewer, unit_id)
    month = month_start(month)
    _, end = month_bounds(month)
    stored = session.exec(
        select(col(StoredReport.body)).where(
            col(StoredReport.month) == month,
            col(StoredReport.org_unit_id) == unit.id,
            col(StoredReport.generated_at) >= end,
        )
    ).first()
    if stored is not None:
        return MonthlyReport.model_validate(stored)
    return unit_report(session, unit, month=month, now=now)


def unit_report(session: Session, unit: OrgUnit, *, month: date, now: datetime) -> MonthlyReport:
    """The report of `month` on `unit` and its subtree, whoever asks (the caller has checked the scope)."""
    assert unit.id is not None
    month = month_start(month)
    previous, last_year = add_months(month, -1), add_months(month, -12)
    trailing = [add_months(month, -n) for n in range(TRAILING_MONTHS, 0, -1)]
    ensure_rolled_up(session, [month, last_year, *trailing], now=now)
    types = _counts(session, unit, [month], Dimension.TYPE)
    topics = _counts(session, unit, [month], Dimension.TOPIC)
    before = _counts(session, unit, trailing, Dimension.TOPIC)
    totals = _counts(session, unit, [previous, last_year], Dimension.TYPE, by_month=True)
    spots = hot_spots(topics, before, skip=frozenset({UNCLASSIFIED}))
    regional = sections.regional_hot_spots(session, unit, month, trailing)
    hot_topics = sorted({spot.topic for spot in spots} | {spot.topic for spot in regional})
    taken = session.exec(select(col(CallRollupMonth.rolled_up_at)).where(col(CallRollupMonth.month) == month)).first()
    return MonthlyReport(
        month=_label(month),
        org_unit_id=unit.id,
        org_unit_name=unit.name,
        calls=sum(types.values()),
        by_type=types,
        by_topic=topics,
        by_hour=_spread(_counts(session, unit, [month], Dimension.HOUR), 24, 0),
        by_weekday=_spread(_counts(session, unit, [month], Dimension.WEEKDAY), 7, 1),
        segments=_counts(session, unit, [month], Dimension.SEGMENT),
        previous_month=totals.get(previous, 0),
        same_month_last_year=totals.get(last_year, 0),
        trailing_months=[_label(m) for m in trailing],
        hot_spots=spots,
        rolled_up_at=iso(taken),
        by_hotline=_counts(session, unit, [month], Dimension.HOTLINE),
        by_channel=_channels(_counts(session, unit, [month], Dimension.CHANNEL)),
        waiting=sections.waiting_figures(session, unit, month),
        customer_changes=sections.change_figures(session, unit, month),
        alerts=sections.alert_figures(session, unit, month),
        complaints=sections.complaint_figures(session, unit, month),
        regional_hot_spots=regional,
        hot_spot_details=sections.hot_spot_details(session, unit, month, hot_topics),
        potential_customers=sections.potential_customers(session, unit, month),
        crm=crm_analytics(session, unit, month),
    )
