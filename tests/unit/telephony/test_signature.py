"""Twilio's signature check: the configured URL first, Twilio's own validator for the other port form."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from telephony.signature import TwilioSignature

TOKEN = "12345678901234567890123456789012"
PARAMS = {"CallSid": "CA" + "1" * 32, "From": "+821012345678", "To": "+8215881234", "CallStatus": "ringing"}


def _twilio_signs(url: str, params: dict[str, str] = PARAMS) -> str:
    return str(RequestValidator(TOKEN).compute_signature(url, params))


@pytest.mark.parametrize(
    ("base", "signed_over"),
    [
        ("https://hotline.example.com", "https://hotline.example.com/twilio/voice"),
        ("https://hotline.example.com", "https://hotline.example.com:443/twilio/voice"),  # Twilio added the port
        ("https://hotline.example.com:443", "https://hotline.example.com/twilio/voice"),  # we configured it
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/twilio/voice"),
    ],
)
def test_genuine_signatures_are_accepted_with_or_without_the_port(base: str, signed_over: str) -> None:
    assert TwilioSignature(TOKEN, base).is_valid("/twilio/voice", PARAMS, _twilio_signs(signed_over))


def test_forged_or_mismatched_signatures_are_refused() -> None:
    check = TwilioSignature(TOKEN, "https://hotline.example.com")
    genuine = _twilio_signs("https://hotline.example.com/twilio/voice")
    assert not check.is_valid("/twilio/voice", {**PARAMS, "From": "+821099999999"}, genuine)  # a field changed
    assert not check.is_valid("/twilio/status", PARAMS, genuine)  # another endpoint
    assert not check.is_valid("/twilio/voice", PARAMS, str(RequestValidator("x" * 32).compute_signature(
        "https://hotline.example.com/twilio/voice", PARAMS)))  # fmt: skip
    assert not check.is_valid("/twilio/voice", PARAMS, None)
    assert not check.is_valid("/twilio/voice", PARAMS, "")
    assert not check.is_valid("/twilio/voice", PARAMS, "서명" + genuine)  # not ASCII: refused, not an error


def test_the_simulators_signature_is_what_twilio_computes() -> None:
    check = TwilioSignature(TOKEN, "https://hotline.example.com/")
    assert check.sign("/twilio/voice", PARAMS) == _twilio_signs("https://hotline.example.com/twilio/voice")
