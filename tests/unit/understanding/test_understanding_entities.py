"""Entities: plates, policy numbers, dates and times, places, money, people."""

from __future__ import annotations

from datetime import datetime

import pytest

from workers.understanding import Entity, extract_entities, redact

NOW = datetime(2024, 3, 7, 15, 0)  # a Thursday


def kinds(text: str, kind: str) -> list[Entity]:
    return [e for e in extract_entities(text, now=NOW) if e.kind == kind]


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("제 차는 12가3456이에요", "12가3456"),
        ("번호판 123가4567 차량이요", "123가4567"),
        ("서울12가3456 차가 박았어요", "서울12가3456"),
        ("서울 12 가 3456 이에요", "서울12가3456"),
        ("12가 3456", "12가3456"),
        ("차 번호는 십이 가 삼사오육이에요", "12가3456"),
        ("백이십삼 허 사오육칠 렌트카요", "123허4567"),
        ("일이 가 삼사오육", "12가3456"),
        ("77노 2231 그랜저예요", "77노2231"),
    ],
)
def test_vehicle_plates(text: str, plate: str) -> None:
    found = kinds(text, "vehicle_plate")
    assert [e.value for e in found] == [plate]


def test_offsets_index_the_redacted_text() -> None:
    text = "어제 저녁 일곱 시쯤 경부고속도로에서 십이 가 삼사오육 차가 받았어요 제 번호는 공일공 일이삼사 오육칠팔"
    redacted = redact(text)
    for entity in extract_entities(text, now=NOW):
        assert redacted[entity.start : entity.end] == entity.text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("증권번호는 AU-2024-0012345 입니다", "AU-2024-0012345"),
        ("증권 번호 au 2024 0012345요", "AU-2024-0012345"),
        ("증권번호는 이공이사 공공일이삼사오 이에요", "20240012345"),
    ],
)
def test_policy_numbers_are_kept_not_masked(text: str, value: str) -> None:
    assert [e.value for e in kinds(text, "policy_number")] == [value]
    assert "[번호]" not in redact(text) and "[계좌번호]" not in redact(text)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("어제 저녁 일곱 시쯤 사고가 났어요", "datetime", "2024-03-06T19:00"),
        ("지난주 화요일에 그랬어요", "date", "2024-02-27"),
        ("3월 5일 오후 2시에 부딪혔어요", "datetime", "2024-03-05T14:00"),
        ("삼월 오일 오후 두 시에요", "datetime", "2024-03-05T14:00"),
        ("오늘 새벽 네 시쯤", "datetime", "2024-03-07T04:00"),
        ("그저께 밤 열한 시", "datetime", "2024-03-05T23:00"),
        ("20 분 전에 났어요", "datetime", "2024-03-07T14:40"),
        ("다음 주 월요일 오전 열 시에 와 주세요", "datetime", "2024-03-11T10:00"),
        ("12월 24일 밤에", "date", "2023-12-24"),
        ("두 시 반쯤이요", "time", "14:30"),
    ],
)
def test_dates_and_times_resolve_against_now(text: str, kind: str, value: str) -> None:
    found = [e for e in extract_entities(text, now=NOW) if e.kind in ("date", "time", "datetime")]
    assert [(e.kind, e.value) for e in found] == [(kind, value)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("수리비가 삼백만 원 나왔어요", "3000000"),
        ("300만 원이요", "3000000"),
        ("1억 2천만 원", "120000000"),
        ("병원비가 45,000원", "45000"),
    ],
)
def test_money(text: str, value: str) -> None:
    assert [e.value for e in kinds(text, "money")] == [value]


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("경부고속도로 서울 방향에서 사고가 났어요", "경부고속도로 서울 방향"),
        ("판교 IC 근처에서요", "판교 IC"),
        ("강남역 사거리에서 부딪혔어요", "강남역 사거리"),
        ("아파트 지하주차장에서 긁었어요", "아파트 지하주차장"),
        ("동탄 톨게이트 앞이에요", "동탄 톨게이트"),
        ("테헤란로 123 앞에서요", "테헤란로 123"),
        ("주소가 서울시 강남구 테헤란로 152 입니다", "서울시 강남구 테헤란로 152"),
        ("새 주소는 경기도 성남시 분당구 판교역로 235 입니다", "경기도 성남시 분당구 판교역로 235"),
    ],
)
def test_places(text: str, place: str) -> None:
    assert place in [e.value for e in kinds(text, "place")]


def test_person_and_vehicle_model() -> None:
    found = extract_entities("네 안녕하세요 김민수인데요 그랜저를 샀어요", now=NOW)
    assert ("person", "김민수") in [(e.kind, e.value) for e in found]
    assert ("vehicle_model", "그랜저") in [(e.kind, e.value) for e in found]
