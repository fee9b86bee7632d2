"""The customer profile (고객 프로필), one validated JSON document per customer: the family composition (가족 구성),
occupation and contact preferences of an individual; the industry, size, business situation (경영 상황) and
contact persons of a corporate customer.

`parse_profile(kind, raw)` checks a whole document and answers it in its stored form (phone numbers in E.164, unset
and null parts left out); `merge_profile` applies a PATCH (top-level keys replace, null removes). Problems are an
`InvalidInput` whose fields are paths such as `profile.family.0.phone`, never the values given.

Both kinds also take the fields the review desk writes from a caller's notification (`crm_store.review.queue`:
address, email, occupation, beneficiary, policyholder, vehicle model and status, policy status) and its
`note_<field>` entries, so that a profile the review desk updated still validates.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
)
from pydantic import ValidationError as PydanticValidationError

from crm_store.customers.phones import normalise_phone
from crm_store.customers.tables import CustomerKind
from crm_store.validation import InvalidInput, business_today

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_NOTE_KEY = re.compile(r"note_[a-z0-9_]{1,40}")
NOTE_MAX = 500
CHANNELS = ("phone", "sms", "email", "mail", "kakao")
# Yearly revenue bands in KRW: under 1 billion, 1 to 10 billion, 10 to 100 billion, 100 billion to 1 trillion, above.
REVENUE_BANDS = ("under_1b", "1b_10b", "10b_100b", "100b_1t", "over_1t")


def _phone(value: str) -> str:
    e164 = normalise_phone(value)
    if e164 is None:
        raise ValueError("not a phone number (010-1234-5678, 02-123-4567, +82 10 ...)")
    return e164


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("not an e-mail address")
    return value


def _birth_year(value: int) -> int:
    if value > business_today().year:
        raise ValueError("in the future")
    return value


def _text(high: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=high)


Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(_phone)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_email)]
Relation = Annotated[str, _text(20)]  # in the staff's words: 배우자, 자녀, 부, 모 ...
Name = Annotated[str, _text(50)]
Short = Annotated[str, _text(100)]
Line = Annotated[str, _text(300)]
Note = Annotated[str, _text(1000)]
Notes = Annotated[str, _text(2000)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FamilyMember(_Part):
    """One member of an individual customer's family."""

    relation: Relation
    name: Name
    birth_year: Annotated[StrictInt, Field(ge=1900), AfterValidator(_birth_year)] | None = None
    phone: Phone | None = None


class ContactPreferences(_Part):
    """How and when the customer wants to be reached."""

    channels: list[Literal["phone", "sms", "email", "mail", "kakao"]] = Field(default_factory=list, max_length=5)
    best_time: Name | None = None  # 평일 18시 이후
    do_not_call: StrictBool = False

    @field_validator("channels")
    @classmethod
    def _once_each(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(values))


class CompanySize(_Part):
    employees: Annotated[StrictInt, Field(ge=0, le=10_000_000)] | None = None
    revenue_band: Literal["under_1b", "1b_10b", "10b_100b", "100b_1t", "over_1t"] | None = None


class CorporateContact(_Part):
    """A contact person at a corporate customer."""

    name: Name
    title: Name
    phone: Phone
    email: Email | None = None


class _Profile(_Part):
    note: Note | None = None
    # Written by the review desk from a caller's notification (crm_store.review.queue.PROFILE_FIELDS).
    address: Line | None = None
    email: Email | None = None
    occupation: Short | None = None
    beneficiary: Line | None = None
    policyholder: Line | None = None
    vehicle_model: Line | None = None
    vehicle_status: Line | None = None
    policy_status: Line | None = None


class IndividualProfile(_Profile):
    """An individual: family composition, occupation, contact preferences."""

    family: list[FamilyMember] = Field(default_factory=list, max_length=20)
    contact_preferences: ContactPreferences | None = None


class CorporateProfile(_Profile):
    """A corporate customer: industry, size, business situation, contact persons."""

    industry: Short | None = None
    size: CompanySize | None = None
    financial_notes: Notes | None = None
    contacts: list[CorporateContact] = Field(default_factory=list, max_length=20)


PROFILE_MODELS: dict[CustomerKind, type[_Profile]] = {
    CustomerKind.INDIVIDUAL: IndividualProfile,
    CustomerKind.CORPORATE: CorporateProfile,
}


def _problems(err: PydanticValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for problem in err.errors(include_input=False, include_url=False):
        path = ".".join(["profile", *(str(part) for part in problem["loc"])])
        fields.setdefault(path, problem["msg"])
    return fields


def parse_profile(kind: CustomerKind, raw: Any) -> dict[str, Any] | None:
    """The profile in its stored form, or None for an empty one; InvalidInput names every problem by its path."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInput({"profile": "an object"}, "invalid profile")
    problems: dict[str, str] = {}
    notes: dict[str, str] = {}
    rest: dict[str, Any] = {}
    for key, value in raw.items():
        if not key.startswith("note_"):
            rest[key] = value
        elif not _NOTE_KEY.fullmatch(key):
            problems[f"profile.{key}"] = "a review note key is note_ and a field name (a-z, 0-9, _)"
        elif not isinstance(value, str) or not 0 < len(value.strip()) <= NOTE_MAX:
            problems[f"profile.{key}"] = f"a text of 1 to {NOTE_MAX} characters"
        else:
            notes[key] = value.strip()
    try:
        model = PROFILE_MODELS[kind].model_validate(rest)
    except PydanticValidationError as err:
        problems.update(_problems(err))
    if problems:
        raise InvalidInput(problems, f"invalid {kind.value} profile")
    stored = {**model.model_dump(mode="json", exclude_unset=True, exclude_none=True), **notes}
    return stored or None


def merge_profile(kind: CustomerKind, stored: dict[str, Any] | None, patch: Any) -> dict[str, Any] | None:
    """A PATCH of the profile: the top-level keys given replace the stored ones, null removes one; None clears all."""
    if patch is None:
        return None
    if not isinstance(patch, dict):
        raise InvalidInput({"profile": "an object"}, "invalid profile")
    merged = {**(stored or {}), **patch}
    return parse_profile(kind, {k: v for k, v in merged.items() if v is not None})
