"""Wire models of dispatch: what callers send to open a request or set a surveyor's profile, and what they get back."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Kind = Literal["survey", "tow", "rescue"]
RescueKind = Literal["battery", "tyre", "fuel", "lockout", "other"]
Skill = Literal["auto", "property", "injury", "cargo"]
SurveyorStatus = Literal["available", "en_route", "on_site", "reporting", "off_duty"]
State = Literal["draft", "open", "assigned", "accepted", "en_route", "on_site", "reporting", "done", "cancelled"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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

    role: Literal["driver", "passenger", "pedestrian", "other"] = Field(default="other")
    condition: str = Field(default="", max_length=200, description="what is known of the injury")
    hospital: bool = Field(default=False, description="taken to hospital")


class DispatchCreate(_Strict):
    """A request to send someone: a surveyor (`survey`) or a roadside vendor (`tow`, `rescue`)."""

    kind: Kind = Field(description="survey: a surveyor to the scene; tow or rescue: a partner vendor")
    rescue_kind: RescueKind | None = Field(default=None, description="for rescue: battery, tyre, fuel, lockout")
    skill: Skill = Field(default="auto", description="what the surveyor must be able to assess")
    location: Place = Field(description="the scene")
    what_happened: str = Field(default="", max_length=2000, description="the accident or breakdown as told")
    vehicles: list[VehicleInvolved] = Field(default_factory=list, max_length=20)
    injured: list[InjuredPerson] = Field(default_factory=list, max_length=50)
    customer_id: int | None = Field(default=None, description="the customer concerned, when known")
    policy_id: int | None = Field(default=None, description="the policy that covers it, when known")
    call_sid: str | None = Field(default=None, max_length=34, description="the call it came from")
    contact_phone: str | None = Field(default=None, max_length=20, description="number to reach the customer")
    org_unit_id: int | None = Field(
        default=None, description="branch whose area the scene is in (decides city or county); the customer's if absent"
    )

    @model_validator(mode="after")
    def _rescue_needs_its_kind(self) -> DispatchCreate:
        if self.kind == "rescue" and self.rescue_kind is None:
            raise ValueError("a rescue request names its rescue_kind (battery, tyre, fuel, lockout, other)")
        if self.kind != "rescue" and self.rescue_kind is not None:
            raise ValueError("rescue_kind is only for rescue requests")
        return self


class DispatchPublic(BaseModel):
    """A request as the board and the API show it."""

    id: int
    kind: Kind
    rescue_kind: RescueKind | None = None
    skill: Skill
    state: State
    location: Place | None = Field(default=None, description="None for a draft whose place is not known yet")
    region: Literal["city", "county"]
    what_happened: str
    vehicles: list[dict[str, Any]]
    injured: list[dict[str, Any]]
    customer_id: int | None
    policy_id: int | None
    call_sid: str | None
    promise_minutes: int | None = Field(description="minutes promised to reach the scene")
    promise_reason: str = Field(description="why that promise (Korean)")
    due_at: datetime | None = Field(description="when someone must be on site (ISO 8601 with offset)")
    surveyor: str | None = Field(default=None, description="username of the surveyor assigned")
    vendor_id: int | None = None
    created_at: datetime
    late: bool = Field(default=False, description="the promise was or will be missed")


class SurveyorUpdate(_Strict):
    """A surveyor's profile as set through the API: any of skills, status, location."""

    skills: list[Skill] | None = Field(default=None, description="what the surveyor can assess")
    status: SurveyorStatus | None = Field(default=None)
    location: Position | None = Field(default=None, description="last reported position")
    shift: dict[str, str] | str | None = Field(
        default=None, description='working hours, "24h" or {"mon-fri": "09:00-18:00"} (Korea time)'
    )
    home_unit_id: int | None = Field(default=None, description="home unit (the staff member's unit if never set)")


class SurveyorPublic(BaseModel):
    """A surveyor on the board."""

    username: str
    home_unit_id: int
    skills: list[str]
    status: str
    location: Position | None
    position_at: datetime | None
    open_assignments: int = 0


class Candidate(BaseModel):
    """One suggestion for a request, best first: a surveyor (`username`) or a vendor (`vendor_id`)."""

    username: str | None = None
    vendor_id: int | None = None
    name: str
    eta_minutes: int = Field(description="estimated minutes to reach the scene")
    distance_km: float = Field(description="geodesic distance, km")
    reasons: list[str] = Field(description="why this candidate (Korean)")
