"""Registration numbers (resident or business) and API tokens: keyed hashes, never clear text."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_DIGITS = re.compile(r"\D")


class InvalidRegistrationNumber(ValueError):
    """Not a 13-digit resident or 10-digit business registration number."""


def registration_digits(raw: str) -> str:
    """The digits of a resident (13) or business (10) registration number, validated by length."""
    digits = _DIGITS.sub("", raw)
    if len(digits) not in (10, 13):
        raise InvalidRegistrationNumber("a registration number has 13 digits (resident) or 10 (business)")
    return digits


def registration_hash(raw: str, *, key: str) -> str:
    """Keyed hash used to match a customer across branches without storing the number."""
    digits = registration_digits(raw)
    return hmac.new(key.encode(), b"reg:" + digits.encode(), hashlib.sha256).hexdigest()


def registration_mask(raw: str) -> str:
    """Birth date and sex digit only (900101-1******), or the business number's first block."""
    digits = registration_digits(raw)
    if len(digits) == 13:
        return f"{digits[:6]}-{digits[6]}******"
    return f"{digits[:3]}-**-*****"


def new_api_token() -> str:
    """A fresh random bearer token (shown once, stored only as its hash)."""
    return "hl_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 of a bearer token, the only form stored."""
    return hashlib.sha256(token.encode()).hexdigest()
