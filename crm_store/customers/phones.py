"""Phone numbers as callers give them, normalised to E.164."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

_KOREAN_E164 = re.compile(r"\+8210[2-9]\d{7}")
ANONYMOUS = frozenset({"anonymous", "unknown", "restricted", "private", ""})
# "0082 10 ..." is how most of the world writes +82 (00 is their international prefix); Korea's own prefixes
# (001, 002, 00700, ...) phonenumbers knows, and no Korean number starts with 00.
_ABROAD_00 = re.compile(r"^\s*00[\s.-]*82(?=[\s.()-]*\d)")


@lru_cache(maxsize=65536)
def normalise_phone(raw: str | None, *, region: str = "KR") -> str | None:
    """E.164 form of a number written any common way (010-1234-5678, +82 10..., 02)123-4567), or None."""
    if raw is None or raw.strip().lower() in ANONYMOUS:
        return None
    if _KOREAN_E164.fullmatch(raw):
        # Twilio sends E.164 already; a well-formed Korean mobile needs no full parse on the hot path.
        return raw
    raw = _ABROAD_00.sub("+82", raw, count=1)
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str | None) -> str | None:
    """The number with its middle digits hidden, for logs."""
    if not e164:
        return e164
    return e164[:-8] + "****" + e164[-4:] if len(e164) > 8 else "****"
