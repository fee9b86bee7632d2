"""Phone normalisation and registration-number handling."""

from __future__ import annotations

import pytest

from crm_store.customers.identity import (
    InvalidRegistrationNumber,
    new_api_token,
    registration_hash,
    registration_mask,
    token_hash,
)
from crm_store.customers.phones import mask_phone, normalise_phone


@pytest.mark.parametrize(
    "raw",
    ["010-1234-5678", "01012345678", "+82 10 1234 5678", "+82-10-1234-5678", "(010) 1234-5678", "82 10 1234 5678"],
)
def test_korean_mobile_numbers_written_any_common_way_normalise_to_one_e164(raw: str) -> None:
    expected = "+821012345678" if not raw.startswith("82 ") else None
    assert normalise_phone(raw) == (expected or normalise_phone("+" + raw))


@pytest.mark.parametrize(
    "raw", ["0082-10-1234-5678", "00 82 (0)10 1234 5678", "001-82-10-1234-5678", "00700-82-10-1234-5678"]
)
def test_numbers_written_with_an_international_prefix(raw: str) -> None:
    """00 82 as callers abroad write +82, and Korea's own international prefixes."""
    assert normalise_phone(raw) == "+821012345678"


@pytest.mark.parametrize(("raw", "e164"), [("02-123-4567", "+8221234567"), ("031-123-4567", "+82311234567")])
def test_landlines_keep_their_area_code(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize(
    "raw", [None, "", "anonymous", "unknown", "Restricted", "12", "not a number", "010-5990-1234", "0082"]
)
def test_withheld_invalid_or_unassigned_numbers_are_none(raw: str | None) -> None:
    assert normalise_phone(raw) is None


def test_phone_masking_hides_the_middle() -> None:
    assert mask_phone("+821012345678") == "+8210****5678"


def test_registration_numbers_are_hashed_with_a_key_and_masked() -> None:
    first = registration_hash("900101-1234567", key="k1")
    assert first == registration_hash("9001011234567", key="k1")
    assert first != registration_hash("900101-1234567", key="k2")
    assert "1234567" not in first
    assert registration_mask("900101-1234567") == "900101-1******"
    assert registration_mask("123-45-67890") == "123-**-*****"
    with pytest.raises(InvalidRegistrationNumber):
        registration_hash("12345", key="k1")


def test_api_tokens_are_random_and_stored_as_hashes() -> None:
    one, two = new_api_token(), new_api_token()
    assert one != two and len(one) > 40
    assert token_hash(one) != one and len(token_hash(one)) == 64
