"""Named errors of the customer store that carry per-field messages (mapped to 4xx by the gateway)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from crm_store.errors import StoreError

BUSINESS_TZ = ZoneInfo("Asia/Seoul")
# The largest id a record can have (PostgreSQL integer): an input naming a larger one is refused by its model,
# never sent to the database to overflow there.
MAX_ID = 2**31 - 1


class InvalidInput(StoreError):
    """Input that is well-formed but not acceptable (unknown policy, org unit outside scope, ...)."""

    def __init__(self, fields: dict[str, str], message: str = "invalid input") -> None:
        super().__init__(message)
        self.fields = fields


class Conflict(InvalidInput):
    """The input collides with what is stored (a phone number owned by another customer, ...)."""


class NotAllowed(StoreError):
    """The staff member may see the record but not do this to it (approve, certify)."""


def business_today() -> date:
    """Today in Korea: the date policies, claims and rules are reckoned in."""
    return datetime.now(BUSINESS_TZ).date()


def readable_reason(value: str) -> str:
    """A reason a person can read (two characters at least, outer spaces dropped); ValueError otherwise."""
    if len(value.strip()) < 2:
        raise ValueError("a reason a person can read is required")
    return value.strip()


def all_normalised(
    values: Iterable[str], normalise: Callable[[str], str | None], expected: str, *, once: bool = False
) -> list[str]:
    """Every value in its normal form, in the order given (each once if `once`); ValueError names what is expected
    when one has none."""
    normalised = [normalise(v) for v in values]
    if any(n is None for n in normalised):
        raise ValueError(expected)
    kept = [n for n in normalised if n is not None]
    return list(dict.fromkeys(kept)) if once else kept
