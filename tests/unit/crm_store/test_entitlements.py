"""Service entitlements by segment and line are exactly those the packaged customer rules give: for quality auto
customers, fast on-site survey, roadside rescue, renewal reminders, free car wash, accident card, simple fast small
claims and green-channel priority; for quality corporate property and cargo customers, weather warnings and
disaster-prevention visits."""

from __future__ import annotations

import pytest

from crm_store.customers.picture import entitlements_for
from crm_store.customers.rules import load_rules
from crm_store.customers.tables import CustomerKind, Segment

QUALITY_AUTO = [
    ("fast_survey", "신속 현장 조사"),
    ("roadside_rescue", "긴급 구조"),
    ("renewal_reminder", "갱신 알림"),
    ("free_car_wash", "무료 세차"),
    ("accident_card", "상해 사고 보장 카드"),
    ("simple_small_claims", "소액 청구 간편 처리"),
    ("green_channel", "녹색 채널"),
]
QUALITY_CORPORATE_PROPERTY = [("weather_warning", "기상 정보"), ("disaster_prevention_visit", "방재·손해 방지 서비스")]
INDIVIDUAL, CORPORATE = CustomerKind.INDIVIDUAL, CustomerKind.CORPORATE


def _services(segment: Segment, kind: CustomerKind, *lines: str) -> list[tuple[str, str]]:
    return [(e["code"], e["name"]) for e in entitlements_for(load_rules(), segment, kind, set(lines))]


@pytest.mark.parametrize("kind", [INDIVIDUAL, CORPORATE])
def test_quality_auto_customers(kind: CustomerKind) -> None:
    assert _services(Segment.QUALITY, kind, "auto") == QUALITY_AUTO
    assert _services(Segment.QUALITY, kind, "auto", "travel") == QUALITY_AUTO


@pytest.mark.parametrize("line", ["property", "cargo", "fire"])
def test_quality_corporate_property_and_cargo_customers(line: str) -> None:
    assert _services(Segment.QUALITY, CORPORATE, line) == QUALITY_CORPORATE_PROPERTY
    # An individual's home or property policy brings no corporate loss-prevention service.
    assert _services(Segment.QUALITY, INDIVIDUAL, line) == []


def test_a_quality_corporate_customer_with_both_lines_gets_both_lists_once() -> None:
    both = _services(Segment.QUALITY, CORPORATE, "auto", "cargo", "property")
    assert both == QUALITY_AUTO + QUALITY_CORPORATE_PROPERTY


@pytest.mark.parametrize("segment", [Segment.ORDINARY, Segment.INFERIOR])
@pytest.mark.parametrize("kind", [INDIVIDUAL, CORPORATE])
def test_ordinary_and_inferior_customers_have_none(segment: Segment, kind: CustomerKind) -> None:
    assert _services(segment, kind, "auto", "property", "cargo") == []


def test_quality_without_a_line_in_force_has_none() -> None:
    assert _services(Segment.QUALITY, INDIVIDUAL) == [] and _services(Segment.QUALITY, INDIVIDUAL, "liability") == []


def test_key_customers_get_the_green_channel_and_periodic_visits() -> None:
    expected = [("green_channel", "녹색 채널"), ("periodic_visit", "정기 방문")]
    assert _services(Segment.KEY, CORPORATE) == expected and _services(Segment.KEY, CORPORATE, "cargo") == expected
