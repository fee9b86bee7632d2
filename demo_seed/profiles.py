"""Customer profiles of the demo: family, occupation and contact preferences of individuals; industry, size,
business situation and contact persons of corporate customers. Every document passes the schema the API checks
(crm_store.customers.profiles), and phone numbers are E.164. One executemany, so the seed stays fast."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel import col

from crm_store.customers.phones import normalise_phone
from crm_store.customers.profiles import parse_profile
from crm_store.customers.tables import Customer, CustomerKind
from demo_seed.people import korean_person_name

PROFILE_SHARE = 0.6
_OCCUPATIONS = (
    "회사원", "공무원", "자영업", "교사", "간호사", "운수업", "주부", "대학생", "농업", "연구원", "택시 기사",
)  # fmt: skip
_RELATIONS = (("배우자", 1.0), ("자녀", 0.7), ("자녀", 0.35), ("모", 0.2), ("부", 0.1))
_BEST_TIMES = ("평일 오전", "평일 18시 이후", "주말 오후", "점심시간", None)
_INDUSTRIES = (
    "제조업", "건설업", "도소매업", "운수·창고업", "음식·숙박업", "정보통신업", "부동산 임대업", "화학", "물류",
)  # fmt: skip
_TITLES = ("대표이사", "총무팀장", "재무팀장", "안전관리자", "시설과장", "구매 담당")
# Employees below the limit: the yearly revenue band (a rough demo rule).
_REVENUE_BY_STAFF = ((30, "under_1b"), (150, "1b_10b"), (800, "10b_100b"), (10**9, "100b_1t"))
_FINANCIAL_NOTES = (
    "매출 증가세, 신규 공장 증설 중",
    "최근 2년 영업이익 흑자",
    "원자재 가격 상승으로 수익성 악화",
    "수출 비중이 높아 환율 영향이 큼",
    "차입금 상환 완료, 재무 안정",
)


def seed_profiles(conn: Any, rng: random.Random, *, as_of: date, always: int) -> int:
    """Profiles for a good share of the customers (and always the demo caller), checked by the API's own schema."""
    rows = []
    for customer_id, kind in conn.execute(
        select(col(Customer.id), col(Customer.kind)).order_by(col(Customer.id))
    ).all():
        if customer_id != always and rng.random() >= PROFILE_SHARE:
            continue
        kind = CustomerKind(kind)
        if kind is CustomerKind.INDIVIDUAL:
            raw = _individual_profile(rng, as_of)
        else:
            raw = _corporate_profile(rng, customer_id)
        rows.append({"cid": customer_id, "document": parse_profile(kind, raw)})
    table = Customer.__table__  # type: ignore[attr-defined]
    conn.execute(update(table).where(table.c.id == bindparam("cid")).values(profile=bindparam("document")), rows)
    return len(rows)


def _mobile(rng: random.Random) -> str:
    while True:
        number = normalise_phone(f"010-{rng.randint(2000, 9999)}-{rng.randint(0, 9999):04d}")
        if number is not None:
            return number


def _individual_profile(rng: random.Random, as_of: date) -> dict[str, Any]:
    born = as_of.year - rng.randint(25, 70)
    family = []
    for relation, chance in _RELATIONS:
        if rng.random() < chance:
            year = {"배우자": born + rng.randint(-4, 4), "자녀": born + rng.randint(24, 38)}.get(relation, born - 28)
            year = min(year, as_of.year)
            member: dict[str, Any] = {
                "relation": relation,
                "name": korean_person_name(rng, born=year, male=rng.random() < 0.5),
                "birth_year": year,
            }
            if relation == "배우자" or (as_of.year - year >= 18 and rng.random() < 0.3):
                member["phone"] = _mobile(rng)
            family.append(member)
    profile: dict[str, Any] = {"family": family, "occupation": rng.choice(_OCCUPATIONS)}
    if rng.random() < 0.7:
        channels = rng.sample(("phone", "sms", "kakao", "email", "mail"), rng.randint(1, 3))
        best = rng.choice(_BEST_TIMES)
        profile["contact_preferences"] = {
            "channels": channels,
            **({"best_time": best} if best else {}),
            "do_not_call": rng.random() < 0.05,
        }
    return profile


def _corporate_profile(rng: random.Random, customer_id: int) -> dict[str, Any]:
    employees = int(rng.lognormvariate(4, 1.2)) + 5
    band = next(band for limit, band in _REVENUE_BY_STAFF if employees < limit)
    contacts = [
        {
            "name": korean_person_name(rng, born=rng.randint(1965, 1995), male=rng.random() < 0.6),
            "title": title,
            "phone": _mobile(rng),
            **({"email": f"contact{customer_id}.{n}@example.co.kr"} if rng.random() < 0.6 else {}),
        }
        for n, title in enumerate(rng.sample(_TITLES, rng.randint(1, 3)))
    ]
    return {
        "industry": rng.choice(_INDUSTRIES),
        "size": {"employees": employees, "revenue_band": band},
        "financial_notes": rng.choice(_FINANCIAL_NOTES),
        "contacts": contacts,
    }
