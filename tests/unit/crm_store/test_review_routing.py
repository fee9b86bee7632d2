"""Routing of classified calls to the matching queue, and escalation of untaken items (fake clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from crm_store.calls.tables import Call
from crm_store.customers.tables import Customer
from crm_store.db import session_scope
from crm_store.review.routing import escalate_overdue, load_routing_rules, route_call
from crm_store.review.tables import ReviewEvent, ReviewItem
from tests.review_helpers import World, build_world, call_sid

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(engine: Any) -> World:
    return build_world(engine)


def _customer(engine: Any, world: World, unit: str, *, segment: str = "ordinary") -> int:
    with session_scope(engine) as session:
        customer = Customer(kind="individual", name="이고객", org_unit_id=world.units[unit], segment=segment)
        session.add(customer)
        session.flush()
        return int(customer.id)  # type: ignore[arg-type]


def _route(engine: Any, *, customer_id: int | None, type_: str | None = "inquiry",
           topic: str | None = "inquiry.coverage", urgency: str = "normal", to: str = "+8215881234",
           now: datetime = T0) -> ReviewItem:  # fmt: skip
    sid = call_sid()
    with session_scope(engine) as session:
        session.add(Call(call_sid=sid, customer_id=customer_id, type=type_, topic=topic, urgency=urgency, to_number=to))
        session.flush()
        route_call(session, sid, now=now)
        route_call(session, sid, now=now)  # a rerun of the job changes nothing
    with session_scope(engine) as session:
        items = session.exec(select(ReviewItem).where(ReviewItem.call_sid == sid)).all()
        assert len(items) == 1
        return items[0]


def test_by_default_the_owning_branch_reviews(engine: Any, world: World) -> None:
    item = _route(engine, customer_id=_customer(engine, world, "SEOUL-GANGNAM-SEOCHO"))
    assert item.org_unit_id == world.units["SEOUL-GANGNAM-SEOCHO"]
    assert item.due_at == T0 + load_routing_rules().time_limit(3, "normal")


def test_rules_lift_complaints_about_staff_and_key_customers(engine: Any, world: World) -> None:
    seocho = _customer(engine, world, "SEOUL-GANGNAM-SEOCHO")
    staff_complaint = _route(engine, customer_id=seocho, type_="complaint", topic="complaint.staff_attitude")
    assert staff_complaint.org_unit_id == world.units["SEOUL-GANGNAM"]
    assert "직원" in staff_complaint.route_reason
    key = _route(engine, customer_id=_customer(engine, world, "SEOUL-GANGNAM-SEOCHO", segment="key"))
    assert key.org_unit_id == world.units["SEOUL"]
    # A lift never lowers: a key customer owned by the head office stays there.
    assert _route(engine, customer_id=_customer(engine, world, "HQ", segment="key")).org_unit_id == world.units["HQ"]


def test_an_unclassified_call_goes_to_the_operators_of_its_level_to_classify(engine: Any, world: World) -> None:
    seocho = _customer(engine, world, "SEOUL-GANGNAM-SEOCHO")
    item = _route(engine, customer_id=seocho, type_=None, topic=None)
    assert item.org_unit_id == world.units["SEOUL-GANGNAM-SEOCHO"] and item.route_reason == "고객 관리 지점"
    assert (item.type, item.topic, item.state) == (None, None, "open")
    assert item.due_at == T0 + load_routing_rules().time_limit(3, "normal")
    # Rules that lift by segment still apply; rules by type or topic cannot match what has none.
    key_customer = _customer(engine, world, "SEOUL-GANGNAM-SEOCHO", segment="key")
    assert _route(engine, customer_id=key_customer, type_=None, topic=None).org_unit_id == world.units["SEOUL"]
    unknown = _route(engine, customer_id=None, type_=None, topic=None, to="+8215881100")
    assert unknown.org_unit_id == world.units["SEOUL"]


def test_unknown_callers_go_to_the_unit_of_the_number_called(engine: Any, world: World) -> None:
    assert _route(engine, customer_id=None, to="+8215881100").org_unit_id == world.units["SEOUL"]
    assert _route(engine, customer_id=None, to="1588-1100").org_unit_id == world.units["SEOUL"]
    assert _route(engine, customer_id=None, to="+8215889999").org_unit_id == world.units["HQ"]


def test_urgent_items_have_a_shorter_time_limit(engine: Any, world: World) -> None:
    item = _route(engine, customer_id=_customer(engine, world, "SEOUL-GANGNAM-SEOCHO"), urgency="high")
    assert item.due_at == T0 + timedelta(minutes=30)


def test_an_item_nobody_takes_climbs_one_level_per_time_limit(engine: Any, world: World) -> None:
    item = _route(engine, customer_id=_customer(engine, world, "SEOUL-GANGNAM-SEOCHO"))
    limits = load_routing_rules()
    with session_scope(engine) as session:
        assert escalate_overdue(session, now=item.due_at - timedelta(seconds=1)) == []
    with session_scope(engine) as session:
        assert escalate_overdue(session, now=item.due_at) == [item.id]
    with session_scope(engine) as session:
        moved = session.get(ReviewItem, item.id)
        assert moved is not None and moved.org_unit_id == world.units["SEOUL-GANGNAM"] and moved.escalations == 1
        assert moved.due_at == item.due_at + limits.time_limit(2, "normal")
        next_due = moved.due_at
        events = session.exec(select(ReviewEvent).where(ReviewEvent.item_id == item.id)).all()
        assert [e.action for e in events] == ["routed", "escalated"]
    with session_scope(engine) as session:
        escalate_overdue(session, now=next_due)
        escalate_overdue(session, now=next_due + timedelta(days=30))
        escalate_overdue(session, now=next_due + timedelta(days=60))
    with session_scope(engine) as session:
        top = session.get(ReviewItem, item.id)
        # Up to the head office, and no further.
        assert top is not None and top.org_unit_id == world.units["HQ"] and top.escalations == 3


def test_a_taken_item_does_not_escalate(engine: Any, world: World) -> None:
    item = _route(engine, customer_id=_customer(engine, world, "SEOUL-GANGNAM-SEOCHO"))
    with session_scope(engine) as session:
        taken = session.get(ReviewItem, item.id)
        assert taken is not None
        taken.state = "taken"  # type: ignore[assignment]
        session.add(taken)
    with session_scope(engine) as session:
        assert escalate_overdue(session, now=item.due_at + timedelta(days=1)) == []
