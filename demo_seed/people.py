"""People and companies of the demo: the well-known callers and the password every demo staff member signs in with,
and plausible Korean names and registration numbers (with valid check digits) for everyone else."""

from __future__ import annotations

import random
from datetime import date
from itertools import accumulate

DEMO_CALLER = "+821012345678"
# Every demo staff member signs in to the console with this password (hashed once per seeding run).
DEMO_PASSWORD = "hotline-demo"
DEMO_BLACKLISTED_CALLER = "+821099990000"
HEAD_OFFICE_CODE = "HQ"


# -- names -----------------------------------------------------------------------------------------
# Surnames weighted roughly by their share of the population (김 21%, 이 15%, 박 8% ...).
_SURNAMES = "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민진나엄채원천방공현"
_SURNAME_WEIGHTS = [
    21.5,
    14.7,
    8.4,
    4.7,
    4.3,
    2.4,
    2.1,
    2.1,
    2.0,
    1.7,
    1.5,
    1.5,
    1.5,
    1.5,
    1.4,
    1.3,
    1.3,
    1.3,
    1.1,
    1.1,
    1.1,
    0.9,
    0.9,
    0.9,
    0.9,
    0.8,
    0.8,
    0.7,
    0.7,
    0.6,
    0.6,
    0.5,
    0.5,
    0.4,
    0.4,
    0.4,
    0.4,
    0.4,
    0.4,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.3,
    0.2,
    0.2,
]
_SURNAME_CUM_WEIGHTS = list(accumulate(_SURNAME_WEIGHTS))
# Given names differ by generation: (born before 1980, from 1980) x (male, female).
_GIVEN_NAMES = {
    (True, True): "영수 영호 영식 정호 성호 상철 성수 상훈 정훈 성훈 동훈 상우 광수 경수 종수 병철 재석 용준 진호 "
    "기현 태호 명수 승철 준호 재훈 동욱 종훈 창호 형준 현철 대호 성민 정수 봉수".split(),
    (True, False): "영숙 영희 순자 정숙 미숙 경숙 영자 정희 미경 은정 은영 미영 현정 지영 수진 혜진 은주 명숙 "
    "경희 정미 순희 옥순 미정 선희 정순 혜숙 경자 미란 연희 말순 금순 은숙".split(),
    (False, True): "민준 서준 도윤 예준 시우 하준 지호 주원 지후 준우 준서 건우 도현 현우 지훈 우진 선우 서진 "
    "민재 현준 연우 유준 정우 승우 승현 시윤 준혁 은우 지환 승민 재윤 동현 수호 태윤 민규 재원 "
    "한결 민우 재민 은찬 윤호 시원 성현 태민 지성 민호 태현 민혁 성준 규민 정민 준수 민석".split(),
    (False, False): "서연 서윤 지우 서현 민서 하은 하윤 윤서 지유 지민 채원 수아 지아 지윤 은서 다은 예은 수빈 "
    "소율 예린 예원 지원 소윤 지안 하린 시은 유진 채은 수진 혜진 지혜 정은 미진 선영 혜원 "
    "소연 유나 가은 나연 수민 예지 민지 은지 보람 아름".split(),
}
_COMPANY_STEMS = (
    "한빛 대성 삼우 동양 신라 태평양 한솔 금강 세원 미래 대한 우리 동아 서해 남해 백두 한라 청솔 새한 "
    "일신 성진 진흥 경인 영남 중앙 제일 태광 동방 한일 고려 광명 신흥 대양 현성 삼일 동원 해성 "
    "영진 창신 우성"
).split()
_COMPANY_TRADES = (
    "물산 건설 산업 상사 물류 해운 전자 정밀 화학 식품 기계 운수 개발 에너지 엔지니어링 테크 "
    "종합건설 수산 섬유 제약 유통 항운 철강 중공업 산업개발"
).split()


def korean_person_name(rng: random.Random, *, born: int, male: bool) -> str:
    """A plausible Korean full name for someone born in `born`."""
    surname = rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM_WEIGHTS)[0]
    return surname + rng.choice(_GIVEN_NAMES[(born < 1980, male)])


def korean_company_name(rng: random.Random) -> str:
    """A plausible Korean company name such as (주)한빛물산 or 대성건설 주식회사."""
    name = rng.choice(_COMPANY_STEMS) + rng.choice(_COMPANY_TRADES)
    style = rng.random()
    if style < 0.45:
        return f"(주){name}"
    if style < 0.7:
        return f"{name} 주식회사"
    if style < 0.85:
        return f"주식회사 {name}"
    return f"{name}(주)" if style < 0.95 else f"(유){name}"


def resident_number(rng: random.Random, *, birth: date, male: bool) -> str:
    """A 13-digit resident registration number with a valid check digit (YYMMDD-SXXXXXC)."""
    sex = (1 if male else 2) + (2 if birth.year >= 2000 else 0)
    body = f"{birth:%y%m%d}{sex}{rng.randint(0, 99999):05d}"
    total = sum(int(d) * w for d, w in zip(body, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5), strict=True))
    return f"{body[:6]}-{body[6:]}{(11 - total % 11) % 10}"


def business_number(rng: random.Random) -> str:
    """A 10-digit corporate business registration number with a valid check digit (XXX-8X-XXXXC)."""
    body = f"{rng.randint(101, 899)}{rng.choice((81, 86, 87, 88))}{rng.randint(0, 9999):04d}"
    total = sum(int(d) * w for d, w in zip(body, (1, 3, 7, 1, 3, 7, 1, 3, 5), strict=True))
    total += int(body[8]) * 5 // 10
    return f"{body[:3]}-{body[3:5]}-{body[5:]}{(10 - total % 10) % 10}"
