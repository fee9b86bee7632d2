"""Redaction of personal numbers, written as digits and as Korean number words."""

from __future__ import annotations

import json
import re

import pytest

from workers.understanding import extract_entities, redact, understand
from workers.understanding.redaction import redact_entity, redact_typed

CASES = [
    # (text, mask, clear digits that must not survive)
    ("제 주민번호는 800110-1234567 입니다", "[주민번호]", "8001101234567"),
    ("주민번호 8001101234567이요", "[주민번호]", "8001101234567"),
    ("주민번호는 팔공공일일공 다시 일이삼사오육칠 입니다", "[주민번호]", "8001101234567"),
    ("주민번호 앞자리는 팔공공일일공이고 뒷자리는 일이삼사오육칠이요", "[주민번호]", "8001101234567"),
    ("카드 번호는 1234-5678-9012-3456 이에요", "[카드번호]", "1234567890123456"),
    ("카드 1234 5678 9012 3456", "[카드번호]", "1234567890123456"),
    ("카드 번호는 일이삼사 오육칠팔 구공일이 삼사오육", "[카드번호]", "1234567890123456"),
    ("환급금은 국민은행 123456-78-901234 로 주세요", "[계좌번호]", "12345678901234"),
    ("계좌번호는 일일공 일이삼 사오육칠팔구요", "[계좌번호]", "110123456789"),
    ("신한은행 계좌 110 123 456789 로 보내 주세요", "[계좌번호]", "110123456789"),
    ("연락처는 010-1234-5678 입니다", "[전화번호]", "01012345678"),
    ("01012345678로 문자 주세요", "[전화번호]", "01012345678"),
    ("사무실은 02-123-4567 이에요", "[전화번호]", "021234567"),
    ("새 번호는 공일공 일이삼사 오육칠팔이에요", "[전화번호]", "01012345678"),
    ("번호는 공일공에 일이삼사에 오육칠팔이요", "[전화번호]", "01012345678"),
    ("공일공 다시 일이삼사 다시 오육칠팔로 연락 주세요", "[전화번호]", "01012345678"),
]


def digits_only(text: str) -> str:
    return re.sub(r"\D", "", text)


@pytest.mark.parametrize(("text", "mask", "clear"), CASES)
def test_redact_masks_each_kind(text: str, mask: str, clear: str) -> None:
    redacted = redact(text)
    assert mask in redacted
    assert clear not in digits_only(redacted)
    assert clear[-4:] not in redacted


@pytest.mark.parametrize(("text", "mask", "clear"), CASES)
def test_clear_digits_survive_nowhere_in_the_understanding(text: str, mask: str, clear: str) -> None:
    result = understand(text)
    dumped = json.dumps(result.to_dict(), ensure_ascii=False)
    assert clear not in digits_only(dumped)
    assert clear[-4:] not in dumped
    for entity in extract_entities(text):
        if entity.kind in ("registration_number", "card_number", "account_number", "phone"):
            assert entity.value == entity.text == mask


def test_non_personal_numbers_survive() -> None:
    text = "3월 5일 오후 2시에 12가3456 차량이랑 사고가 났고 수리비가 300만 원이에요 접수번호 23-551020"
    redacted = redact(text)
    for kept in ("3월 5일", "2시", "12가3456", "3000000", "23-551020"):
        assert kept in redacted
    assert "[" not in redacted


@pytest.mark.parametrize(("text", "mask", "clear"), CASES)
def test_a_typed_entity_of_any_kind_is_redacted_like_the_transcript(text: str, mask: str, clear: str) -> None:
    redacted = redact_entity("note", text)
    assert mask in redacted and clear not in digits_only(redacted)


def test_a_typed_personal_number_entity_keeps_only_its_mask_and_other_values_stay_as_typed() -> None:
    assert redact_entity("registration_number", "800110") == "[주민번호]"  # even a part of one
    assert redact_entity("resident_number", "800110-1234567") == "[주민번호]"
    assert redact_entity("card_number", "1234") == "[카드번호]"
    assert redact_entity("phone", "010-1234-5678") == "[전화번호]"
    for kept in ("이천 공장", "오십만 원", "AU-2024-0012345", "12가3456", "허리 디스크 수술"):
        assert redact_entity("note", kept) == kept


def test_typed_text_loses_registration_card_and_account_numbers_but_keeps_phones() -> None:
    typed = "주민번호 880315-1234567, 카드 1234-5678-9012-3456, 계좌 110-123-456789로 환급; 연락처 010-2222-3333"
    assert redact_typed(typed) == ("주민번호 [주민번호], 카드 [카드번호], 계좌 [계좌번호]로 환급; 연락처 010-2222-3333")
    kept = "증권번호 AU-2024-0000002 건,  서초구 반포대로 58"
    assert redact_typed(kept) == kept
