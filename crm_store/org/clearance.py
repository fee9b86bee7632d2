"""Field confidentiality grades: the one place where answers, pages and exports are masked.

The grades live in `field_grades.json` (configuration, not code). `mask_fields(viewer, "customer", picture)` is
called on every finished document before it leaves the store for the API, the console or an export.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from crm_store.org.scope import Viewer

_FILTER = re.compile(r"^(?P<key>[^\[]+)\[(?:(?P<fkey>[^=\]]+)=(?P<fvalue>[^\]]*))?\]$")
_FIELD = re.compile(r"[^.\[]+")  # a whole top-level field, not a part of one


@dataclass(frozen=True)
class FieldGrades:
    """Per document kind, the grade each field path needs, and what a masked field shows."""

    mask: str
    documents: dict[str, dict[str, int]]

    def grade(self, document: str, path: str) -> int:
        """The grade a field needs (0: open to all)."""
        return self.documents.get(document, {}).get(path, 0)


@cache
def load_field_grades(text: str | None = None) -> FieldGrades:
    """The packaged grades (or those in `text`, a JSON document of the same shape)."""
    if text is None:
        text = resources.files("crm_store.org").joinpath("field_grades.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    documents = {
        kind: {path: int(grade) for path, grade in fields.items()} for kind, fields in raw["documents"].items()
    }
    for kind, fields in documents.items():
        for path, grade in fields.items():
            if not 0 <= grade <= 5:
                raise ValueError(f"grade of {kind}:{path} must be 0 to 5, got {grade}")
    return FieldGrades(mask=str(raw.get("mask", "●●●●")), documents=documents)


def _mask_path(node: Any, parts: list[str], mask: str, hidden: list[str], where: str) -> None:
    if not parts or node is None:
        return
    head, rest = parts[0], parts[1:]
    match = _FILTER.match(head)
    if match is None:
        if not isinstance(node, dict) or head not in node:
            return
        if rest:
            _mask_path(node[head], rest, mask, hidden, f"{where}{head}.")
        elif node[head] not in (None, "", [], {}):
            node[head] = mask
            hidden.append(f"{where}{head}")
        return
    key = match["key"]
    items = node.get(key) if isinstance(node, dict) else None
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if match["fkey"] is not None and not (
            isinstance(item, dict) and str(item.get(match["fkey"])) == match["fvalue"]
        ):
            continue
        if rest:
            _mask_path(item, rest, mask, hidden, f"{where}{key}[{index}].")
        elif item not in (None, ""):
            items[index] = mask
            hidden.append(f"{where}{key}[{index}]")


def mask_fields(
    viewer: Viewer, document: str, body: dict[str, Any], grades: FieldGrades | None = None
) -> dict[str, Any]:
    """A copy of `body` with every field above the viewer's clearance replaced by the mask.

    `masked_fields` lists what was hidden, so a client can say "restricted" instead of showing a blank.
    """
    grades = grades or load_field_grades()
    applicable = {p: g for p, g in grades.documents.get(document, {}).items() if viewer.clearance < g}
    if not applicable:
        return {**body, "masked_fields": []}  # cleared for everything: no copy on the hot path
    result = copy.deepcopy(body)
    hidden: list[str] = []
    for path in applicable:
        _mask_path(result, path.split("."), grades.mask, hidden, "")
    result["masked_fields"] = sorted(hidden)
    return result


def masked_items(
    viewer: Viewer, document: str, key: str, items: list[Any], grades: FieldGrades | None = None
) -> set[int]:
    """The indexes of the items of list `key` that the viewer would see (partly) masked in `document`."""
    masked = mask_fields(viewer, document, {key: items}, grades)["masked_fields"]
    prefix = f"{key}["
    return {int(path[len(prefix) : path.index("]")]) for path in masked if path.startswith(prefix)}


def shown_fields(clearance: int, document: str, fields: Iterable[str], grades: FieldGrades | None = None) -> list[str]:
    """What an audit entry names as read at this clearance: the document's fields but those masked whole, and the
    graded parts of fields (`blacklist[].reason`) shown unmasked."""
    grades = grades or load_field_grades()
    graded = grades.documents.get(document, {})
    masked_whole = {path for path, grade in graded.items() if clearance < grade and _FIELD.fullmatch(path)}
    listed = {field for field in fields if field not in masked_whole}
    shown_parts = {
        path
        for path, grade in graded.items()
        if clearance >= grade and not _FIELD.fullmatch(path) and _FIELD.match(path)[0] in listed  # type: ignore[index]
    }
    return sorted(listed | shown_parts)
