"""Phone numbers as callers give them, normalised to E.164."""

from __future__ import annotations

import phonenumbers

ANONYMOUS = frozenset({"anonymous", "unknown", "restricted", "private", ""})


def normalise_phone(raw: str | None, *, region: str = "KR") -> str | None:
    """E.164 form of a number written any common way (010-1234-5678, +82 10..., 02)123-4567), or None."""
    if raw is None or raw.strip().lower() in ANONYMOUS:
        return None
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
