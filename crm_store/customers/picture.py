"""The customer picture (the 360 view and the screen-pop), assembled in one place from its source.

Both readers, the ORM one (`customer_picture` below, any database) and the one-statement one on
PostgreSQL (`crm_store.customers.screen_pop`), load a `PictureSource`: the customer's rows already in their wire form
(dates and timestamps as ISO strings). `assemble_picture` turns it into the answer: the same keys and values
whichever reader loaded it. Segment, alerts and entitlements are computed here, in light Python over the
aggregate rows (rules stay in configuration, not in SQL). Field masking belongs here too, so that no
reader can bypass it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from functools import cache
from typing import Any, TypedDict

from sqlalchemy import literal, literal_column, union_all
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import record_read
from crm_store.calls.tables import Call, CallType
from crm_store.customers.alerts import alerts_for
from crm_store.customers.blacklist import blacklist_hits_query, hits_from_rows
from crm_store.customers.records import ClaimPublic, PolicyPublic
from crm_store.customers.rules import Rules
from crm_store.customers.segment_rules import months_before
from crm_store.customers.tables import (
    Claim,
    Customer,
    CustomerKind,
    CustomerPhone,
    CustomerStats,
    CustomerYearStats,
    Policy,
    Segment,
    SegmentChange,
    Vehicle,
)
from crm_store.errors import CustomerNotFound
from crm_store.managers.tables import AccountAssignment, AccountManager
from crm_store.org.clearance import mask_fields, shown_fields
from crm_store.org.scope import Viewer, customer_in_scope
from crm_store.org.tables import OrgUnit, Staff
from crm_store.review.tables import ReviewItem, ReviewState

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
    """The picture as this viewer may see it. Every reader answers through here: field masking by clearance
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


# -- the picture ---------------------------------------------------------------------------------


def _picture_head(viewer: Viewer) -> Any:
    """The customer with its unit, aggregates and current account manager, within the viewer's scope."""
    return (
        sa_select(  # type: ignore[call-overload]
            Customer,
            OrgUnit.name,
            CustomerStats,
            Staff.username,
            Staff.full_name,
            Staff.org_unit_id,
            AccountManager.grade,
            AccountAssignment.assigned_at,
            AccountManager.certified_on,
            AccountManager.valid_until,
        )
        .join(OrgUnit, col(OrgUnit.id) == col(Customer.org_unit_id))
        .outerjoin(CustomerStats, col(CustomerStats.customer_id) == col(Customer.id))
        .outerjoin(
            AccountAssignment,
            (col(AccountAssignment.customer_id) == col(Customer.id)) & col(AccountAssignment.ended_at).is_(None),
        )
        .outerjoin(Staff, col(Staff.id) == col(AccountAssignment.account_manager_id))
        .outerjoin(AccountManager, col(AccountManager.staff_id) == col(Staff.id))
        .where(customer_in_scope(viewer))
        .execution_options(populate_existing=True)
    )


def picture_by_id(viewer: Viewer, customer_id: int) -> Any:
    return _picture_head(viewer).where(col(Customer.id) == customer_id)


def picture_by_phone(viewer: Viewer, e164: str) -> Any:
    return (
        _picture_head(viewer)
        .join(CustomerPhone, col(CustomerPhone.customer_id) == col(Customer.id))
        .where(col(CustomerPhone.e164) == e164)
    )


def contacts_query(customer_id: int) -> Any:
    """Phones and plates of a customer in one round trip, each in the order they were added."""
    return union_all(
        select(literal("phone"), col(CustomerPhone.e164), col(CustomerPhone.label), col(CustomerPhone.id)).where(
            col(CustomerPhone.customer_id) == customer_id
        ),
        select(literal("plate"), col(Vehicle.plate), literal("vehicle"), col(Vehicle.id)).where(
            col(Vehicle.customer_id) == customer_id
        ),
    ).order_by(literal_column("4"))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def picture_source(
    session: AsyncSession, viewer: Viewer, *, first_year: int, customer_id: int | None = None, phone: str | None = None
) -> PictureSource:
    """The rows of one customer in scope (by id or E.164 number), loaded through the ORM (any database)."""
    query = picture_by_id(viewer, customer_id) if customer_id is not None else picture_by_phone(viewer, phone or "")
    head = (await session.exec(query)).first()
    if head is None:
        raise CustomerNotFound(
            f"no customer {customer_id}" if customer_id is not None else "no customer with this number"
        )
    customer, unit_name, stats, am_username, am_name, am_unit, am_grade, am_since, am_certified, am_valid = head
    cid: int = customer.id
    contacts = (await session.exec(contacts_query(cid))).all()
    policies = (
        await session.exec(
            select(Policy)
            .where(col(Policy.customer_id) == cid)
            .order_by(col(Policy.start_date).desc(), col(Policy.id).desc())
        )
    ).all()
    claims = (
        await session.exec(
            select(Claim)
            .where(col(Claim.customer_id) == cid)
            .order_by(col(Claim.occurred_on).desc(), col(Claim.id).desc())
            .limit(PICTURE_CLAIMS)
        )
    ).all()
    years = (
        await session.exec(
            select(CustomerYearStats).where(
                col(CustomerYearStats.customer_id) == cid,
                col(CustomerYearStats.year) >= first_year,
            )
        )
    ).all()
    hits = (await session.exec(blacklist_hits_query(cid, phone))).all()
    calls = (
        await session.exec(  # type: ignore[call-overload]
            sa_select(
                *map(
                    col, (Call.id, Call.call_sid, Call.type, Call.topic, Call.status, Call.started_at, Call.created_at)
                )
            )
            .where(col(Call.customer_id) == cid)
            .order_by(col(Call.id).desc())
            .limit(PICTURE_CALLS)
        )
    ).all()
    requests = (
        await session.exec(  # type: ignore[call-overload]
            sa_select(
                *map(col, (Call.call_sid, Call.type, Call.topic, ReviewItem.state, OrgUnit.name, Call.created_at))
            )
            .select_from(Call)
            .outerjoin(ReviewItem, col(ReviewItem.call_sid) == col(Call.call_sid))
            .outerjoin(OrgUnit, col(OrgUnit.id) == col(ReviewItem.org_unit_id))
            .where(col(Call.id).in_([call_id for call_id, *_ in calls]))
            .order_by(col(Call.id).desc())
        )
    ).all()
    history = (
        await session.exec(
            select(SegmentChange)
            .where(col(SegmentChange.customer_id) == cid)
            .order_by(col(SegmentChange.id).desc())
            .limit(PICTURE_HISTORY)
        )
    ).all()
    return {
        "id": cid,
        "name": customer.name,
        "kind": customer.kind,
        "org_unit_id": customer.org_unit_id,
        "org_unit_name": unit_name,
        "registration_number": customer.registration_masked,
        "profile": customer.profile or {},
        "segment": customer.segment,
        "segment_reason": customer.segment_reason,
        "segment_changed_at": _iso(customer.segment_changed_at),
        "key_account": customer.key_account,
        "premium_total": stats.premium_total if stats else 0,
        "paid_total": stats.paid_total if stats else 0,
        "claim_count": stats.claim_count if stats else 0,
        "open_claims": stats.open_claims if stats else 0,
        "account_manager": {
            "username": am_username,
            "full_name": am_name,
            "grade": am_grade,
            "org_unit_id": am_unit,
            "since": _iso(am_since),
            "certified_on": _iso(am_certified),
            "valid_until": _iso(am_valid),
        }
        if am_username
        else None,
        "phones": [{"number": v, "label": label} for kind, v, label, _ in contacts if kind == "phone"],
        "vehicles": [v for kind, v, _, _ in contacts if kind == "plate"],
        "policies": [PolicyPublic.model_validate(p).model_dump(mode="json") for p in policies],
        "claims": [ClaimPublic.model_validate(c).model_dump(mode="json") for c in claims],
        "years": [[y.year, y.premium, y.paid, y.claims] for y in years],
        "hits": [list(h) for h in hits],
        "calls": [[call_type, created.date().isoformat()] for _, _, call_type, _, _, _, created in calls],
        "recent_calls": [
            {"call_sid": sid, "type": call_type, "topic": topic, "status": status, "started_at": _iso(started)}
            for _, sid, call_type, topic, status, started, _ in calls[:PICTURE_RECENT_CALLS]
        ],
        "open_requests": [
            {
                "call_sid": sid,
                "type": call_type,
                "topic": topic,
                "state": state or "processing",
                "queue": queue,
                "since": _iso(created),
            }
            for sid, call_type, topic, state, queue, created in requests
            if call_type in REQUEST_TYPES and state != ReviewState.CLOSED
        ],
        "segment_history": [
            {
                "from": h.old_segment,
                "to": h.new_segment,
                "reason": h.reason,
                "at": h.changed_at.isoformat(),
                "by": h.changed_by,
            }
            for h in history
        ],
    }


async def customer_picture(
    session: AsyncSession,
    viewer: Viewer,
    *,
    rules: Rules,
    as_of: date,
    customer_id: int | None = None,
    phone: str | None = None,
    call_sid: str | None = None,
) -> dict[str, Any]:
    """The whole picture of one customer in scope (by id or E.164 number), audited as a read in the session.

    The ORM reader: it sees the session's own writes (a customer just created) and runs on SQLite too. The
    screen-pop on PostgreSQL takes `crm_store.customers.screen_pop` (one statement), which answers the same."""
    source = await picture_source(
        session, viewer, first_year=first_year_shown(rules, as_of), customer_id=customer_id, phone=phone
    )
    picture = customer_document(source, viewer, rules=rules, as_of=as_of)
    record_read(
        session,
        viewer,
        customer_id=source["id"],
        fields=picture_audit_fields(viewer.clearance),
        call_sid=call_sid,
        purpose="lookup" if phone is not None else "detail",
    )
    return picture
