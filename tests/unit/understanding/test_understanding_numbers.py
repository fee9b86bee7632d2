"""Korean number words to digits."""

from __future__ import annotations

import pytest

from workers.understanding import korean_numbers_to_digits


@pytest.mark.parametrize(
    ("spoken", "expected"),
    [
        # Sino-Korean numbers and units
        ("삼백만 원", "3000000 원"),
        ("공일공", "010"),
        ("이천십팔 년", "2018 년"),
        ("오십만 원", "500000 원"),
        ("백이십삼", "123"),
        ("일억 이천만 원", "120000000 원"),
        ("만 오천 원", "15000 원"),
        ("1억 2천만 원", "120000000 원"),
        ("300만 원", "3000000 원"),
        ("3천만 원", "30000000 원"),
        ("3,000,000원", "3000000원"),
        ("삼십만원이요", "300000원이요"),
        ("오백 미터", "500 미터"),
        ("육 개월", "6 개월"),
        # Native Korean numbers before counters
        ("한 시", "1 시"),
        ("일곱 시", "7 시"),
        ("어제 저녁 일곱 시쯤", "어제 저녁 7 시쯤"),
        ("열두 시", "12 시"),
        ("스물다섯 살", "25 살"),
        ("두 명이 다쳤어요", "2 명이 다쳤어요"),
        ("세 번째", "3 번째"),
        ("네 시간", "4 시간"),
        # Digit by digit, with 공 for zero
        ("공일공 일이삼사 오육칠팔", "010 1234 5678"),
        ("공일공에 일이삼사에 오육칠팔", "010에 1234에 5678"),
        ("공일공 이삼사 오육칠팔이고요", "010 234 5678이고요"),
        ("일일구 불렀어요", "119 불렀어요"),
        ("팔공공일일공 다시 일이삼사오육칠", "800110 다시 1234567"),
        # Dates and times
        ("삼월 오일 오후 두 시", "3월 5일 오후 2 시"),
        ("유월 십오일", "6월 15일"),
        ("시월 말", "10월 말"),
        ("지난달 이십오일", "지난달 25일"),
        ("삼월 이십일일", "3월 21일"),
        ("오후 두 시 삼십 분", "오후 2 시 30 분"),
    ],
)
def test_number_words_become_digits(spoken: str, expected: str) -> None:
    assert korean_numbers_to_digits(spoken) == expected


@pytest.mark.parametrize(
    "words",
    [
        "이사했어요",
        "오시면 됩니다",
        "사시는 곳이",
        "사원이 불친절해요",
        "이천 IC 근처",
        "엔진 오일",
        "일요일",
        "이번 주",
        "이 시간에",
        "천천히",
        "사거리",
        "삼거리에서",
        "사고가 났는데요",
        "일이 많아서",
        "이만 끊을게요",
        "이분이 다쳤어요",
        "한번 확인해 주세요",
        "열이 나요",
        "오후",
        "삼성화재",
        "천만에요",
        "일단",
    ],
)
def test_words_that_only_look_like_numbers_stay_words(words: str) -> None:
    assert korean_numbers_to_digits(words) == words


def test_mixed_sentence() -> None:
    text = "어제 오후 세 시쯤 사고가 나서 수리비가 이백오십만 원 나왔고 두 명이 병원에 갔어요"
    assert (
        korean_numbers_to_digits(text) == "어제 오후 3 시쯤 사고가 나서 수리비가 2500000 원 나왔고 2 명이 병원에 갔어요"
    )
