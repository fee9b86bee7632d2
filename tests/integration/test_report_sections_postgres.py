"""The monthly report on PostgreSQL beyond the call roll-up: the roll-up against a direct count of random calls (Korea
time month edges, every unit's subtree), the desk's service level and abandonment, customer changes decided from
calls, alerts and what followed, complaints, potential customers and the CRM analytics."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from crm_store.calls.tables import Call
from crm_store.complaints.tables import Complaint
from crm_store.customers.tables import Claim, CustomerEvent, CustomerStats, Policy, SegmentChange
from crm_store.db import make_engine, session_scope
from crm_store.desk.tables import CallbackTask, DeskQueue, WaitingCall
from crm_store.managers.tables import ServiceTask
from crm_store.org.tables import OrgUnit
from crm_store.reports.monthly import unit_report
from crm_store.reports.rollup import month_bounds, roll_up_month
from crm_store.review.tables import ReviewEvent, ReviewItem
from tests.customer_helpers import UNITS, build_org
from tests.report_helpers import AFTER, HAEUNDAE, SEOCHO, SEPTEMBER, add_customer, kst

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Any]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def _unit(session: Session, unit_id: int) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id)
    assert unit is not None
    return unit


def test_the_roll_up_agrees_with_a_direct_count_of_random_calls(engine: Any) -> None:
    org = build_org(engine)
    rng = random.Random(14)
    counties = [code for code, _name, level, _parent in UNITS if level == 3]
    customers = {code: [add_customer(engine, org.units[code], "ordinary") for _ in range(3)] for code in counties}
    start, end = month_bounds(SEPTEMBER)
    topics = ("inquiry.coverage", "report.auto_accident", "complaint.billing", None)
    expected: Counter[tuple[str, str]] = Counter()
    with session_scope(engine) as session:
        for n in range(600):
            code = rng.choice(counties)
            # around the month: from 2 days before to 2 days after, so that the edges in Korea time are crossed
            at = (
                start
                - timedelta(days=2)
                + timedelta(minutes=rng.randrange(int((end - start).total_seconds() / 60) + 5760))
            )
            topic = rng.choice(topics)
            session.add(Call(call_sid=f"CA{n:032x}", customer_id=rng.choice(customers[code]), created_at=at,
                             type=topic.split(".")[0] if topic else None, topic=topic))  # fmt: skip
            if start <= at < end:
                expected[(code, topic.split(".")[0] if topic else "unclassified")] += 1
    with session_scope(engine) as session:
        total = roll_up_month(session, SEPTEMBER, now=AFTER)
    assert total == sum(expected.values())
    with Session(engine) as session:
        for code, _name, _level, _parent in UNITS:
            report = unit_report(session, _unit(session, org.units[code]), month=SEPTEMBER, now=AFTER)
            below = [c for c in counties if c.startswith(code) or code == "HQ"]
            wanted: Counter[str] = Counter()
            for (c, t), n in expected.items():
                if c in below:
                    wanted[t] += n
            counted = {call_type: n for call_type, n in report.by_type.items() if n}
            assert report.calls == sum(wanted.values()) and counted == wanted, code
            assert sum(report.by_hour) == sum(report.by_weekday) == report.calls


def test_the_report_s_sections_from_the_desk_reviews_alerts_complaints_and_customers(engine: Any) -> None:
    org = build_org(engine)
    seocho = add_customer(engine, org.units[SEOCHO], "quality")
    prospect = add_customer(engine, org.units[SEOCHO], "ordinary")
    busan = add_customer(engine, org.units[HAEUNDAE], "key")
    with session_scope(engine) as session:
        queue = DeskQueue(name="consult", label="보험 상담", hours="24h")
        session.add(queue)
        session.flush()
        assert queue.id is not None
        for n, (state, wait) in enumerate([("connected", 10), ("connected", 45), ("abandoned", 70), ("connected", 5)]):
            # The connected calls talked 2, 4 and 6 minutes from the answer.
            answered = kst("2026-09-10", "10:01") if state == "connected" else None
            ended = answered + timedelta(minutes={0: 2, 1: 4, 3: 6}[n]) if answered else None
            session.add(WaitingCall(call_sid=f"CAw{n:031x}", queue_id=queue.id, customer_id=seocho, state=state,
                                    wait_seconds=wait, enqueued_at=kst("2026-09-10", "10:00"), answered_at=answered,
                                    ended_at=ended))  # fmt: skip
        for n, (reason, done) in enumerate([("abandoned", True), ("abandoned", False), ("after_hours", True)]):
            session.add(CallbackTask(call_sid=f"CAw{n:031x}", queue_id=queue.id, reason=reason, customer_id=seocho,
                                     requested_at=kst("2026-09-10", "10:02"),
                                     done_at=kst("2026-09-10", "11:00") if done else None))  # fmt: skip
        session.add(WaitingCall(call_sid=f"CAw{9:031x}", queue_id=queue.id, customer_id=busan, state="abandoned",
                                wait_seconds=99, enqueued_at=kst("2026-09-10", "10:00")))  # fmt: skip
        item = ReviewItem(call_sid=f"CA{1:032x}", customer_id=seocho, org_unit_id=org.units[SEOCHO], due_at=AFTER)
        session.add(item)
        session.flush()
        for action in ("change_applied", "change_applied", "change_rejected"):
            session.add(ReviewEvent(item_id=item.id, action=action, created_at=kst("2026-09-11", "10:00")))
        session.add(
            CustomerEvent(
                customer_id=seocho,
                kind="frequent_claims",
                level="warning",
                reason="잦은 청구",
                account_manager_id=org.staff["am.seocho"],
                created_at=kst("2026-09-12", "10:00"),
            )
        )
        session.add(CustomerEvent(customer_id=seocho, kind="blacklist", level="critical", reason="블랙리스트",
                                  created_at=kst("2026-09-12", "11:00")))  # fmt: skip
        for n, state in enumerate(("receipt", "closed")):
            moment = kst("2026-09-15", "10:00")
            session.add(Complaint(number=f"C-2026-{n}", year=2026, sequence=n, customer_id=seocho, channel="call",
                                  category="claims_payment", summary="지급 지연", state=state,
                                  org_unit_id=org.units[SEOCHO], department="customer_management",
                                  received_at=moment, acknowledge_by=moment, resolve_by=moment,
                                  step_due_at=moment))  # fmt: skip
        policy = Policy(customer_id=seocho, policy_number="AU-1", line="auto", premium=1_000_000,
                        start_date=date(2026, 1, 1), end_date=date(2027, 1, 1))  # fmt: skip
        session.add(policy)
        session.flush()
        session.add(Claim(customer_id=seocho, policy_id=policy.id, claim_number="CL-1", occurred_on=date(2026, 8, 1),
                          paid_amount=400_000))  # fmt: skip
        session.add(CustomerStats(customer_id=seocho, policy_count=1, premium_total=1_000_000, claim_count=1,
                                  paid_total=400_000))  # fmt: skip
        session.add(SegmentChange(customer_id=seocho, old_segment="ordinary", new_segment="quality", reason="기준 충족",
                                  changed_at=kst("2026-09-03", "09:00")))  # fmt: skip
        for kind, due, done in (
            ("key_visit", 5, date(2026, 9, 20)),
            ("key_visit", 25, None),
            ("quality_interview", 25, None),
            ("key_visit", 25 + 6, date(2026, 10, 1)),
        ):
            session.add(ServiceTask(customer_id=seocho, kind=kind, due_on=SEPTEMBER + timedelta(days=due - 1),
                                    done_on=done))  # fmt: skip
        for n in range(2):
            session.add(Call(call_sid=f"CAp{n:031x}", customer_id=prospect, topic="inquiry.premium", type="inquiry",
                             created_at=kst("2026-09-20", "10:00")))  # fmt: skip
        session.add(Call(call_sid=f"CAp{9:031x}", customer_id=seocho, topic="inquiry.premium", type="inquiry",
                         created_at=kst("2026-09-20", "10:00")))  # fmt: skip
    with Session(engine) as session:
        report = unit_report(session, _unit(session, org.units["SEOUL"]), month=SEPTEMBER, now=AFTER)
        company = unit_report(session, _unit(session, org.units["HQ"]), month=SEPTEMBER, now=AFTER)
    waiting = report.waiting
    assert waiting is not None and (waiting.offered, waiting.answered, waiting.abandoned) == (4, 3, 1)
    assert (waiting.service_level, waiting.abandonment_rate, waiting.longest_wait_seconds) == (0.5, 0.25, 70)
    assert waiting.average_handling_seconds == 240.0  # (2 + 4 + 6) minutes / 3
    assert (waiting.callbacks, waiting.callbacks_done) == ({"abandoned": 2, "after_hours": 1}, 2)
    assert company.waiting is not None and company.waiting.offered == 5
    assert report.customer_changes is not None and (
        report.customer_changes.applied,
        report.customer_changes.rejected,
    ) == (2, 1)
    alerts = report.alerts
    assert alerts is not None and alerts.by_kind == {"blacklist": 1, "frequent_claims": 1}
    assert (alerts.addressed, alerts.unaddressed) == (1, 1)
    assert report.complaints is not None and (report.complaints.received, report.complaints.closed) == (2, 1)
    assert report.complaints.by_category == {"claims_payment": 2} and report.complaints.by_channel == {"call": 2}
    assert [(p.customer_id, p.calls) for p in report.potential_customers] == [(prospect, 2)]
    crm = report.crm
    assert crm is not None and crm.segments == {"ordinary": 1, "quality": 1}
    assert [(m.old_segment, m.new_segment, m.customers) for m in crm.movements] == [("ordinary", "quality", 1)]
    assert [(r.name, r.ratio) for r in crm.loss_by_line] == [("auto", 0.4)]
    assert [(r.name, r.ratio) for r in crm.loss_by_unit] == [("서울강남지점", 0.4)]
    assert crm.claim_frequency == {"ordinary": 0.0, "quality": 1.0}
    assert [(d.kind, d.due, d.done) for d in crm.duties] == [("key_visit", 2, 1), ("quality_interview", 1, 0)]
    assert company.crm is not None and company.crm.key_premium_share == 0.0
