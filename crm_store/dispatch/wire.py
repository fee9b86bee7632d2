"""Wire models of dispatch: what callers send to open a request or set a surveyor's profile, and what they get back."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from crm_store.types import Answer, Input, Moment, RecordId

Kind = Literal["survey", "tow", "rescue"]
RescueKind = Literal["battery", "tyre", "fuel", "lockout", "other"]
Skill = Literal["auto", "property", "injury", "cargo"]
SurveyorStatus = Literal["available", "en_route", "on_site", "reporting", "off_duty"]
State = Literal["draft", "open", "assigned", "accepted", "en_route", "on_site", "reporting", "done", "cancelled"]
STATES: tuple[str, ...] = get_args(State)
Urgency = Literal["late", "soon", "ok", "closed"]
Step = Literal["en_route", "on_site", "reporting", "done"]


def rescue_kind_of_kind(rescue_kind: str | None, info: ValidationInfo) -> str | None:
    """The validator of a `rescue_kind` field declared after `kind` (and validated on its default too): a rescue
    names its rescue kind, nothing else does; a 422 then names `rescue_kind`, not the whole body."""
    kind = info.data.get("kind")
    if kind == "rescue" and rescue_kind is None:
        raise ValueError("a rescue request names its rescue_kind (battery, tyre, fuel, lockout, other)")
    if kind is not None and kind != "rescue" and rescue_kind is not None:
        raise ValueError("rescue_kind is only for rescue requests")
    return rescue_kind


class _Strict(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)  # type: ignore[assignment]


class Position(_Strict):
    """A point on the map (WGS 84)."""

    lat: float = Field(ge=33.0, le=39.0, description="latitude in degrees, within South Korea")
    lon: float = Field(ge=124.0, le=132.0, description="longitude in degrees, within South Korea")


class Place(Position):
    """Where the request is: coordinates and the address as told."""

    address: str = Field(default="", max_length=300, description="address or landmark as the caller told it")


class VehicleInvolved(_Strict):
    """A vehicle at the scene."""

    plate: str | None = Field(default=None, max_length=16, description="registration plate, e.g. 12가3456")
    model: str | None = Field(default=None, max_length=64, description="make and model")
    ours: bool = Field(default=True, description="insured by us (False: the other party's)")


class InjuredPerson(_Strict):
    """Someone hurt at the scene (no names needed to dispatch)."""

    role: Literal["driver", "passenger", "pedestrian", "other"] = Field(default="other", description="who they were")
    condition: str = Field(default="", max_length=200, description="what is known of the injury")
    hospital: bool = Field(default=False, description="taken to hospital")


class DispatchCreate(_Strict):
    """A request to send someone: a surveyor (`survey`) or a roadside vendor (`tow`, `rescue`)."""

    kind: Kind = Field(description="survey: a surveyor to the scene; tow or rescue: a partner vendor")
    rescue_kind: RescueKind | None = Field(
        default=None, validate_default=True, description="for rescue: battery, tyre, fuel, lockout"
    )
    skill: Skill = Field(default="auto", description="what the surveyor must be able to assess")
    location: Place = Field(description="the scene")
    what_happened: str = Field(default="", max_length=2000, description="the accident or breakdown as told")
    vehicles: list[VehicleInvolved] = Field(default_factory=list, max_length=20, description="vehicles at the scene")
    injured: list[InjuredPerson] = Field(default_factory=list, max_length=50, description="people hurt at the scene")
    customer_id: RecordId | None = Field(default=None, description="the customer concerned, when known")
    policy_id: RecordId | None = Field(default=None, description="the policy that covers it, when known")
    call_sid: str | None = Field(default=None, max_length=34, description="the call it came from")
    contact_phone: str | None = Field(default=None, max_length=20, description="number to reach the customer")
    org_unit_id: RecordId | None = Field(
        default=None, description="branch whose area the scene is in (decides city or county); the customer's if absent"
    )

    _rescue_needs_its_kind = field_validator("rescue_kind")(rescue_kind_of_kind)


class DispatchPublic(Answer):
    """A request as the board and the API show it."""

    id: int = Field(description="the request's number")
    kind: Kind = Field(description="survey, tow or rescue")
    rescue_kind: RescueKind | None = Field(default=None, description="for rescue: what is needed")
    skill: Skill = Field(description="what the surveyor must be able to assess")
    state: State = Field(description="draft, open, assigned, accepted, en_route, on_site, reporting, done, cancelled")
    location: Place | None = Field(default=None, description="None for a draft whose place is not known yet")
    region: Literal["city", "county"] = Field(description="a city or a county area (decides the promise)")
    what_happened: str = Field(description="the accident or breakdown as told")
    vehicles: list[dict[str, Any]] = Field(description="vehicles at the scene")
    injured: list[dict[str, Any]] = Field(description="people hurt at the scene")
    customer_id: int | None = Field(description="the customer concerned, when known")
    policy_id: int | None = Field(description="the policy that covers it, when known")
    call_sid: str | None = Field(description="the call it came from")
    promise_minutes: int | None = Field(description="minutes promised to reach the scene")
    promise_reason: str = Field(description="why that promise (Korean)")
    due_at: Moment | None = Field(description="when someone must be on site (ISO 8601 with offset)")
    surveyor: str | None = Field(default=None, description="username of the surveyor assigned")
    vendor_id: int | None = Field(default=None, description="the vendor assigned (tow, rescue)")
    created_at: Moment = Field(description="when the request was made")
    late: bool = Field(default=False, description="the promise was or will be missed")
    urgency: Urgency = Field(default="ok", description="the board's colour: late (red), soon, ok, closed")
    time_left_minutes: int | None = Field(
        default=None,
        description="whole minutes left against the promise (negative once missed); null once it no longer runs",
    )


class DispatchPage(Answer):
    """The board's requests, most urgent first (late, then by due time; drafts last)."""

    items: list[DispatchPublic] = Field(description="the requests of this page")
    next: str | None = Field(description="the next page, null on the last")


class SurveyorUpdate(_Strict):
    """A surveyor's profile as set through the API: any of skills, status, location."""

    skills: list[Skill] | None = Field(default=None, description="what the surveyor can assess")
    status: SurveyorStatus | None = Field(default=None, description="available, en_route, on_site, reporting, off_duty")
    location: Position | None = Field(default=None, description="last reported position")
    shift: dict[str, str] | str | None = Field(
        default=None, description='working hours, "24h" or {"mon-fri": "09:00-18:00"} (Korea time)'
    )
    home_unit_id: RecordId | None = Field(default=None, description="home unit (the staff member's unit if never set)")


class SurveyorPublic(Answer):
    """A surveyor on the board."""

    username: str = Field(description="the surveyor's username")
    home_unit_id: int = Field(description="the unit they work from")
    skills: list[str] = Field(description="what they can assess")
    status: str = Field(description="available, en_route, on_site, reporting, off_duty")
    location: Position | None = Field(description="last reported position")
    position_at: Moment | None = Field(description="when the position was reported")
    open_assignments: int = Field(default=0, description="assignments they carry now")


class Candidate(Answer):
    """One suggestion for a request, best first: a surveyor (`username`) or a vendor (`vendor_id`)."""

    username: str | None = Field(default=None, description="the surveyor (a survey)")
    vendor_id: int | None = Field(default=None, description="the vendor (a tow or rescue)")
    name: str = Field(description="the surveyor's or vendor's name")
    eta_minutes: int = Field(description="estimated minutes to reach the scene")
    distance_km: float = Field(description="geodesic distance, km")
    reasons: list[str] = Field(description="why this candidate (Korean)")


class CandidateList(Answer):
    """The candidates for a request, best (earliest arrival, then lightest load) first."""

    items: list[Candidate] = Field(description="best first")


class DispatchAssignmentCreate(_Strict):
    """Whom to send: a surveyor for a survey, a vendor for a tow or rescue."""

    username: str | None = Field(default=None, min_length=1, max_length=64, description="the surveyor (a survey)")
    vendor_id: RecordId | None = Field(default=None, description="the vendor (a tow or rescue)")

    @model_validator(mode="after")
    def _one_of_them(self) -> DispatchAssignmentCreate:
        if (self.username is None) == (self.vendor_id is None):
            raise ValueError("name either username (a surveyor) or vendor_id (a vendor)")
        return self


class StepTaken(_Strict):
    """A step the one sent reports: on the way, arrived, writing the report (a survey), done."""

    step: Step = Field(description="en_route, on_site, reporting (a survey) or done")


class DispatchCancel(_Strict):
    """Why a request is called off."""

    reason: str = Field(min_length=2, max_length=200, description="why (kept in the audit trail)")


class DispatchAssignmentPublic(Answer):
    """An offer of a request to a surveyor or a vendor, to be accepted in time."""

    id: int = Field(description="the assignment's number")
    request_id: int = Field(description="the request assigned")
    username: str | None = Field(default=None, description="the surveyor, for a survey")
    vendor_id: int | None = Field(default=None, description="the vendor, for a tow or rescue")
    assigned_at: Moment = Field(description="when it was offered")
    accept_by: Moment = Field(description="to be accepted by then, or the request goes back to the board")
    state: State = Field(description="the request's state: assigned until the offer is answered")
