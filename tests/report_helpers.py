"""Calls for the report tests, written directly with their classification: a fixed September 2026 (Korea time) over
the organisation of tests.customer_helpers, and a way to add any number of calls of a topic in a month."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session, col, select

from crm_store.calls.tables import Call
from crm_store.customers.tables import Customer
from crm_store.db import session_scope
from crm_store.reports.stored import generate_reports
from crm_store.reports.tables import CallRollup
from crm_store.validation import BUSINESS_TZ

SEOCHO = "SEOUL-GANGNAM-SEOCHO"
HAEUNDAE = "BUSAN-DONGBU-HAEUNDAE"
_SIDS = itertools.count(1)
SEPTEMBER = date(2026, 9, 1)
# September's roll-up: (unit code, dimension, value, calls). The unknown caller, never reviewed, is the head
# office's; 00:10 on Tuesday in Korea (Monday in UTC).
SEPTEMBER_ROWS = {
    *((SEOCHO, dimension, value, calls) for dimension, value, calls in (
        ("type", "inquiry", 3), ("topic", "inquiry.coverage", 2), ("topic", "inquiry.claim_status", 1),
        ("hour", "10", 2), ("hour", "18", 1), ("weekday", "1", 2), ("weekday", "2", 1), ("segment", "quality", 3),
        ("hotline", "unknown", 3), ("channel", "inbound", 2), ("channel", "outbound-api", 1))),
    *((HAEUNDAE, dimension, value, 1) for dimension, value in (
        ("type", "report"), ("topic", "report.auto_accident"), ("hour", "23"), ("weekday", "7"), ("segment", "key"),
        ("hotline", "unknown"), ("channel", "unknown"))),
    *(("HQ", dimension, value, 1) for dimension, value in (
        ("type", "unclassified"), ("topic", "unclassified"), ("hour", "0"), ("weekday", "2"), ("segment", "unknown"),
        ("hotline", "unknown"), ("channel", "unknown"))),
}  # fmt: skip
RISING_TOPIC = "complaint.claim_delay"
# After September 2026: every month the tests read has ended.
AFTER = datetime(2026, 12, 7, 1, 0, tzinfo=BUSINESS_TZ)


def kst(day: str, at: str) -> datetime:
    """A moment in Korea: kst("2026-09-07", "10:15")."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(at), tzinfo=BUSINESS_TZ)


def add_customer(engine: Any, unit_id: int, segment: str) -> int:
    """A customer of the unit in the segment."""
    with session_scope(engine) as session:
        customer = Customer(kind="individual", name="김고객", org_unit_id=unit_id, segment=segment)
        session.add(customer)
        session.flush()
        return int(customer.id)  # type: ignore[arg-type]


def make_quality(engine: Any, customer_ids: list[int]) -> None:
    """These customers in the quality segment."""
    with session_scope(engine) as session:
        for customer_id in customer_ids:
            customer = session.get(Customer, customer_id)
            assert customer is not None
            customer.segment = "quality"  # type: ignore[assignment]
            session.add(customer)


def add_calls(engine: Any, at: datetime, count: int = 1, *, customer_id: int | None = None,
              topic: str | None = None, direction: str | None = None) -> None:  # fmt: skip
    """`count` calls received at `at` from the customer (unknown caller: None) on the topic (its type the topic's
    first part; None: not classified), in Twilio's `direction` (None: not known)."""
    with session_scope(engine) as session:
        for _ in range(count):
            session.add(Call(call_sid=f"CA{next(_SIDS):032x}", customer_id=customer_id, created_at=at,
                             type=topic.split(".")[0] if topic else None, topic=topic,
                             direction=direction))  # fmt: skip


def september(engine: Any, units: dict[str, int]) -> dict[str, int]:
    """The fixed month: at Seocho two inquiries of a quality customer to the hotline on Monday 7 September 10:15 and
    a claim inquiry of theirs on Tuesday 29 September 18:40 (an agent calling them back); at Haeundae a key
    customer's accident report on Sunday 13 September 23:30; an unknown caller's unclassified call on Tuesday
    1 September 00:10 (in August in UTC); and, outside the month, a call on 1 October 00:10. The customers' ids by
    unit code."""
    seocho = add_customer(engine, units[SEOCHO], "quality")
    haeundae = add_customer(engine, units[HAEUNDAE], "key")
    add_calls(engine, kst("2026-09-07", "10:15"), 2, customer_id=seocho, topic="inquiry.coverage", direction="inbound")
    add_calls(engine, kst("2026-09-29", "18:40"), customer_id=seocho, topic="inquiry.claim_status",
              direction="outbound-api")  # fmt: skip
    add_calls(engine, kst("2026-09-13", "23:30"), customer_id=haeundae, topic="report.auto_accident")
    add_calls(engine, kst("2026-09-01", "00:10"))
    add_calls(engine, kst("2026-10-01", "00:10"), customer_id=seocho, topic="inquiry.coverage")
    return {SEOCHO: seocho, HAEUNDAE: haeundae}


def rolled_up(engine: Any, units: dict[str, int], month: date = SEPTEMBER) -> set[tuple[Any, ...]]:
    """The month's roll-up as (unit code, dimension, value, calls)."""
    codes = {unit: code for code, unit in units.items()}
    with Session(engine) as session:
        rows = session.exec(select(CallRollup).where(col(CallRollup.month) == month)).all()
        return {(codes[r.org_unit_id], r.dimension, r.value, r.calls) for r in rows}


def rising_topic(engine: Any, units: dict[str, int]) -> None:
    """At Seocho 5 of 100 calls a month on claim delays from June to August, 20 of 100 in September, with
    transcripts; one accident report at Haeundae; then September's reports of every unit stored (as the workers do)."""
    seocho = add_customer(engine, units[SEOCHO], "ordinary")
    haeundae = add_customer(engine, units[HAEUNDAE], "key")
    with session_scope(engine) as session:
        n = 0
        for month, rising in (("2026-06", 5), ("2026-07", 5), ("2026-08", 5), ("2026-09", 20)):
            for i in range(100):
                n += 1
                topic = RISING_TOPIC if i < rising else "inquiry.coverage"
                text = (
                    "보험금 지급이 계속 지연되고 있어요 보상 담당자 연락이 없습니다"
                    if topic == RISING_TOPIC
                    else "보장 내용 문의"
                )
                at = kst(f"{month}-15", "11:00")
                session.add(Call(call_sid=f"CA{n:032x}", customer_id=seocho, created_at=at, type=topic.split(".")[0],
                                 topic=topic, transcript=text, to_number="+8215881234"))  # fmt: skip
        session.add(Call(call_sid=f"CA{n + 1:032x}", customer_id=haeundae, created_at=kst("2026-09-13", "23:30"),
                         type="report", topic="report.auto_accident"))  # fmt: skip
    with session_scope(engine) as session:
        generate_reports(session, SEPTEMBER, now=AFTER, by="workers")
