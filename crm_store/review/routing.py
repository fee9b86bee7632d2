"""Routing of processed call records to the review queue of the matching level, and escalation of late items.

Rules are configuration (`routing.json`): by default the customer's owning unit; rules lift by type, topic,
segment and sensitivity; unknown callers go to the unit of the hotline number called. Both functions here run in
the workers (synchronous sessions) and take `now`, so tests drive them with a fake clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from sqlalchemy import update
from sqlmodel import Session, col, select

from crm_store.calls.tables import Call
from crm_store.customers.phones import normalise_phone
from crm_store.customers.tables import Customer
from crm_store.org.chain import ancestor_at, owned_below_a_parent
from crm_store.org.tables import OrgUnit
from crm_store.review.tables import ReviewEvent, ReviewItem, ReviewState
from crm_store.upsert import insert_ignoring_conflict


@dataclass(frozen=True)
class RoutingRule:
    """Lift matching calls to `level` (or higher up, never down)."""

    name: str
    level: int
    types: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    urgencies: tuple[str, ...] = ()
    blacklisted: bool | None = None

    def matches(
        self, *, type_: str | None, topic: str | None, segment: str | None, urgency: str | None, blacklisted: bool
    ) -> bool:
        """True when every condition the rule names holds."""
        return (
            (not self.types or type_ in self.types)
            and (not self.topics or topic in self.topics)
            and (not self.segments or segment in self.segments)
            and (not self.urgencies or urgency in self.urgencies)
            and (self.blacklisted is None or self.blacklisted == blacklisted)
        )


@dataclass(frozen=True)
class RoutingRules:
    default_unit_code: str
    hotline_numbers: dict[str, str]
    time_limits: dict[int, timedelta]
    urgent_time_limit: timedelta
    rules: tuple[RoutingRule, ...] = field(default_factory=tuple)

    def time_limit(self, level: int, urgency: str | None) -> timedelta:
        """How long an item may wait untaken in a queue of this level."""
        limit = self.time_limits.get(level, timedelta(hours=4))
        return min(limit, self.urgent_time_limit) if urgency == "high" else limit


@cache
def load_routing_rules(text: str | None = None) -> RoutingRules:
    """The packaged routing rules (or those in `text`)."""
    if text is None:
        text = resources.files("crm_store.review").joinpath("routing.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    numbers = {}
    for number, code in raw.get("hotline_numbers", {}).items():
        e164 = normalise_phone(number)
        if e164 is None:
            raise ValueError(f"not a phone number in hotline_numbers: {number!r}")
        numbers[e164] = code
    rules = tuple(
        RoutingRule(
            name=r["name"],
            level=int(r["level"]),
            types=tuple(r.get("types", ())),
            topics=tuple(r.get("topics", ())),
            segments=tuple(r.get("segments", ())),
            urgencies=tuple(r.get("urgencies", ())),
            blacklisted=r.get("blacklisted"),
        )
        for r in raw.get("rules", ())
    )
    return RoutingRules(
        default_unit_code=raw.get("default_unit_code", "HQ"),
        hotline_numbers=numbers,
        time_limits={int(k): timedelta(minutes=int(v)) for k, v in raw.get("time_limits_minutes", {}).items()},
        urgent_time_limit=timedelta(minutes=int(raw.get("urgent_time_limit_minutes", 30))),
        rules=rules,
    )


@dataclass(frozen=True)
class RouteDecision:
    org_unit_id: int
    level: int
    reason: str


def _unit_by_code(session: Session, code: str) -> OrgUnit | None:
    return session.exec(select(OrgUnit).where(col(OrgUnit.code) == code)).first()


def decide_route(session: Session, call: Call, rules: RoutingRules) -> RouteDecision | None:
    """Which unit's operators review this call, and why."""
    customer = session.get(Customer, call.customer_id) if call.customer_id is not None else None
    unit: OrgUnit | None
    if customer is not None:
        unit = session.get(OrgUnit, customer.org_unit_id)
        reason = "고객 관리 지점"
    else:
        called = normalise_phone(call.to_number or "")
        code = rules.hotline_numbers.get(called or "")
        unit = _unit_by_code(session, code) if code else None
        reason = "미등록 발신자: 수신 번호 지점" if unit is not None else "미등록 발신자: 기본 센터"
        if unit is None:
            unit = _unit_by_code(session, rules.default_unit_code)
    if unit is None:
        unit = session.exec(select(OrgUnit).where(col(OrgUnit.parent_id).is_(None)).order_by(col(OrgUnit.id))).first()
    if unit is None:
        return None  # no organisation yet: nothing to route to
    segment = customer.segment if customer is not None else None
    blacklisted = bool(customer.blacklisted) if customer is not None else False
    lifted = [
        r
        for r in rules.rules
        if r.matches(type_=call.type, topic=call.topic, segment=segment, urgency=call.urgency, blacklisted=blacklisted)
    ]
    target = unit
    if lifted:
        top = min(lifted, key=lambda r: r.level)
        if top.level < unit.level:
            target = ancestor_at(session, unit, top.level)
            reason = f"{reason} → {top.name}"
    assert target.id is not None
    return RouteDecision(target.id, target.level, reason)


def route_call(session: Session, call_sid: str, *, now: datetime, rules: RoutingRules | None = None) -> int | None:
    """Put a classified call into the review queue of the matching unit, once (a rerun changes nothing)."""
    rules = rules or load_routing_rules()
    call = session.exec(select(Call).where(col(Call.call_sid) == call_sid)).first()
    if call is None:
        return None
    existing = session.exec(select(ReviewItem).where(col(ReviewItem.call_sid) == call_sid)).first()
    if existing is not None:
        return existing.id
    decision = decide_route(session, call, rules)
    if decision is None:
        return None
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    session.exec(
        insert_ignoring_conflict(
            dialect,
            ReviewItem,
            {
                "call_sid": call_sid,
                "customer_id": call.customer_id,
                "org_unit_id": decision.org_unit_id,
                "state": ReviewState.OPEN.value,
                "type": call.type,
                "topic": call.topic,
                "urgency": call.urgency,
                "route_reason": decision.reason[:300],
                "due_at": now + rules.time_limit(decision.level, call.urgency),
                "escalations": 0,
                "created_at": now,
                "updated_at": now,
            },
        )
    )
    item = session.exec(select(ReviewItem).where(col(ReviewItem.call_sid) == call_sid)).one()
    assert item.id is not None
    session.add(
        ReviewEvent(
            item_id=item.id,
            action="routed",
            to_unit_id=decision.org_unit_id,
            note=decision.reason[:1000],
            created_at=now,
        )
    )
    return item.id


def escalate_overdue(session: Session, *, now: datetime, rules: RoutingRules | None = None) -> list[int]:
    """Move every item nobody took within its queue's time limit to the parent unit's queue; the ids moved."""
    rules = rules or load_routing_rules()
    late = owned_below_a_parent(
        session, ReviewItem, col(ReviewItem.state) == ReviewState.OPEN.value, col(ReviewItem.due_at) <= now
    )
    moved: list[int] = []
    for item, unit, parent in late:
        assert item.id is not None
        # Conditional: an operator taking the item at this moment wins, and the escalation does nothing.
        result = session.exec(
            update(ReviewItem)  # type: ignore[call-overload]
            .where(
                col(ReviewItem.id) == item.id,
                col(ReviewItem.state) == ReviewState.OPEN.value,
                col(ReviewItem.org_unit_id) == unit.id,
            )
            .values(
                org_unit_id=parent.id,
                due_at=now + rules.time_limit(parent.level, item.urgency),
                escalations=item.escalations + 1,
                updated_at=now,
            )
        )
        if result.rowcount:
            session.add(
                ReviewEvent(
                    item_id=item.id,
                    action="escalated",
                    from_unit_id=unit.id,
                    to_unit_id=parent.id,
                    note=f"처리 기한 초과: {unit.name} → {parent.name}",
                    created_at=now,
                )
            )
            moved.append(item.id)
    return moved
