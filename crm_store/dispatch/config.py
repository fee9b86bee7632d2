"""Dispatch configuration: promise limits by kind and region, the faster limits of entitled customers, regional
speeds and road factors for arrival estimates, the acceptance window; loaded from JSON, validated, frozen."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_CONFIG = Path(__file__).with_name("defaults.json")
KINDS = ("survey", "tow", "rescue")
REGIONS = ("city", "county")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegionalMinutes(_Frozen):
    """Minutes allowed to reach the scene in a city and in a county."""

    city: int = Field(ge=1, description="minutes in a city branch's area")
    county: int = Field(ge=1, description="minutes in a county branch's area")

    def of(self, region: str) -> int:
        """The limit of one region."""
        return self.city if region == "city" else self.county


class FastPromise(RegionalMinutes):
    """The shorter limits for customers entitled to `service` (a code of the rules' entitlements)."""

    service: str = Field(description="entitlement code that earns the faster promise, e.g. fast_survey")


class RegionalFigures(_Frozen):
    city: float = Field(gt=0)
    county: float = Field(gt=0)

    def of(self, region: str) -> float:
        """The figure of one region."""
        return self.city if region == "city" else self.county


class DispatchConfig(BaseModel):
    """Everything configurable about dispatch (see defaults.json's comment)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    promises: dict[str, RegionalMinutes]
    fast: dict[str, FastPromise] = Field(default_factory=dict)
    speeds_kmh: RegionalFigures
    road_factor: RegionalFigures
    near_km: float = Field(default=40, gt=0)
    accept_minutes: int = Field(default=5, ge=1)
    surveyor_capacity: int = Field(default=1, ge=1)
    stale_position_minutes: int = Field(default=30, ge=1)
    soon_share: float = Field(default=0.25, gt=0, lt=1)
    suggestions: int = Field(default=10, ge=1)
    message_from: str = Field(default="+8215881234", pattern=r"^\+[1-9][0-9]{6,14}$")

    @model_validator(mode="after")
    def _every_kind(self) -> DispatchConfig:
        missing = [kind for kind in KINDS if kind not in self.promises]
        if missing:
            raise ValueError(f"dispatch promises missing for {missing}")
        for kind, fast in self.fast.items():
            normal = self.promises.get(kind)
            if normal is None or fast.city > normal.city or fast.county > normal.county:
                raise ValueError(f"the fast promise of {kind} must not be slower than the normal one")
        return self


def load_config(path: Path | str | None = None) -> DispatchConfig:
    """The dispatch configuration from a JSON file (the packaged defaults if none is given), validated."""
    source = Path(path) if path is not None else DEFAULT_CONFIG
    return DispatchConfig.model_validate(json.loads(source.read_text(encoding="utf-8")))
