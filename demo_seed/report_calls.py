"""Demo calls for the monthly reports: the three months before the last month and the last month itself, a steady mix
of classified calls in every province, in which one topic rises in the last month (natural-disaster reports in the
first province, typhoon damage), so the reports show a hot spot nationally and in that province with the nouns
that carry it; then the last month's reports of every unit are stored, as the workers would on the 1st.
"""

from __future__ import annotations

import random
import secrets
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crm_store.calls.tables import Call
from crm_store.customers.tables import Customer
from crm_store.org.tables import OrgLevel, OrgUnit
from crm_store.reports.rollup import add_months, month_start
from crm_store.reports.stored import generate_reports
from crm_store.validation import BUSINESS_TZ

RISING_TOPIC = "report.natural_disaster"
CALLS_PER_PROVINCE = 40  # a month
# The steady mix: topic, weight, what callers say (redacted transcripts).
MIX: tuple[tuple[str, int, str], ...] = (
    ("inquiry.coverage", 30, "자동차 보험 보장 범위가 어떻게 되는지 문의드립니다"),
    ("inquiry.premium", 15, "다음 달 보험료 납입 금액이 얼마인지 궁금합니다"),
    ("inquiry.claim_status", 15, "지난번 접수한 보상 청구 진행 상황을 알고 싶어요"),
    ("report.auto_accident", 15, "교차로에서 접촉 사고가 났습니다 상대 차량 번호는 모릅니다"),
    ("complaint.claim_delay", 8, "보험금 지급이 너무 늦어지고 있습니다"),
    ("notification.address_phone_change", 10, "이사를 해서 주소를 변경하려고 합니다"),
    (RISING_TOPIC, 3, "비 때문에 지하 창고에 물이 찼습니다"),
)
TYPHOON = "태풍 때문에 차량이 침수되고 지붕 파손 피해가 있습니다 침수 차량 견인 요청합니다"


def _moment(rng: random.Random, month: date) -> datetime:
    """A business-hours moment of the month, in Korea."""
    day = month + timedelta(days=rng.randrange(27))
    return datetime.combine(day, time(rng.randint(9, 17), rng.randrange(60)), tzinfo=BUSINESS_TZ)


def _provinces(session: Session) -> list[tuple[OrgUnit, list[int]]]:
    """Each province with (a sample of) its customers' ids."""
    found = []
    for province in session.exec(
        select(OrgUnit).where(col(OrgUnit.level) == int(OrgLevel.PROVINCE)).order_by(col(OrgUnit.path))
    ).all():
        subtree = select(col(OrgUnit.id)).where(col(OrgUnit.path).startswith(province.path))
        ids = session.exec(select(col(Customer.id)).where(col(Customer.org_unit_id).in_(subtree)).limit(200)).all()
        if ids:
            found.append((province, [int(i) for i in ids if i is not None]))
    return found


def seed_report_calls(engine: Engine, *, rng: random.Random, as_of: date) -> int:
    """The months' calls (the rising topic in the first province's last month) and the last month's stored reports;
    how many calls."""
    last = add_months(month_start(as_of), -1)
    months = [add_months(last, -n) for n in (3, 2, 1, 0)]
    topics, weights = [m[0] for m in MIX], [m[1] for m in MIX]
    words = {topic: text for topic, _, text in MIX}
    rows: list[dict[str, Any]] = []
    with Session(engine) as session:
        provinces = _provinces(session)
    for index, (_province, customers) in enumerate(provinces):
        for month in months:
            rising = index == 0 and month == last
            for _ in range(CALLS_PER_PROVINCE):
                topic = RISING_TOPIC if rising and rng.random() < 0.3 else rng.choices(topics, weights)[0]
                at = _moment(rng, month)
                rows.append(
                    {
                        "call_sid": "CA" + secrets.token_hex(16),
                        "to_number": "+8215881234" if rng.random() < 0.7 else "+8215889999",
                        "status": "completed",
                        "customer_id": rng.choice(customers),
                        "type": topic.split(".")[0],
                        "topic": topic,
                        "transcript": TYPHOON if topic == RISING_TOPIC and rising else words[topic],
                        "pipeline_state": "classified",
                        "status_sequence": 3,
                        "created_at": at,
                        "updated_at": at,
                        "started_at": at,
                    }
                )
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(Call), rows)
    now = datetime.combine(as_of, time(0, 30), tzinfo=BUSINESS_TZ)
    with Session(engine) as session:
        generate_reports(session, last, now=now, by="workers")
        session.commit()
    return len(rows)
