"""The customer profile schema: what each kind holds, phone numbers in E.164, problems named by path (never by
value), the review desk's fields still accepted, and a PATCH merging top-level keys."""

from __future__ import annotations

from typing import Any

import pytest

from crm_store.customers.profiles import merge_profile, parse_profile
from crm_store.customers.tables import CustomerKind
from crm_store.review.queue import PROFILE_FIELDS
from crm_store.validation import InvalidInput

INDIVIDUAL, CORPORATE = CustomerKind.INDIVIDUAL, CustomerKind.CORPORATE


def _problems(kind: CustomerKind, raw: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse_profile(kind, raw)
    return caught.value.fields


def test_an_individual_profile_is_stored_normalised() -> None:
    stored = parse_profile(
        INDIVIDUAL,
        {
            "family": [
                {"relation": " 배우자 ", "name": "김영희", "birth_year": 1990, "phone": "010-2345-6789"},
                {"relation": "자녀", "name": "김하늘"},
            ],
            "occupation": "교사",
            "contact_preferences": {"channels": ["sms", "phone", "sms"], "best_time": "평일 18시 이후"},
            "note": "야간 연락 선호",
            "email": None,  # null: left out
        },
    )
    assert stored == {
        "family": [
            {"relation": "배우자", "name": "김영희", "birth_year": 1990, "phone": "+821023456789"},
            {"relation": "자녀", "name": "김하늘"},
        ],
        "occupation": "교사",
        "contact_preferences": {"channels": ["sms", "phone"], "best_time": "평일 18시 이후"},
        "note": "야간 연락 선호",
    }
    assert parse_profile(INDIVIDUAL, {}) is None and parse_profile(INDIVIDUAL, None) is None


def test_a_corporate_profile_is_stored_normalised() -> None:
    stored = parse_profile(
        CORPORATE,
        {
            "industry": "제조업",
            "size": {"employees": 120, "revenue_band": "10b_100b"},
            "financial_notes": "최근 2년 영업이익 흑자",
            "contacts": [
                {"name": "박총무", "title": "총무팀장", "phone": "02)555-1234", "email": "admin@example.co.kr"},
                {"name": "최안전", "title": "안전관리자", "phone": "+82 10 3333 4444"},
            ],
        },
    )
    assert stored is not None
    assert [c["phone"] for c in stored["contacts"]] == ["+8225551234", "+821033334444"]
    assert stored["size"] == {"employees": 120, "revenue_band": "10b_100b"}


def test_problems_are_named_by_path_without_the_values() -> None:
    problems = _problems(
        INDIVIDUAL,
        {
            "family": [{"relation": "", "name": "김영희", "birth_year": "1990", "phone": "010-98"}, {"relation": "부"}],
            "contact_preferences": {"channels": ["pigeon"], "do_not_call": "no"},
            "industry": "제조업",  # a corporate field
            "note_x-y": "메모",
        },
    )
    assert set(problems) == {
        "profile.family.0.relation",
        "profile.family.0.birth_year",
        "profile.family.0.phone",
        "profile.family.1.name",
        "profile.contact_preferences.channels.0",
        "profile.contact_preferences.do_not_call",
        "profile.industry",
        "profile.note_x-y",
    }
    assert not any("010-98" in message or "pigeon" in message for message in problems.values())
    problems = _problems(
        CORPORATE,
        {
            "family": [],  # an individual's field
            "size": {"employees": -1, "revenue_band": "huge"},
            "contacts": [{"name": "박총무", "phone": "02-555-1234", "email": "not-an-address"}],
        },
    )
    assert set(problems) == {
        "profile.family",
        "profile.size.employees",
        "profile.size.revenue_band",
        "profile.contacts.0.title",
        "profile.contacts.0.email",
    }
    assert _problems(INDIVIDUAL, ["a list"]) == {"profile": "an object"}
    assert set(_problems(INDIVIDUAL, {"family": [{"relation": "자녀", "name": "x", "birth_year": 2999}]})) == {
        "profile.family.0.birth_year"
    }


@pytest.mark.parametrize("kind", [INDIVIDUAL, CORPORATE])
def test_what_the_review_desk_writes_still_validates(kind: CustomerKind) -> None:
    written = {field: "서울시 서초구 반포대로 1" for field in PROFILE_FIELDS if field != "email"}
    written |= {"email": "kim@example.com", "note_mileage": "12만 km"}
    assert parse_profile(kind, written) == written


def test_a_patch_replaces_top_level_keys_and_null_removes_one() -> None:
    stored = parse_profile(INDIVIDUAL, {"family": [{"relation": "배우자", "name": "김영희"}], "occupation": "교사"})
    assert merge_profile(INDIVIDUAL, stored, {"occupation": "자영업"}) == {
        "family": [{"relation": "배우자", "name": "김영희"}],
        "occupation": "자영업",
    }
    assert merge_profile(INDIVIDUAL, stored, {"family": None}) == {"occupation": "교사"}
    assert merge_profile(INDIVIDUAL, stored, None) is None
    with pytest.raises(InvalidInput) as caught:
        merge_profile(INDIVIDUAL, stored, {"family": [{"relation": "자녀", "name": "김하늘", "phone": "12"}]})
    assert set(caught.value.fields) == {"profile.family.0.phone"}
