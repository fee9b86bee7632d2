"""The dispatch board's map of Korea, drawn as SVG from the provinces' boundaries shipped with the project
(`gateway/maps/korea_provinces.json`, see its ATTRIBUTION.md): an equirectangular projection scaled by the cosine
of Korea's middle latitude, good enough to place surveyors, vendors and scenes by eye."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

BOUNDARIES = Path(__file__).with_name("maps") / "korea_provinces.json"
# The frame drawn (degrees), and the SVG's width in user units.
WEST, EAST, SOUTH, NORTH = 124.5, 131.0, 33.0, 38.7
WIDTH = 600.0
_SQUEEZE = math.cos(math.radians((SOUTH + NORTH) / 2))
_SCALE = WIDTH / ((EAST - WEST) * _SQUEEZE)
HEIGHT = round((NORTH - SOUTH) * _SCALE, 1)


@dataclass(frozen=True)
class Province:
    """A province as drawn: its code, Korean name and SVG path."""

    code: str
    name: str
    path: str


def project(lat: float, lon: float) -> tuple[float, float]:
    """A point's place on the map (x, y in SVG user units)."""
    return round((lon - WEST) * _SQUEEZE * _SCALE, 1), round((NORTH - lat) * _SCALE, 1)


def _ring(ring: list[list[float]]) -> str:
    points = [project(lat, lon) for lon, lat in ring]
    return "M" + "L".join(f"{x},{y}" for x, y in points) + "Z"


def _polygons(geometry: dict[str, Any]) -> list[list[list[list[float]]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    return list(geometry["coordinates"])


@cache
def provinces() -> tuple[Province, ...]:
    """Every province's outline, read once."""
    document = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    return tuple(
        Province(
            feature["properties"]["code"],
            feature["properties"]["name"],
            "".join(_ring(ring) for polygon in _polygons(feature["geometry"]) for ring in polygon),
        )
        for feature in document["features"]
    )
