"""The customer picture (the 360 view and the screen-pop), assembled in one place from its source.

Both readers, the ORM one (`crm_store.customers.records.customer_picture`, any database) and the one-statement one on
PostgreSQL (`crm_store.customers.screen_pop`), load a `PictureSource`: the customer's rows already in their wire form
(dates and timestamps as ISO strings). `assemble_picture` turns it into the answer: the same keys and values
whichever reader loaded it. Segment, alerts and entitlements are computed here, in light Python over the
aggregate rows (rules stay in configuration, not in SQL). Field masking (issue 5) belongs here too, so that no
reader can bypass it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from functools import cache
from typing import Any, TypedDict

from crm_store.calls.tables import CallType
from crm_store.customers.alerts import alerts_for
from crm_store.customers.blacklist import hits_from_rows
from crm_store.customers.rules import Rules
from crm_store.customers.segment_rules import months_before
from crm_store.customers.tables import CustomerKind, Segment
from crm_store.org.clearance import mask_fields, shown_fields
from crm_store.org.scope import Viewer

PICTURE_CLAIMS = 100
PICTURE_CALLS = 20
PICTURE_RECENT_CALLS = 10
PICTURE_HISTORY = 10
REQUEST_DAYS = 90
# Calls that ask something of us (a complaint to handle, an accident report, a surveyor to send): counted over
# REQUEST_DAYS, and listed as open while their review item is not closed.
REQUEST_TYPES = frozenset({CallType.COMPLAINT.value, CallType.REPORT.value, CallType.DISPATCH.value})

# The keys of the answer, in order; the audit row of a read names those shown (`picture_audit_fields`).
PICTURE_FIELDS = (
    "id",
    "name",
    "kind",
    "org_unit_id",
    "org_unit_name",
    "registration_number",
    "phones",
    "vehicles",
    "profile",
    "segment",
    "segment_reason",
    "segment_changed_at",
    "segment_history",
    "key_account",
    "blacklisted",
    "blacklist",
    "alerts",
    "loss_ratio",
    "loss_ratio_window_years",
    "years",
    "premium_total",
    "paid_total",
    "claim_count",
    "open_claims",
    "in_force_premium",
    "account_manager",
    "entitlements",
    "policies",
    "claims",
    "recent_calls",
    "requests_90_days",
    "open_requests",
)


class PictureSource(TypedDict):
    """One customer's rows as a reader loads them; lists in the order the answer shows them."""

    id: int
    name: str
    kind: str
    org_unit_id: int
    org_unit_name: str
    registration_number: str | None
    profile: dict[str, Any]
    segment: str
    segment_reason: str | None
    segment_changed_at: str | None
    key_account: str | None
    premium_total: int
    paid_total: int
    claim_count: int
    open_claims: int
    # username, full_name, grade, org_unit_id, since, certified_on, valid_until; None without a current manager
    account_manager: dict[str, Any] | None
    phones: list[dict[str, str]]  # number, label
    vehicles: list[str]
    policies: list[dict[str, Any]]  # id, policy_number, line, premium, start_date, end_date (newest first)
    # id, policy_id, claim_number, occurred_on, paid_amount, status, closed_on (newest first)
    claims: list[dict[str, Any]]
    years: list[list[int]]  # [year, earned premium, paid, claims] from the year before the window on
    hits: list[list[Any]]  # [entry_id, listed customer id, reason, matched on, listing unit name]
    calls: list[list[Any]]  # [type, day created (UTC)] of the last PICTURE_CALLS calls, newest first
    recent_calls: list[dict[str, Any]]  # call_sid, type, topic, status, started_at of the last few calls
    # complaints, reports and dispatch requests among the last PICTURE_CALLS calls whose review is not closed:
    # call_sid, type, topic, state (processing, open, taken), queue (org unit name or None), since
    open_requests: list[dict[str, Any]]
    segment_history: list[dict[str, Any]]  # from, to, reason, at, by (newest first)


@cache
def picture_audit_fields(clearance: int) -> tuple[str, ...]:
    """The fields the audit row of a picture read at this clearance names: those not masked whole, and the graded
    parts shown (`crm_store.org.clearance.shown_fields`)."""
    return tuple(shown_fields(clearance, "customer", PICTURE_FIELDS))


def entitlements_for(rules: Rules, segment: Segment, kind: CustomerKind, lines: set[str]) -> list[dict[str, str]]:
    """Services the customer is entitled to by segment, kind and the lines of the policies in force."""
    codes: list[str] = []
    for rule in rules.entitlements:
        if rule.segment is not segment or (rule.kinds and kind not in rule.kinds):
            continue
        if rule.lines and not lines & set(rule.lines):
            continue
        codes += [c for c in rule.services if c not in codes]
    return [{"code": c, "name": rules.service_names.get(c, c)} for c in codes]


def manager_with_certification(manager: dict[str, Any] | None, as_of: date) -> dict[str, Any] | None:
    """The account manager as the agent sees them, with whether their yearly certification has lapsed (past its
    valid_until, a year after it was granted; or never granted): the customer is then owed a re-certified manager."""
    if manager is None:
        return None
    valid_until = manager.get("valid_until")
    return {**manager, "certification_lapsed": valid_until is None or valid_until < as_of.isoformat()}


def first_year_shown(rules: Rules, as_of: date) -> int:
    """The earliest year whose figures the picture shows: the loss-ratio window and the year before it."""
    return as_of.year - rules.segments.window_years


def customer_document(source: PictureSource, viewer: Viewer, *, rules: Rules, as_of: date) -> dict[str, Any]:
    """The picture as this viewer may see it. Every reader answers through here: issue 5's field masking
    (`crm_store.org.clearance.mask_fields(viewer, "customer", picture)`) is applied in this one place."""
    return mask_fields(viewer, "customer", assemble_picture(source, rules=rules, as_of=as_of))


def _count_within(days: Sequence[str], *, months: int, as_of: str, today: date) -> int:
    """`segments.count_within` over ISO dates (they order as strings do)."""
    since = months_before(today, months).isoformat()
    return sum(1 for d in days if since < d <= as_of)


def assemble_picture(source: PictureSource, *, rules: Rules, as_of: date) -> dict[str, Any]:
    """The picture of one customer as the API answers it: the one place it is put together."""
    window = rules.segments.window_years
    today = as_of.isoformat()
    in_force = [p for p in source["policies"] if p["start_date"] <= today < p["end_date"]]
    in_force_premium = sum(p["premium"] for p in in_force)
    hits = hits_from_rows(source["hits"], source["id"])
    low, high = as_of.year - window + 1, as_of.year
    premium = paid = 0
    by_year = []
    for year, y_premium, y_paid, y_claims in sorted(source["years"], key=lambda y: y[0], reverse=True):
        if low <= year <= high:
            premium += y_premium
            paid += y_paid
        by_year.append(
            {
                "year": year,
                "earned_premium": y_premium,
                "paid": y_paid,
                "claims": y_claims,
                "loss_ratio": round(y_paid / y_premium, 4) if y_premium else None,
            }
        )
    ratio = paid / premium if premium > 0 else None
    segment = Segment(source["segment"])
    kind = CustomerKind(source["kind"])
    alert_rules = rules.alerts
    complaints = [day for call_type, day in source["calls"] if call_type == CallType.COMPLAINT]
    alerts = alerts_for(
        recent_claims=_count_within(
            [c["occurred_on"] for c in source["claims"]],
            months=alert_rules.frequent_claims.months,
            as_of=today,
            today=as_of,
        ),
        loss_ratio=ratio,
        segment=segment,
        hits=hits,
        recent_complaints=_count_within(
            complaints, months=alert_rules.repeat_complainant.months, as_of=today, today=as_of
        ),
        rules=alert_rules,
        window_years=window,
    )
    since = (as_of - timedelta(days=REQUEST_DAYS)).isoformat()
    requests: dict[str, int] = {}
    for call_type, day in source["calls"]:
        if call_type in REQUEST_TYPES and day > since:
            requests[call_type] = requests.get(call_type, 0) + 1
    return {
        "id": source["id"],
        "name": source["name"],
        "kind": source["kind"],
        "org_unit_id": source["org_unit_id"],
        "org_unit_name": source["org_unit_name"],
        "registration_number": source["registration_number"],
        "phones": source["phones"],
        "vehicles": source["vehicles"],
        "profile": source["profile"],
        "segment": source["segment"],
        "segment_reason": source["segment_reason"],
        "segment_changed_at": source["segment_changed_at"],
        "segment_history": source["segment_history"],
        "key_account": source["key_account"],
        "blacklisted": bool(hits),
        "blacklist": [h.as_dict() for h in hits],
        "alerts": [a.as_dict() for a in alerts],
        "loss_ratio": round(ratio, 4) if ratio is not None else None,
        "loss_ratio_window_years": window,
        "years": by_year,
        "premium_total": source["premium_total"],
        "paid_total": source["paid_total"],
        "claim_count": source["claim_count"],
        "open_claims": source["open_claims"],
        "in_force_premium": in_force_premium,
        "account_manager": manager_with_certification(source["account_manager"], as_of),
        "entitlements": entitlements_for(rules, segment, kind, {p["line"] for p in in_force}),
        "policies": source["policies"],
        "claims": source["claims"],
        "recent_calls": source["recent_calls"],
        "requests_90_days": requests,
        "open_requests": source["open_requests"],
    }
